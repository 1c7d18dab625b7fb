"""What the bot knows of each person — language from their Slack locale, time zone, guest or not —
cached in a real Redis, asked of the fake Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.users import UserProfiles
from bot.app.work import LearnLocale
from bot.i18n import Lang
from bot.local.fake_slack import FakeSlack
from bot.slack.directory import SlackDirectory
from bot.store import keys
from bot.store.connection import open_redis
from bot.store.scheduler import Scheduler
from bot.store.users import KNOWN_TTL, UNKNOWN_TTL, UserCache


def locale_key(user_id: str) -> str:
    return str(LearnLocale(user_id=user_id).key)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.knobs.locales = {"UZH": "zh-CN", "UTW": "zh-TW", "UEN": "en-GB", "UJA": "ja-JP"}
        yield server


def web(redis: aioredis.Redis, default: Lang = "en-us") -> UserProfiles:
    """As the web process holds it: a scheduler, no Slack client."""
    return UserProfiles(UserCache(redis), default=default, scheduler=Scheduler(redis))


def worker(redis: aioredis.Redis, fake: FakeSlack, default: Lang = "en-us") -> UserProfiles:
    """As a worker holds it: a Slack client."""
    client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
    return UserProfiles(UserCache(redis), default=default, directory=SlackDirectory(client))


async def test_a_worker_asks_slack_once_and_caches_for_a_day(redis: aioredis.Redis, fake: FakeSlack) -> None:
    languages = worker(redis, fake)
    assert await languages.language("UZH") == "zh-cn"
    assert await languages.language("UZH") == "zh-cn"
    assert [c.args for c in fake.calls("users.info")] == [{"user": "UZH", "include_locale": "1"}]
    ttl = await redis.ttl(keys.user("UZH"))
    assert KNOWN_TTL - 60 < ttl <= KNOWN_TTL


@pytest.mark.parametrize(
    ("user", "expected"), [("UZH", "zh-cn"), ("UTW", "zh-cn"), ("UEN", "en-us"), ("UJA", "en-us")]
)
async def test_chinese_locales_read_chinese_any_other_english(
    redis: aioredis.Redis, fake: FakeSlack, user: str, expected: str
) -> None:
    assert await worker(redis, fake, default="zh-cn").language(user) == expected


async def test_the_web_process_never_asks_slack_it_schedules_a_worker(
    redis: aioredis.Redis, fake: FakeSlack
) -> None:
    front = web(redis, default="zh-cn")
    assert await front.known("UEN") is None
    assert await front.for_reply("UEN") == "zh-cn"  # the default, until a worker knows better
    assert fake.calls("users.info") == []
    scheduler = Scheduler(redis)
    assert await scheduler.is_scheduled(locale_key("UEN"))
    [lease] = await scheduler.claim()
    assert lease.key == locale_key("UEN")
    back = worker(redis, fake, default="zh-cn")
    assert await back.language("UEN") == "en-us"
    assert await front.for_reply("UEN") == "en-us"
    assert len(fake.calls("users.info")) == 1


async def test_when_slack_refuses_the_default_is_used_and_asked_again_later(
    redis: aioredis.Redis, fake: FakeSlack
) -> None:
    fake.knobs.error_next["users.info"] = ["user_not_found"]
    languages = worker(redis, fake, default="zh-cn")
    assert await languages.language("UEN") == "zh-cn"
    assert 0 < await redis.ttl(keys.user("UEN")) <= UNKNOWN_TTL
    assert await languages.language("UEN") == "zh-cn"  # cached: no second call while it is fresh
    assert len(fake.calls("users.info")) == 1


async def test_a_redis_failure_on_the_web_path_means_the_default(fake: FakeSlack) -> None:
    broken = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        front = UserProfiles(UserCache(broken), default="zh-cn", scheduler=Scheduler(broken))
        assert await front.known("UZH") is None
        assert await front.for_reply("UZH") == "zh-cn"
    finally:
        await broken.aclose()


async def test_no_slack_client_or_user_means_the_default(redis: aioredis.Redis) -> None:
    languages = UserProfiles(UserCache(redis), default="en-us")
    assert await languages.language("UZH") == "en-us"
    assert await languages.known("") is None


async def test_guests_and_time_zones_are_known_from_users_info(
    redis: aioredis.Redis, fake: FakeSlack
) -> None:
    fake.knobs.guests = {"UGUEST1": "multi", "UGUEST2": "single"}
    fake.knobs.timezones = {"UEN": "Asia/Shanghai"}
    profiles = worker(redis, fake)
    assert (await profiles.resolve("UGUEST1")).guest is True
    assert (await profiles.resolve("UGUEST2")).guest is True
    member = await profiles.resolve("UEN")
    assert member.guest is False and member.tz == "Asia/Shanghai"
    # the web process reads the same record, without asking Slack
    calls = len(fake.calls("users.info"))
    cached = await web(redis).record("UGUEST1")
    assert cached is not None and cached.guest is True and len(fake.calls("users.info")) == calls


async def test_a_user_slack_will_not_describe_has_no_known_guest_status(
    redis: aioredis.Redis, fake: FakeSlack
) -> None:
    fake.knobs.error_next["users.info"] = ["missing_scope"]
    record = await worker(redis, fake).resolve("UEN")
    assert record.guest is None and not record.from_slack  # the caller decides what unknown means


async def test_a_burst_asks_slack_once_per_person_across_processes(
    redis: aioredis.Redis, redis_url: str, fake: FakeSlack
) -> None:
    # Two workers (their own clients and memories), each with three requests of each of 100 people
    # arriving at once: every one of them is answered, with one users.info per person.
    people = [f"UBURST{i:03d}" for i in range(100)]
    fake.knobs.locales = dict.fromkeys(people[::2], "zh-CN")
    clients = [await open_redis(redis_url), await open_redis(redis_url)]  # bounded, as a process has
    workers = [worker(client, fake) for client in clients]
    try:
        answers = await asyncio.gather(*(w.language(p) for p in people for w in workers for _ in range(3)))
    finally:
        for client in clients:
            await client.aclose()
    assert answers.count("zh-cn") == 50 * 6 and answers.count("en-us") == 50 * 6
    asked = [c.args["user"] for c in fake.calls("users.info")]
    assert sorted(asked) == people  # once each, however many asked at once
    assert not [k async for k in redis.scan_iter(match=keys.user_lookup("*"))]  # no lock left behind


async def test_a_lookup_whose_holder_vanished_is_made_anyway(redis: aioredis.Redis, fake: FakeSlack) -> None:
    # Another process took the lock and died before answering: after the lock's time this one asks.
    assert await UserCache(redis).claim_lookup("UZH", 0.3)
    assert await worker(redis, fake).language("UZH") == "zh-cn"
    assert [c.args["user"] for c in fake.calls("users.info")] == ["UZH"]
