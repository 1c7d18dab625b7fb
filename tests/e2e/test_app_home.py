"""Issue 14, the App Home, over the real processes with the fake Slack: ``app_home_opened`` publishes
the person's Home (valid for slack_sdk, the right items for a requester and for an approver), its
Approve button takes the channel's path (one backup, the channel message updated), the requester's
Home is published again when the backup ends, bursts of changes are coalesced, and only people who
opened their Home get one; an approver's Home drops a request that stopped waiting without a decision
(expired), and finds theirs behind more pending requests than one read of the index; ``/backup status``
of a pending request shows it without buttons. One deployment serves the module; each test has its
own people."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.models.views import View

from bot.app import home
from bot.app.work import ExpireRequest, schedule
from bot.domain.request import BackupRequest, State
from bot.local.embedded_redis import EmbeddedRedis
from bot.local.fake_slack import app_home_opened_body, home_block_actions
from bot.slack.render import views
from bot.slack.render.home import TAKE_BACKUP_ACTION
from bot.store.home import HomeIndex
from bot.store.requests import RequestStore
from bot.store.scheduler import Scheduler
from tests.e2e.harness import (
    Shared,
    buttons_of,
    eventually,
    module_deployment,
    request_id_of,
    text_of,
    wait_parent,
    wait_shown,
    wait_state,
    wait_thread_final,
    wait_view,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = """
roles:
  requester: ["*"]
  operator: ["U0HOPS1"]
  approver: ["U0HBOSS1", "U0HBOSS2"]
approval:
  required_for: ["*prod*"]
  allow_self_approval: false
