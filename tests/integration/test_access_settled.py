"""Whether someone may approve, told apart from "the caches cannot say yet": the web process reads
only Redis (a user record it lacks leaves a group member's guest status unknown, and where that
matters the answer is None, never a refusal), a worker asks the fake Slack and settles it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.access import Access
from bot.app.users import UserProfiles
from bot.domain.gates import Gate
from bot.domain.policy_file import parse_policy
from bot.local.fake_slack import FakeSlack
from bot.slack.directory import SlackDirectory
from bot.store.groups import GroupCache
from bot.store.scheduler import Scheduler
from bot.store.users import UserCache

POLICY = parse_policy(
    'roles:\n  requester: ["*"]\n  approver: ["U0LISTED", "@managers"]\n',
    "policy.yaml",
)
GATE = Gate(("U0LISTED", "@managers"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.knobs.guests = {"U0GUEST": "multi", "U0LISTED": "single"}
        yield server


async def _access(redis: aioredis.Redis, fake: FakeSlack | None) -> Access:
    groups = GroupCache(redis)
    await groups.replace({"managers": ["U0MGR", "U0GUEST"]}, {"managers": "S0MGR"})
    directory = SlackDirectory(AsyncWebClient(token="xoxb-test", base_url=fake.url)) if fake else None
    scheduler = None if fake else Scheduler(redis)  # the web holds a scheduler, a worker Slack
    people = UserProfiles(UserCache(redis), default="en-us", scheduler=scheduler, directory=directory)
    return Access(POLICY, groups, people)


async def test_the_web_says_unknown_where_only_slack_can_tell(redis: aioredis.Redis) -> None:
    web = await _access(redis, None)
    for user_id in ("U0MGR", "U0GUEST"):  # either may be a guest: the group alone does not tell
        person = await web.person(user_id)
        assert person is not None and person.guest is None
        assert web.approves(GATE, person) is None
        assert web.may_approve(GATE, person) is False  # fail closed wherever None is not handled
    listed = await web.person("U0LISTED")  # named by user ID: a guest or not, an approver
    assert listed is not None and web.approves(GATE, listed) is True
    stranger = await web.person("U0NOBODY")  # in no approver group: no answer from Slack changes it
    assert stranger is not None and web.approves(GATE, stranger) is False


async def test_a_worker_asks_slack_and_settles_it(redis: aioredis.Redis, fake: FakeSlack) -> None:
    worker = await _access(redis, fake)
    member = await worker.person("U0MGR", ask_slack=True)
    guest = await worker.person("U0GUEST", ask_slack=True)
    assert member is not None and worker.approves(GATE, member) is True
    assert guest is not None and guest.guest is True and worker.approves(GATE, guest) is False
    # Cached now: the web process tells without asking anyone.
    web = await _access(redis, None)
    cached = await web.person("U0MGR")
    assert cached is not None and web.approves(GATE, cached) is True
