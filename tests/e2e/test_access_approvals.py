"""Issue 12, approvals, over the real processes: rules with their own approvers and N distinct
approvals, one reject, break glass, cancel (button and command), ``notify: both`` (the channel and a
DM to each approver, every copy kept in step) and ``guests: allow``. One deployment serves the
module; each test has its own people and channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.request import State
from bot.local.embedded_redis import EmbeddedRedis
from bot.local.fake_slack import dm_channel_id, usergroup_id
from bot.slack.render import views
from tests.e2e.harness import (
    Shared,
    answers_at,
    buttons_of,
    current,
    eventually,
    module_deployment,
    progress_of,
    request_id_of,
    text_of,
    view_opened,
    wait_answer,
    wait_dm,
    wait_parent,
    wait_progress,
    wait_shown,
    wait_thread_final,
    wait_view,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

AUDIT_CHANNEL = "C0AAUDIT"
POLICY = """
roles:
  requester: ["*"]
  operator: ["U0AOPER"]
  approver: ["U0AMGR"]
approval:
  expires_after: 600
  rules:
    - match: ["*PROD*"]
      approvers: ["U0AAPP1", "U0AAPP2", "@a-dbas"]
      min_approvals: 2
    - match: ["analytics-*"]
      approvers: ["@a-analysts"]
  break_glass:
    allowed: ["@a-incident"]
  notify: both