"""
APPROVE, REJECT = "approve_request", "reject_request"


class Env(Shared):
    async def open_home(self, user_id: str) -> None:
        response = await self.bot.post_signed(app_home_opened_body(user_id), content_type="application/json")
        assert response.status_code == 200, response.text

    def publishes(self, user_id: str, since: float = 0.0) -> list[dict[str, Any]]:
        """The views published for ``user_id`` (oldest first), after ``since`` (the fake's clock)."""
        return [
            c.args["view"]
            for c in self.slack.calls("views.publish")
            if c.args.get("user_id") == user_id and c.at >= since and c.error is None
        ]

    async def home_showing(self, user_id: str, *words: str, since: float = 0.0) -> dict[str, Any]:
        """The user's Home once a published one shows every one of ``words``."""

        def found() -> dict[str, Any] | None:
            for view in reversed(self.publishes(user_id, since)):
                if all(w in home_text(view) for w in words):
                    return self.slack.home_view(user_id)
            return None

        return await eventually(found, what=f"{user_id}'s Home showing {words}")

    async def press(self, user_id: str, view: dict[str, Any], action_id: str, value: str) -> str:
        payload = home_block_actions(user_id, view, action_id, value=value)
        response = await self.bot.interact(payload)
        assert response.status_code == 200, response.text
        return str(payload["trigger_id"])


def home_text(view: dict[str, Any]) -> str:
    return "\n".join(text_of({"text": "", "blocks": [b]}) for b in view["blocks"])


def valid(view: dict[str, Any]) -> dict[str, Any]:
    published = {k: v for k, v in view.items() if k in ("type", "blocks", "callback_id")}
    parsed = View(**published)
    parsed.validate_json()
    assert parsed.to_dict() == published
    assert len(view["blocks"]) <= 100
    return view


def section_of(view: dict[str, Any], heading: str) -> str:
    """The text of a Home section: everything between its header and the next divider."""
    lines: list[str] = []
    inside = False
    for block in view["blocks"]:
        if block["type"] == "header":
            inside = block["text"]["text"] == heading
        elif block["type"] == "divider":
            inside = False
        elif inside:
            lines.append(text_of({"text": "", "blocks": [block]}))
    return "\n".join(lines)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    async with module_deployment(
        Env,
        redis_url=redis_server.url,
        log_dir=tmp_path_factory.mktemp("home"),
        request=request,
        policy=POLICY,
    ) as shared:
        yield shared


async def test_the_requester_and_the_approver_see_their_own_homes_and_approving_there_works(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await env.open_home("U0HREQ1")
    await env.open_home("U0HBOSS1")
    empty = valid(await env.home_showing("U0HREQ1", "You have not asked for a backup yet"))
    assert "You are a *requester*. Every backup you ask for waits for an approver." in home_text(empty)

    await bot.command(
        "create orders-prod home-one before the migration", user_id="U0HREQ1", channel_id="C0H1"
    )
    parent = await wait_parent(slack, "C0H1")
    request_id = request_id_of(parent)

    mine = valid(await env.home_showing("U0HREQ1", "home-one", "waiting for approval", "Open the thread"))
    assert "Waiting for you" not in home_text(mine)  # a requester decides nothing
    assert f"/archives/C0H1/p{parent['ts'].replace('.', '')}" in section_of(mine, "Your requests")
    assert (await env.stored(request_id)).permalink  # asked of Slack once, kept on the request

    boss = valid(await env.home_showing("U0HBOSS1", "home-one"))
    waiting = section_of(boss, "Waiting for you")
    assert "<@U0HREQ1> asks for `home-one` of orders-prod — 0 of 1 approvals" in waiting
    assert "home-one" not in section_of(boss, "Your requests")

    # A Home's button takes the channel's checks: someone who may not decide is told in a modal.
    forged = home_block_actions("U0HREQ1", boss, APPROVE, value=request_id) | {"user": {"id": "U0HREQ1"}}
    assert (await bot.interact(forged)).status_code == 200
    refusal = await wait_view(slack, forged["trigger_id"])
    assert "only approvers can" in text_of({"text": "", "blocks": refusal["blocks"]})
    assert (await env.stored(request_id)).state is State.PENDING_APPROVAL

    await env.press("U0HBOSS1", boss, APPROVE, request_id)
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    await wait_shown(slack, parent, "completed")  # the channel message follows the Home's decision
    assert [b["name"] for b in await bot.backups()].count("home-one") == 1

    done = valid(await env.home_showing("U0HREQ1", "home-one", "completed"))
    assert "waiting for approval" not in section_of(done, "Your requests")
    after = valid(await env.home_showing("U0HBOSS1", "Nothing waits for your decision."))
    assert "home-one" not in section_of(after, "Waiting for you")

    again = await env.press("U0HBOSS2", boss, APPROVE, request_id)  # the stale Home of another approver
    stale = await wait_view(slack, again)
    assert "already approved by <@U0HBOSS1>" in text_of({"text": "", "blocks": stale["blocks"]})
    assert [b["name"] for b in await bot.backups()].count("home-one") == 1


async def test_reject_from_the_home_opens_the_same_reason_form(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await env.open_home("U0HBOSS2")
    await bot.command("create orders-prod home-two", user_id="U0HREQ2", channel_id="C0H2")
    parent = await wait_parent(slack, "C0H2")
    request_id = request_id_of(parent)
    boss = await env.home_showing("U0HBOSS2", "home-two")
    trigger = await env.press("U0HBOSS2", boss, REJECT, request_id)
    form = await wait_view(slack, trigger)
    await bot.submit("U0HBOSS2", form, {views.REASON_BLOCK: "not today"})
    await wait_state(env.redis, request_id, State.REJECTED)
    await wait_shown(slack, parent, "rejected")
    # U0HREQ2 never opened their Home: nothing is published for them.
    assert env.publishes("U0HREQ2") == []


async def test_take_a_backup_opens_the_form_and_in_flight_lists_running_backups(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await env.open_home("U0HOPS1")
    home = valid(await env.home_showing("U0HOPS1", "You are an *operator*", "In flight"))
    assert "Backups of `*prod*` wait for approval; others start at once." in home_text(home)
    trigger = await env.press("U0HOPS1", home, TAKE_BACKUP_ACTION, "form")
    form = await wait_view(slack, trigger)
    assert form["callback_id"] == views.FORM_CALLBACK
    assert views.CHANNEL_BLOCK in {b.get("block_id") for b in form["blocks"]}  # the Home has no channel

    await env.open_home("U0HVIEW1")  # anyone with a role (here: everyone may ask) sees what is in flight
    await bot.command("create orders-dev home-fly", user_id="U0HOPS1", channel_id="C0H3")
    parent = await wait_parent(slack, "C0H3")
    mine = await env.home_showing("U0HOPS1", "home-fly")
    assert "home-fly" in section_of(mine, "Your requests")
    await wait_thread_final(slack, parent)
    await env.open_home("U0HVIEW1")
    watcher = await env.home_showing("U0HVIEW1", "No backup is being made right now.")
    assert "home-fly" not in section_of(watcher, "In flight")


async def test_a_burst_of_changes_makes_a_few_publishes_not_one_each(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await env.open_home("U0HREQ3")
    await env.home_showing("U0HREQ3", "You have not asked for a backup yet")
    start = time.time()  # the fake Slack stamps calls with the wall clock
    count = 15
    await asyncio.gather(
        *(
            bot.command(f"create orders-prod burst-{i:02d}", user_id="U0HREQ3", channel_id="C0H4")
            for i in range(count)
        )
    )
    ids = await eventually(
        lambda: (
            [request_id_of(m) for m in slack.messages("C0H4") if not m.get("thread_ts")]
            if len([m for m in slack.messages("C0H4") if not m.get("thread_ts")]) == count
            else None
        ),
        what="every burst request posted",
    )
    await asyncio.gather(*(bot.command(f"cancel {r}", user_id="U0HREQ3", channel_id="C0H4") for r in ids))
    for request_id in ids:
        await wait_state(env.redis, request_id, State.CANCELLED)

    # 2 × 15 state changes (and as many parents posted); the last one shows on the Home: ten of the
    # requests (the newest), each cancelled
    def all_cancelled() -> dict[str, Any] | None:
        shown = section_of(env.slack.home_view("U0HREQ3") or {"blocks": []}, "Your requests")
        return {"shown": shown} if shown.count("— cancelled") == 10 else None

    await eventually(all_cancelled, what="ten cancelled requests on the Home")
    published = env.publishes("U0HREQ3", since=start)
    # Coalesced: about one publish a second while the changes keep coming, not one per change (30).
    assert 1 <= len(published) <= count * 2 // 3, len(published)


async def test_a_request_that_stops_waiting_without_a_decision_leaves_the_approvers_homes(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await env.open_home("U0HBOSS1")
    await bot.command("create orders-prod home-expire", user_id="U0HREQ5", channel_id="C0H5")
    parent = await wait_parent(slack, "C0H5", with_button=APPROVE)
    request_id = request_id_of(parent)
    await env.home_showing("U0HBOSS1", "home-expire")
    # Its approval window closes now: the expiry work the bot scheduled for its deadline, brought forward.
    await schedule(Scheduler(env.redis), ExpireRequest(request_id=request_id), earlier=True)
    expired = await wait_state(env.redis, request_id, State.EXPIRED)
    assert not expired.decided_by  # nobody decided: the Home is published again all the same

    def gone() -> dict[str, Any] | None:
        home = slack.home_view("U0HBOSS1") or {"blocks": []}
        offered = [e.get("value") for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
        return None if "home-expire" in home_text(home) or request_id in offered else home

    after = valid(await eventually(gone, what="the expired request off the approver's Home"))
    assert "Nothing waits for your decision." in section_of(after, "Waiting for you")


async def test_waiting_for_you_finds_a_request_behind_everyone_elses(env: Env) -> None:
    """More pending requests than one read of the index, none of them for this approver but the last."""
    store, index = RequestStore(env.redis), HomeIndex(env.redis)
    soon = time.time() + 600
    fillers = [
        BackupRequest(
            channel_id="C0H6",
            user_id="U0HFILLREQ",
            instance_ref="orders-prod",
            instance_name="orders-prod",
            backup_name=f"filler-{i:03d}",
            state=State.PENDING_APPROVAL,
            needs_approval=True,
            deadline=soon + i,
            approvers=["U0HFILLER"],
        )
        for i in range(home.PENDING_PAGE)
    ]
    last = BackupRequest(
        channel_id="C0H6",
        user_id="U0HREQ6",
        instance_ref="payments-prod",
        instance_name="payments-prod",
        backup_name="home-behind",
        state=State.PENDING_APPROVAL,
        needs_approval=True,
        deadline=soon + 3600,
        approvers=["U0HLATE"],
    )
    try:
        for request in [*fillers, last]:
            await store.create(request)
            await index.changed(
                request.user_id, request.id, time.time(), deadline=request.deadline, people=[]
            )
        await env.open_home("U0HLATE")
        shown = valid(await env.home_showing("U0HLATE", "home-behind"))
        assert "<@U0HREQ6> asks for `home-behind` of payments-prod" in section_of(shown, "Waiting for you")
    finally:
        await index.settled(*(r.id for r in [*fillers, last]))  # the module's other Homes never see them


async def test_status_of_a_pending_request_shows_it_without_buttons_that_would_be_refused(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-prod home-status", user_id="U0HREQ7", channel_id="C0H7")
    parent = await wait_parent(slack, "C0H7", with_button=APPROVE)
    request_id = request_id_of(parent)
    for asker in ("U0HBOSS2", "U0HREQ7"):  # an approver, and the requester (whose copy would Cancel)
        answer = (await bot.command(f"status {request_id}", user_id=asker, channel_id="C0HELSE")).json()
        copy = {"text": answer.get("text", ""), "blocks": answer.get("blocks", [])}
        assert "waiting for approval" in text_of(copy) and "home-status" in text_of(copy)
        assert "*Approvers:*" in text_of(copy)
        assert buttons_of(copy) == []
    await bot.command(f"cancel {request_id}", user_id="U0HREQ7", channel_id="C0H7")
    await wait_state(env.redis, request_id, State.CANCELLED)
