"""Slack's rate limits kept by every process together: the shared budgets in a real Redis, and the
paced Slack client against the fake Slack enforcing Slack's per-channel limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.ports import SlackBusy
from bot.local.fake_slack import FakeSlack
from bot.slack.pacing import Deferred, PacedWebClient, SharedRetryAfter, budget_of, nice_to_have
from bot.store.connection import open_redis
from bot.store.pacing import Budget, Pacing, Turn

BURSTY = Budget("test:bursty", interval=0.5, burst=3)


async def test_turns_are_shared_between_processes_in_order(redis: aioredis.Redis, redis_url: str) -> None:
    other = await open_redis(redis_url)  # a second process's client
    try:
        one, two = Pacing(redis), Pacing(other)
        waits = [await (one if i % 2 else two).reserve(BURSTY) for i in range(6)]
    finally:
        await other.aclose()
    seconds = [w.seconds for w in waits if w is not None and not w.later]
    assert len(seconds) == 6
    assert seconds[:3] == [0.0, 0.0, 0.0]  # the burst
    # then one turn every interval, whoever asks (the Redis clock moved a little between calls)
    for taken, expected in zip(seconds[3:], (0.5, 1.0, 1.5), strict=True):
        assert expected - 0.2 < taken <= expected


async def test_a_nice_to_have_call_takes_only_a_free_turn(redis: aioredis.Redis) -> None:
    pacing = Pacing(redis)
    for _ in range(3):
        assert await pacing.reserve(BURSTY, optional=True) is not None  # free turns: taken
    assert await pacing.reserve(BURSTY, optional=True) is None  # none free: nothing taken
    required = await pacing.reserve(BURSTY)
    assert required is not None and 0.3 < required.seconds <= 0.5  # not pushed back by the refusal


async def test_a_turn_too_far_away_is_not_taken(redis: aioredis.Redis) -> None:
    pacing = Pacing(redis)
    slow = Budget("test:slow", interval=10.0, burst=1)
    first = await pacing.reserve(slow, longest=5)
    assert first is not None and not first.later and first.seconds == 0.0
    later = await pacing.reserve(slow, longest=5)
    assert later is not None and later.later and 9 < later.seconds <= 10
    again = await pacing.reserve(slow, longest=5)
    assert again is not None and again.later and again.seconds <= later.seconds  # nothing was taken


async def test_a_hold_delays_every_process(redis: aioredis.Redis, redis_url: str) -> None:
    other = await open_redis(redis_url)
    try:
        await Pacing(redis).hold(BURSTY, 4.0)
        await Pacing(redis).hold(BURSTY, 1.0)  # a shorter hold never shortens a longer one
        turn = await Pacing(other).reserve(BURSTY)
    finally:
        await other.aclose()
    assert turn is not None and 3.8 < turn.seconds <= 4.0


def test_budgets_follow_slacks_limits() -> None:
    post = budget_of("chat.postMessage", {"channel": "C1"}, post_rate=1.0)
    assert post == Budget("chat.postMessage:C1", 1.15, 2)  # per channel, a little under one a second
    assert budget_of("chat.postMessage", {"channel": "C2"}, post_rate=1.0) != post
    update = budget_of("chat.update", {"channel": "C1"}, post_rate=1.0)
    assert update is not None and update.name == "chat.update" and update.interval == pytest.approx(1.38)
    publish = budget_of("views.publish", None, post_rate=1.0)
    assert publish is not None and publish.interval == pytest.approx(0.69) and publish.burst == 50
    assert budget_of("auth.test", None, post_rate=1.0) is None


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


def client(fake: FakeSlack, redis: aioredis.Redis, post_rate: float) -> PacedWebClient:
    pacing = Pacing(redis)
    return PacedWebClient(
        token="xoxb-test",
        base_url=fake.url,
        pacing=pacing,
        post_rate=post_rate,
        retry_handlers=[SharedRetryAfter(pacing, post_rate=post_rate)],
    )


async def test_two_processes_posting_in_one_channel_stay_inside_slacks_limit(
    redis: aioredis.Redis, redis_url: str, fake: FakeSlack
) -> None:
    fake.knobs.update({"post_rate": 5.0, "post_burst": 3})
    other = await open_redis(redis_url)
    try:
        clients = [client(fake, redis, 5.0), client(fake, other, 5.0)]
        await asyncio.gather(
            *(clients[i % 2].chat_postMessage(channel="C1", text=f"m{i:02d}") for i in range(12))
        )
    finally:
        await other.aclose()
    posts = fake.calls("chat.postMessage")
    assert len(posts) == 12 and all(c.status == 200 for c in posts)  # not one 429
    assert sorted(m["text"] for m in fake.messages("C1")) == [f"m{i:02d}" for i in range(12)]


async def test_a_429_on_one_process_slows_the_others(
    redis: aioredis.Redis, redis_url: str, fake: FakeSlack
) -> None:
    fake.knobs.update({"rate_limit_next": {"chat.update": 1}, "retry_after": 2})
    posted = await client(fake, redis, 1.0).chat_postMessage(channel="C1", text="parent")
    other = await open_redis(redis_url)
    try:
        first = client(fake, redis, 1.0).chat_update(channel="C1", ts=posted["ts"], text="one")
        second = client(fake, other, 1.0)

        async def later() -> float:
            await asyncio.sleep(0.3)  # the first has had its 429 by now
            start = time.monotonic()
            await second.chat_update(channel="C1", ts=posted["ts"], text="two")
            return time.monotonic() - start

        _, waited = await asyncio.gather(first, later())
    finally:
        await other.aclose()
    updates = fake.calls("chat.update")
    assert [c.status for c in updates] == [429, 200, 200]  # the second never ran into Slack's limit
    assert waited > 1.0  # it waited out the first one's Retry-After (2 s, minus the 0.3 s head start)


async def test_a_post_429_in_one_channel_slows_every_process_in_that_channel(
    redis: aioredis.Redis, redis_url: str, fake: FakeSlack
) -> None:
    # chat.postMessage goes as JSON, which slack_sdk does not hand its retry handlers: the hold must
    # still land on that channel's budget, not on a channel-less one.
    fake.knobs.update({"rate_limit_next": {"chat.postMessage": 1}, "retry_after": 3})
    other = await open_redis(redis_url)
    try:
        first = client(fake, redis, 50.0).chat_postMessage(channel="C1", text="one")
        second = client(fake, other, 50.0)

        async def later() -> tuple[float, Turn | None]:
            await asyncio.sleep(0.3)  # the first has had its 429 by now
            elsewhere = await Pacing(other).reserve(post_budget("C2", 50.0))
            start = time.monotonic()
            await second.chat_postMessage(channel="C1", text="two")
            return time.monotonic() - start, elsewhere

        _, (waited, elsewhere) = await asyncio.gather(first, later())
    finally:
        await other.aclose()
    posts = fake.calls("chat.postMessage")
    assert [c.status for c in posts] == [429, 200, 200]  # the second never ran into Slack's limit
    assert waited > 2.0  # it waited out the first one's Retry-After (3 s, minus the 0.3 s head start)
    assert elsewhere is not None and elsewhere.seconds == 0.0  # another channel's posts are not held


async def test_a_429_on_a_form_post_holds_its_channel_without_the_paced_client(
    redis: aioredis.Redis, redis_url: str, fake: FakeSlack
) -> None:
    # The retry handler on its own (a client that takes no turns): it reads the channel of a
    # form-encoded post from the request it retries.
    fake.knobs.update({"rate_limit_next": {"chat.postMessage": 1}, "retry_after": 2})
    plain = AsyncWebClient(
        token="xoxb-test", base_url=fake.url, retry_handlers=[SharedRetryAfter(Pacing(redis), post_rate=1.0)]
    )
    other = await open_redis(redis_url)
    try:

        async def later() -> Turn | None:
            await asyncio.sleep(0.3)  # the post has had its 429 by now
            return await Pacing(other).reserve(post_budget("C1", 1.0))

        _, turn = await asyncio.gather(
            plain.api_call("chat.postMessage", data={"channel": "C1", "text": "one"}), later()
        )
    finally:
        await other.aclose()
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 200]
    assert turn is not None and 1.0 < turn.seconds <= 2.0  # held for the rest of the Retry-After


def post_budget(channel: str, post_rate: float) -> Budget:
    budget = budget_of("chat.postMessage", {"channel": channel}, post_rate)
    assert budget is not None
    return budget


async def test_a_nice_to_have_update_without_a_free_turn_is_not_made(
    redis: aioredis.Redis, fake: FakeSlack
) -> None:
    paced = client(fake, redis, 1.0)
    posted = await paced.chat_postMessage(channel="C1", text="parent")
    await Pacing(redis).hold(Budget("chat.update", 1.38, 25), 8.0)
    with nice_to_have(), pytest.raises(Deferred):
        await paced.chat_update(channel="C1", ts=posted["ts"], text="progress")
    assert fake.calls("chat.update") == []
    with pytest.raises(SlackBusy) as busy:  # the hold is longer than a handler waits: try later
        await paced.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert 7.5 < busy.value.retry_in <= 8.0