guests: allow
"""
GROUPS = {"a-dbas": ["U0AAPP3"], "a-analysts": ["U0AANA"], "a-incident": ["U0AIC", "U0AIC2"]}
RULE_APPROVERS = ("U0AAPP1", "U0AAPP2", "U0AAPP3")
APPROVE, REJECT, CANCEL, BREAK_GLASS = "approve_request", "reject_request", "cancel_request", "break_glass"


class Env(Shared):
    async def ask(self, user_id: str, channel: str, text: str, *, button: str = APPROVE) -> dict[str, Any]:
        """A request posted and waiting, as its channel message (showing ``button``)."""
        await self.bot.command(text, user_id=user_id, channel_id=channel)
        return await wait_parent(self.slack, channel, with_button=button)

    async def dm_copy(self, user_id: str, request_id: str) -> dict[str, Any]:
        return await wait_dm(self.slack, user_id, request_id)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    async with module_deployment(
        Env,
        redis_url=redis_server.url,
        log_dir=tmp_path_factory.mktemp("access-approvals"),
        request=request,
        policy=POLICY,
        knobs={"usergroups": GROUPS, "guests": {"U0AGUEST": "single"}},
        env={"AUDIT_CHANNEL": AUDIT_CHANNEL},
    ) as shared:
        yield shared


async def test_two_distinct_approvals_are_needed_and_a_second_click_changes_nothing(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ1", "C0A2OF3", "create orders-prod two-keys")
    request_id = request_id_of(parent)
    assert progress_of(parent) == "*Approvals:* 0 of 2 — none yet"
    assert buttons_of(parent) == [APPROVE, REJECT, CANCEL]  # no break glass: U0AREQ1 may not
    for approver in RULE_APPROVERS:  # notify: both — the channel and a DM each
        assert "<@" + approver + ">" in text_of(parent) or approver == "U0AAPP3"
        assert buttons_of(await env.dm_copy(approver, request_id)) == [APPROVE, REJECT]
    assert f"<!subteam^{usergroup_id('a-dbas')}>" in text_of(parent)
    assert not slack.messages(dm_channel_id("U0AREQ1")) and not slack.messages(dm_channel_id("U0AMGR"))

    # roles.approver is not an approver of a rule's instances, nor is the requester.
    for who in ("U0AMGR", "U0AREQ1"):
        outsider = await bot.press(who, parent, APPROVE)
        refusal = await wait_answer(slack, outsider.response_url)
        assert "only approvers can" in refusal and "<@U0AAPP1>" in refusal

    first = await bot.press("U0AAPP1", parent, APPROVE)
    shown = await wait_progress(slack, parent, "1 of 2")
    assert not answers_at(slack, first.response_url)  # counted: nothing to tell privately
    assert progress_of(shown) == "*Approvals:* 1 of 2 — <@U0AAPP1>"
    assert APPROVE in buttons_of(shown)
    dm = await wait_progress(slack, await env.dm_copy("U0AAPP2", request_id), "1 of 2")
    assert APPROVE in buttons_of(dm)

    again = await bot.press("U0AAPP1", parent, APPROVE)
    assert "already approved this request (1 of 2" in await wait_answer(slack, again.response_url)
    from_dm = await bot.press("U0AAPP1", await env.dm_copy("U0AAPP1", request_id), APPROVE)
    assert "already approved this request (1 of 2" in await wait_answer(slack, from_dm.response_url)
    stored = await env.stored(request_id)
    assert stored.state is State.PENDING_APPROVAL and stored.approvals == ["U0AAPP1"]
    assert await env.backups_named("two-keys") == []
    assert ("approval_recorded", "U0AAPP1", "") in await env.audited(request_id=request_id)

    # The second distinct approver decides from their DM: every copy follows, the thread records it.
    await bot.click("U0AAPP2", current(slack, dm), APPROVE)
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert len(await env.backups_named("two-keys")) == 1
    thread = [m["text"] for m in slack.replies(parent["channel"], parent["ts"])]
    assert any("Approved by <@U0AAPP1>, <@U0AAPP2>" in t for t in thread), thread
    await wait_shown(slack, parent, "completed")
    for approver in RULE_APPROVERS:
        await wait_shown(slack, await env.dm_copy(approver, request_id), "completed")
    actions = [a for a, _, _ in await env.audited(request_id=request_id)]
    assert actions.count("approved") == 1 and actions.count("approval_recorded") == 1

    # A stale Cancel button (the message as it was while waiting) cannot stop a started backup.
    late = await bot.press("U0AREQ1", parent, CANCEL)
    assert "can no longer be cancelled" in await wait_answer(slack, late.response_url)
    assert (await env.stored(request_id)).state is State.COMPLETED


async def test_the_second_and_third_approvals_at_once_start_one_backup(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ2", "C0ARACE", "create orders-prod race-2-3")
    request_id = request_id_of(parent)
    await bot.click("U0AAPP1", parent, APPROVE)
    await wait_progress(slack, parent, "1 of 2")

    second, third = await asyncio.gather(
        bot.press("U0AAPP2", parent, APPROVE), bot.press("U0AAPP3", parent, APPROVE)
    )
    assert second.response.status_code == third.response.status_code == 200
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert len(await env.backups_named("race-2-3")) == 1
    await eventually(
        lambda: answers_at(slack, second.response_url) + answers_at(slack, third.response_url),
        what="the loser to be told",
    )
    told = [answers_at(slack, p.response_url) for p in (second, third)]
    assert sorted(len(t) for t in told) == [0, 1], told  # the loser, and only the loser, is told
    assert "already approved by" in json.dumps(told)
    stored = await env.stored(request_id)
    assert len(stored.approvals) == 2 and stored.approvals[0] == "U0AAPP1"
    thread = [m["text"] for m in slack.replies(parent["channel"], parent["ts"])]
    assert sum("Approved by" in t for t in thread) == 1


async def test_after_one_of_two_approvals_the_message_still_names_the_approvers(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ5", "C0ANAMES", "create orders-prod who-else")
    assert "*Approvers:*" in text_of(parent)
    await bot.click("U0AAPP1", parent, APPROVE)
    shown = await wait_progress(slack, parent, "1 of 2")
    assert "*Approvers:*" in text_of(shown) and "<@U0AAPP2>" in text_of(shown), text_of(shown)


async def test_the_cancel_confirmation_does_not_offer_approve(env: Env) -> None:
    parent = await env.ask("U0AREQ10", "C0ACONFIRM", "create orders-prod confirm-words")
    [cancel] = [
        e
        for b in parent["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == CANCEL
    ]
    assert cancel["confirm"]["confirm"]["text"] != "Approve", cancel["confirm"]
    assert cancel["confirm"]["deny"]["text"] != "Cancel", cancel["confirm"]


async def test_one_reject_rejects_even_after_an_approval(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ3", "C0AREJ", "create orders-prod one-no")
    request_id = request_id_of(parent)
    await bot.click("U0AAPP1", parent, APPROVE)
    await wait_progress(slack, parent, "1 of 2")

    pressed = await bot.press("U0AAPP3", parent, REJECT)
    await bot.submit(
        "U0AAPP3", await wait_view(slack, pressed.trigger_id), {views.REASON_BLOCK: "not this week"}
    )
    final = await wait_thread_final(slack, parent)
    assert "rejected by <@U0AAPP3>" in final["text"] and "not this week" in text_of(final)
    assert (await env.stored(request_id)).state is State.REJECTED
    for message in (parent, *[await env.dm_copy(a, request_id) for a in RULE_APPROVERS]):
        await wait_shown(slack, message, "rejected")
    assert await env.backups_named("one-no") == []


async def test_a_rules_approvers_replace_roles_approver_for_its_instances_only(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ4", "C0ARULE", "create analytics-dev by-the-rule")
    assert "1 of" not in progress_of(parent)  # one approval: no count shown
    refused = await bot.press("U0AMGR", parent, APPROVE)  # holds roles.approver, not in the rule
    assert "only approvers can" in await wait_answer(slack, refused.response_url)
    assert "<!subteam^" in await wait_answer(slack, refused.response_url)  # names @a-analysts
    assert APPROVE in buttons_of(current(slack, parent))
    await bot.click("U0AANA", parent, APPROVE)
    assert "complete" in text_of(await wait_thread_final(slack, parent)).lower()

    # Outside every rule, roles.approver decides, and a rule's approver is nobody special.
    other = await env.ask("U0AREQ4", "C0ADEFAULT", "create orders-dev by-the-role")
    stranger = await bot.press("U0AANA", other, APPROVE)
    assert "only approvers can" in await wait_answer(slack, stranger.response_url)
    await bot.click("U0AMGR", other, APPROVE)
    assert "complete" in text_of(await wait_thread_final(slack, other)).lower()
    assert len(await env.backups_named("by-the-rule")) == len(await env.backups_named("by-the-role")) == 1


async def test_a_rule_approver_never_approves_their_own_request_nor_is_asked_to(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AAPP3", "C0AOWN", "create billing-prod my-own")
    request_id = request_id_of(parent)
    await env.dm_copy("U0AAPP1", request_id)
    await env.dm_copy("U0AAPP2", request_id)
    assert not [m for m in slack.messages(dm_channel_id("U0AAPP3")) if request_id in text_of(m)]
    own = await bot.press("U0AAPP3", parent, APPROVE)
    assert "your own request" in await wait_answer(slack, own.response_url)
    await bot.click("U0AAPP1", parent, APPROVE)  # one distinct approval; the requester's would be two
    await wait_progress(slack, parent, "1 of 2")
    assert (await env.stored(request_id)).approvals == ["U0AAPP1"]


async def test_a_click_on_a_cancelled_request_says_it_was_cancelled(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ9", "C0ACANCELLED", "create orders-prod called-off")
    request_id = request_id_of(parent)
    dm = await env.dm_copy("U0AAPP1", request_id)
    await bot.command(f"cancel {request_id}", user_id="U0AREQ9", channel_id="C0ACANCELLED")
    await wait_thread_final(slack, parent)
    late = await bot.press("U0AAPP1", dm, APPROVE)  # the DM copy as the approver last saw it
    told = await wait_answer(slack, late.response_url)
    again = (await bot.command(f"cancel {request_id}", user_id="U0AREQ9")).json()["text"]
    assert "approved" not in told and "cancelled" in told, told
    assert "approved" not in again and "cancelled" in again, again


async def test_break_glass_by_an_allowed_requester_starts_at_once_and_is_told_everywhere(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AIC", "C0AGLASS", "create orders-prod glass-broken")
    request_id = request_id_of(parent)
    assert buttons_of(parent) == [APPROVE, REJECT, CANCEL, BREAK_GLASS]
    assert "Start now (break glass)" in text_of(parent)

    other = await bot.press("U0AAPP1", parent, BREAK_GLASS)  # an approver is not the requester
    assert "Only the person who asked" in await wait_answer(slack, other.response_url)
    assert view_opened(slack, other.trigger_id) is None

    pressed = await bot.press("U0AIC", parent, BREAK_GLASS)
    form = await wait_view(slack, pressed.trigger_id)
    empty = (await bot.submit("U0AIC", form, {views.REASON_BLOCK: ""})).json()
    assert empty["response_action"] == "errors" and "reason is required" in json.dumps(empty)
    bad = (await bot.submit("U0AIC", form, {views.REASON_BLOCK: "db=down"})).json()
    assert bad["response_action"] == "errors" and "may not contain" in json.dumps(bad)
    assert (await env.stored(request_id)).state is State.PENDING_APPROVAL
    assert await env.backups_named("glass-broken") == []

    ok = await bot.submit("U0AIC", form, {views.REASON_BLOCK: "INC-42 primary is down"})
    assert ok.status_code == 200 and not ok.content.strip(b"{} ")
    final = await wait_thread_final(slack, parent)
    assert "complete" in text_of(final).lower()
    assert len(await env.backups_named("glass-broken")) == 1
    stored = await env.stored(request_id)
    assert stored.break_glass and stored.approvals == []
    thread = [m["text"] for m in slack.replies(parent["channel"], parent["ts"])]
    [told] = [t for t in thread if "broke the glass" in t]
    assert "<@U0AIC>" in told and "INC-42 primary is down" in told
    for approver in ("<@U0AAPP1>", "<@U0AAPP2>", f"<!subteam^{usergroup_id('a-dbas')}>"):
        assert approver in told, told
    assert ("break_glass", "U0AIC", "INC-42 primary is down") in await env.audited(request_id=request_id)
    lines = await eventually(
        lambda: [
            c.args["text"]
            for c in slack.calls("chat.postMessage")
            if c.args.get("channel") == AUDIT_CHANNEL and request_id in c.args.get("text", "")
        ],
        what="the audit channel line",
    )
    assert any("Glass broken" in line and "<@U0AIC>" in line and "INC-42" in line for line in lines), lines
    await wait_shown(slack, parent, "completed")
    await wait_shown(slack, await env.dm_copy("U0AAPP1", request_id), "completed")


async def test_break_glass_by_anyone_not_allowed_is_refused_and_changes_nothing(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ6", "C0ANOGLASS", "create orders-prod no-glass")
    request_id = request_id_of(parent)
    assert BREAK_GLASS not in buttons_of(parent)  # U0AREQ6 is not in @a-incident
    forged = (f"own:{request_id}", request_id)
    for who in ("U0AREQ6", "U0AIC2"):  # the requester, and an incident commander on someone else's
        pressed = await bot.press(who, parent, BREAK_GLASS, forge=forged)
        assert "Only the person who asked" in await wait_answer(slack, pressed.response_url)
        assert view_opened(slack, pressed.trigger_id) is None

    stored = await env.stored(request_id)
    form = views.break_glass_form(stored, lang="en-us", seen=(parent["channel"], parent["ts"]))
    answer = (await bot.submit("U0AREQ6", form, {views.REASON_BLOCK: "let me through"})).json()
    assert answer["response_action"] == "errors" and "Only the person who asked" in json.dumps(answer)

    await bot.click("U0AAPP1", parent, APPROVE)  # a later step shows up only after the refusals
    await wait_progress(slack, parent, "1 of 2")
    after = await env.stored(request_id)
    assert after.state is State.PENDING_APPROVAL and not after.break_glass
    assert [a for a, _, _ in await env.audited(request_id=request_id)].count("break_glass") == 0
    assert await env.backups_named("no-glass") == []
    assert not any("broke the glass" in m["text"] for m in slack.replies(parent["channel"], parent["ts"]))


async def test_the_requester_cancels_with_the_button_and_an_outsider_cannot(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ7", "C0ACANCEL", "create orders-prod cancel-me")
    request_id = request_id_of(parent)
    outsider = await bot.press("U0AOUT", parent, CANCEL)
    assert "Only the person who asked" in await wait_answer(slack, outsider.response_url)
    assert (await env.stored(request_id)).state is State.PENDING_APPROVAL

    await bot.click("U0AREQ7", parent, CANCEL)
    final = await wait_thread_final(slack, parent)
    assert "cancelled by <@U0AREQ7>" in final["text"]
    assert (await env.stored(request_id)).state is State.CANCELLED
    for message in (parent, *[await env.dm_copy(a, request_id) for a in RULE_APPROVERS]):
        await wait_shown(slack, message, "cancelled")
    assert ("cancelled", "U0AREQ7", "") in await env.audited(request_id=request_id)
    assert ("cancelled", "U0AOUT", "") not in await env.audited(request_id=request_id)
    assert await env.backups_named("cancel-me") == []


async def test_cancel_by_command_for_the_requester_and_an_approver_not_for_others(env: Env) -> None:
    bot, slack = env.bot, env.slack
    parent = await env.ask("U0AREQ8", "C0ACMD", "create orders-prod cancel-cmd")
    request_id = request_id_of(parent)
    refused = (await bot.command(f"cancel {request_id}", user_id="U0AOUT", channel_id="C0ACMD")).json()
    assert "Only the person who asked" in refused["text"]
    assert (await env.stored(request_id)).state is State.PENDING_APPROVAL

    done = (await bot.command(f"cancel {request_id}", user_id="U0AREQ8", channel_id="C0ACMD")).json()
    assert f"{request_id}` is cancelled" in done["text"]
    final = await wait_thread_final(slack, parent)
    assert "cancelled by <@U0AREQ8>" in final["text"]
    await wait_shown(slack, parent, "cancelled")
    twice = (await bot.command(f"cancel {request_id}", user_id="U0AREQ8", channel_id="C0ACMD")).json()
    assert "already" in twice["text"]
    assert [a for a, _, _ in await env.audited(request_id=request_id)].count("cancelled") == 1

    # One of the request's approvers may call it off too (its requester's channel, not theirs).
    other = await env.ask("U0AREQ8", "C0ACMD2", "create orders-prod cancel-by-dba")
    other_id = request_id_of(other)
    by_dba = (await bot.command(f"cancel {other_id}", user_id="U0AAPP3", channel_id="C0AELSE")).json()
    assert "is cancelled" in by_dba["text"]
    assert "cancelled by <@U0AAPP3>" in (await wait_thread_final(slack, other))["text"]
    assert await env.backups_named("cancel-cmd") == await env.backups_named("cancel-by-dba") == []


async def test_a_backup_that_has_started_cannot_be_cancelled(env: Env) -> None:
    bot, slack = env.bot, env.slack
    await bot.command("create orders-dev already-going", user_id="U0AOPER", channel_id="C0ASTARTED")
    parent = await wait_parent(slack, "C0ASTARTED")
    request_id = request_id_of(parent)
    await eventually(  # the cloud accepted the create: the backup is being made
        lambda: any(
            (m.get("metadata") or {}).get("event_type") == "backup_bot_created"
            for m in slack.replies(parent["channel"], parent["ts"])
        ),
        what="the backup to start",
    )
    said = (await bot.command(f"cancel {request_id}", user_id="U0AOPER", channel_id="C0ASTARTED")).json()
    assert "can no longer be cancelled" in said["text"], said
    assert "it is in progress" in said["text"] or "it is completed" in said["text"], said
    assert "complete" in text_of(await wait_thread_final(slack, parent)).lower()
    assert (await env.stored(request_id)).state is State.COMPLETED
    assert len(await env.backups_named("already-going")) == 1


async def test_guests_allow_lets_a_guest_hold_roles_through_everyone(env: Env) -> None:
    parent = await env.ask("U0AGUEST", "C0AGUEST", "create orders-dev guest-welcome")
    assert "<@U0AGUEST>" in text_of(parent) and "guest-welcome" in text_of(parent)
    assert (await env.stored(request_id_of(parent))).user_id == "U0AGUEST"
