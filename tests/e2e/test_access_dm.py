"""Issue 12, approvers asked by direct message (``notify: dm``), over the real processes: each eligible
approver gets the request in a DM with working buttons, the channel message says so and keeps only
Cancel, and a decision in any DM updates the channel message and every DM copy; the channel thread
is the record. One deployment serves the module; each test has its own people and channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.request import GAVE_UP, State
from bot.local.embedded_redis import EmbeddedRedis
from bot.slack.render import views
from bot.store import keys
from tests.e2e.harness import (
    Shared,
    buttons_of,
    current,
    dms_about,
    module_deployment,
    progress_of,
    request_id_of,
    text_of,
    wait_answer,
    wait_dm,
    wait_parent,
    wait_progress,
    wait_shown,
    wait_thread_final,
    wait_unleased,
    wait_view,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = """
roles:
  requester: ["*"]
  approver: ["U0DBOSS1", "U0DBOSS2", "@d-managers"]
approval:
  allow_self_approval: true
  notify: dm
  rules:
    - match: ["*prod*"]
      approvers: ["U0DAPP1", "U0DAPP2"]
      min_approvals: 2
"""
BOSSES = ("U0DBOSS1", "U0DBOSS2", "U0DBOSS3")
APPROVE, REJECT, CANCEL = "approve_request", "reject_request", "cancel_request"


class Env(Shared):
    def dms(self, user_id: str, request_id: str) -> list[dict[str, Any]]:
        return dms_about(self.slack, user_id, request_id)

    async def asked(self, request_id: str, *approvers: str) -> list[dict[str, Any]]:
        """The DM copy of each of ``approvers``, once all have one."""
        return [await wait_dm(self.slack, a, request_id) for a in approvers]

    async def asked_bosses(
        self, typed: str, user: str, channel: str
    ) -> tuple[dict[str, Any], str, list[Any]]:
        """``/backup <typed>``: its channel message, its ID and the DM copy of each of BOSSES."""
        await self.bot.command(typed, user_id=user, channel_id=channel)
        parent = await wait_parent(self.slack, channel)
        request_id = request_id_of(parent)
        return parent, request_id, await self.asked(request_id, *BOSSES)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    async with module_deployment(
        Env,
        redis_url=redis_server.url,
        log_dir=tmp_path_factory.mktemp("access-dm"),
        request=request,
        policy=POLICY,
        knobs={"usergroups": {"d-managers": ["U0DBOSS3", "U0DGUEST"]}, "guests": {"U0DGUEST": "multi"}},
    ) as shared:
        yield shared


async def test_each_approver_is_asked_by_dm_and_a_dm_decision_updates_every_copy(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev dm-one", user_id="U0DREQ1", channel_id="C0DM1")
    parent = await wait_parent(slack, "C0DM1")
    request_id = request_id_of(parent)
    assert buttons_of(parent) == [CANCEL]  # approvers decide in their DMs
    assert "The approvers were asked by direct message." in text_of(parent)
    copies = await env.asked(request_id, *BOSSES)
    for copy in copies:
        assert buttons_of(copy) == [APPROVE, REJECT] and "dm-one" in text_of(copy)
    for nobody in ("U0DREQ1", "U0DAPP1", "U0DAPP2"):  # the requester; a rule's approvers
        assert env.dms(nobody, request_id) == []

    await bot.click("U0DBOSS2", copies[1], APPROVE)
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert [b["name"] for b in await bot.backups()].count("dm-one") == 1
    thread = [m["text"] for m in slack.replies(parent["channel"], parent["ts"])]
    assert any("Approved by <@U0DBOSS2>" in t for t in thread), thread
    for message in (parent, *copies):
        await wait_shown(slack, message, "completed")

    stale = await bot.press("U0DBOSS1", copies[0], APPROVE)  # the copy as it was while waiting
    assert "already approved by <@U0DBOSS2>" in await wait_answer(slack, stale.response_url)


async def test_a_reject_in_a_dm_updates_the_channel_and_every_copy(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent, request_id, copies = await env.asked_bosses("create orders-dev dm-no", "U0DREQ2", "C0DM2")

    pressed = await bot.press("U0DBOSS3", copies[2], REJECT)
    await bot.submit(
        "U0DBOSS3", await wait_view(slack, pressed.trigger_id), {views.REASON_BLOCK: "wrong week"}
    )
    final = await wait_thread_final(slack, parent)
    assert "rejected by <@U0DBOSS3>" in final["text"] and "wrong week" in text_of(final)
    assert (await env.stored(request_id)).state is State.REJECTED
    for message in (parent, *copies):
        await wait_shown(slack, message, "rejected")
    assert "dm-no" not in {b["name"] for b in await bot.backups()}


async def test_two_approvals_by_dm_each_copy_shows_the_count(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-prod dm-two", user_id="U0DREQ3", channel_id="C0DM3")
    parent = await wait_parent(slack, "C0DM3")
    request_id = request_id_of(parent)
    first, second = await env.asked(request_id, "U0DAPP1", "U0DAPP2")
    for boss in BOSSES:  # roles.approver is not asked about a rule's instance
        assert env.dms(boss, request_id) == []

    # A button that names another request than the DM it sits in changes nothing.
    await bot.command("create orders-dev dm-other", user_id="U0DREQ3", channel_id="C0DM3B")
    other_id = request_id_of(await wait_parent(slack, "C0DM3B"))
    wrong = await bot.press("U0DBOSS1", first, APPROVE, forge=(f"decide:{other_id}", other_id))
    assert "does not belong to the request" in await wait_answer(slack, wrong.response_url)
    assert (await env.stored(other_id)).state is State.PENDING_APPROVAL

    await bot.click("U0DAPP1", first, APPROVE)
    await wait_progress(slack, parent, "1 of 2")
    for copy in (first, second):
        shown = await wait_progress(slack, copy, "1 of 2")
        assert "<@U0DAPP1>" in progress_of(shown) and buttons_of(shown) == [APPROVE, REJECT]
    assert (await env.stored(request_id)).state is State.PENDING_APPROVAL

    await bot.click("U0DAPP2", current(slack, second), APPROVE)
    assert "complete" in text_of(await wait_thread_final(slack, parent)).lower()
    thread = [m["text"] for m in slack.replies(parent["channel"], parent["ts"])]
    assert any("Approved by <@U0DAPP1>, <@U0DAPP2>" in t for t in thread), thread
    for message in (parent, first, second):
        await wait_shown(slack, message, "completed")


async def test_work_given_up_on_while_pending_takes_the_buttons_off_every_copy(env: Env) -> None:
    parent, request_id, copies = await env.asked_bosses("create orders-dev dm-parked", "U0DREQ6", "C0DM6")
    key = f"req:{request_id}"  # its work, now with a payload no version of the bot can read
    # Only once the worker is done with it: the run that asked the bosses settles its own lease, and
    # a write made under that lease would be settled away with it.
    await wait_unleased(env.redis, key)
    await env.redis.hset(keys.scheduler_payloads("work"), key, json.dumps({"request_id": request_id, "x": 1}))
    await env.redis.zadd(keys.scheduler_due("work"), {key: 0})
    for message in (parent, *copies):
        await wait_shown(env.slack, message, "gave up")
    ended = await env.stored(request_id)
    assert (ended.state, ended.error_code) == (State.CREATE_FAILED, GAVE_UP)
    assert ("work_parked", "bot") in [
        (action, actor) for action, actor, _ in await env.audited(request_id=request_id)
    ]


async def test_a_rule_approver_is_not_asked_to_approve_their_own_request(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-prod dm-mine", user_id="U0DAPP1", channel_id="C0DM4")
    parent = await wait_parent(slack, "C0DM4")
    request_id = request_id_of(parent)
    await wait_dm(slack, "U0DAPP2", request_id)
    assert env.dms("U0DAPP1", request_id) == []


async def test_a_guest_in_the_approver_group_is_not_asked(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev dm-guest", user_id="U0DREQ5", channel_id="C0DM5")
    request_id = request_id_of(await wait_parent(slack, "C0DM5"))
    await env.asked(request_id, *BOSSES)
    assert env.dms("U0DGUEST", request_id) == []
