"""Decisions that must not count, against the real web and worker processes: a click after the
deadline while the expiry work is late (the worker stopped), a button that names another request than
the message it sits on, and a reject reason that would render as something else or hides characters.

Two deployments: one whose approvals expire after a few seconds (its worker is stopped and started
again by the tests), one whose approvals wait long enough for anything else."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from bot.domain.request import BackupRequest, State
from bot.store.audit import AuditLog
from tests.e2e.harness import (
    Stack,
    approval_message,
    approval_policy,
    click_payload,
    create,
    final_replies,
    mrkdwn_of,
    own_stack,
    shown_inert,
    stored,
    submission,
    wait_final_replies,
    wait_state,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXPIRES = 4  # seconds: short enough to wait out, long enough to stop the worker before it passes


def _told(stack: Stack, tag: str) -> list[str]:
    """What was answered privately through the response URLs carrying ``tag``."""
    return [json.dumps(c.args) for c in stack.slack.calls("response_url") if tag in c.path]


async def _wait_told(stack: Stack, tag: str, text: str, within: float = 10.0) -> str:
    for _ in range(int(within / 0.05)):
        if found := [m for m in _told(stack, tag) if text.lower() in m.lower()]:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{tag} was not told {text!r}: {_told(stack, tag)}")


async def _redis_now(stack: Stack) -> float:
    seconds, micros = await stack.redis.time()
    return float(seconds) + micros / 1_000_000


# --- 1. a decision after the deadline, the expiry work late -----------------------------------------


@dataclass
class Late:
    """Four pending requests whose deadline has passed while the only worker is stopped."""

    stack: Stack
    approve: BackupRequest
    reject: BackupRequest
    both: BackupRequest
    opened_late: BackupRequest  # its Reject button is pressed after the deadline
    messages: dict[str, dict[str, Any]]
    reject_view: dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def late(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Late]:
    policy = approval_policy(required_for="*", expires_after=EXPIRES)
    async with own_stack(
        session=request.session, log_dir=tmp_path_factory.mktemp("hostile-late"), policy=policy
    ) as stack:
        ids = [await create(stack, f"U1REQ{i}", f"create orders-dev late-{i}", "C1LATE") for i in range(4)]
        messages = {i: await approval_message(stack, i) for i in ids}
        worker = stack.bot.process("worker1")
        worker.signal(signal.SIGSTOP)  # the expiry work is due soon; nobody will do it
        pending = [await stored(stack.redis, i) for i in ids]
        assert all(p.state is State.PENDING_APPROVAL and p.deadline for p in pending)
        # Before the deadline, an approver opens the reject form (the web process does that alone).
        reject_click = click_payload(stack, "U0BOSS2", messages[ids[1]], "reject_request", tag="H1REJECT")
        assert (await stack.bot.interact(reject_click)).status_code == 200
        [opened] = await stack.slack.wait_for("views.open", timeout=10)
        assert opened.error is None
        await asyncio.sleep(max(p.deadline or 0 for p in pending) + 0.3 - await _redis_now(stack))
        for p in pending:  # the deadline passed by Redis's clock, and no worker expired them
            assert (await stored(stack.redis, p.id)).state is State.PENDING_APPROVAL
        try:
            yield Late(stack, *pending, messages=messages, reject_view=opened.args["view"])
        finally:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.signal(signal.SIGCONT)


async def _expired_without_a_backup(late: Late, request: BackupRequest) -> None:
    current = await stored(late.stack.redis, request.id)
    assert current.state is State.EXPIRED, current
    assert current.approvals == [] and not current.decided_by
    assert [b for b in await late.stack.bot.backups() if b["name"] == request.backup_name] == []


async def test_an_approve_after_the_deadline_expires_the_request_and_tells_the_clicker(late: Late) -> None:
    click = click_payload(
        late.stack, "U0BOSS1", late.messages[late.approve.id], "approve_request", tag="H1APPROVE"
    )
    answer = await late.stack.bot.interact(click)
    assert answer.status_code == 200
    await _wait_told(late.stack, "H1APPROVE", "expired")
    await _expired_without_a_backup(late, late.approve)


async def test_a_reject_submitted_after_the_deadline_is_refused_inline(late: Late) -> None:
    payload = submission("U0BOSS2", late.reject_view, {"reason": "too late anyway"})
    answer = await late.stack.bot.interact(payload)
    assert answer.status_code == 200
    body = answer.json()
    assert body.get("response_action") == "errors" and "expired" in json.dumps(body).lower(), body
    await _expired_without_a_backup(late, late.reject)
    assert not (await stored(late.stack.redis, late.reject.id)).decision_reason


async def test_two_approvers_after_the_deadline_are_both_told_and_it_expires_once(late: Late) -> None:
    message = late.messages[late.both.id]
    clicks = [
        click_payload(late.stack, boss, message, "approve_request", tag=f"H1BOTH{boss}")
        for boss in ("U0BOSS1", "U0BOSS2")
    ]
    answers = await asyncio.gather(*(late.stack.bot.interact(c) for c in clicks))
    assert [a.status_code for a in answers] == [200, 200]
    for boss in ("U0BOSS1", "U0BOSS2"):
        await _wait_told(late.stack, f"H1BOTH{boss}", "expired")
    await _expired_without_a_backup(late, late.both)
    expired = [
        e for e in await AuditLog(late.stack.redis).for_request(late.both.id) if e.action.value == "expired"
    ]
    assert len(expired) == 1, expired


async def test_a_reject_pressed_after_the_deadline_opens_no_form_and_tells_the_clicker(late: Late) -> None:
    stack = late.stack
    mark = len(stack.slack.calls())
    message = late.messages[late.opened_late.id]
    click = click_payload(stack, "U0BOSS2", message, "reject_request", tag="H1OPENLATE")
    assert (await stack.bot.interact(click)).status_code == 200
    await _wait_told(stack, "H1OPENLATE", "expired")
    assert [c for c in stack.slack.calls()[mark:] if c.method == "views.open"] == []
    current = await stored(stack.redis, late.opened_late.id)  # nothing changed: the expiry work ends it
    assert current.state is State.PENDING_APPROVAL and not current.decided_by


async def test_when_a_worker_runs_again_each_expiry_is_posted_once(late: Late) -> None:
    stack = late.stack
    stack.bot.process("worker1").signal(signal.SIGCONT)
    requests = (late.approve, late.reject, late.both, late.opened_late)
    await wait_final_replies(stack.slack, count=len(requests), within=30)
    await asyncio.sleep(1.0)  # the late expiry work runs too: it must find nothing more to say
    parents = sorted([(await stored(stack.redis, r.id)).parent_ts for r in requests])
    finals = [m for m in final_replies(stack.slack) if m["thread_ts"] in parents]
    assert sorted(m["thread_ts"] for m in finals) == parents, "an expiry reply is missing or was posted twice"
    assert all("expired" in m["text"] for m in finals)
    for r in requests:
        current = await stored(stack.redis, r.id)
        assert current.state is State.EXPIRED
        parent = stack.slack.message(current.channel_id, current.parent_ts)
        assert parent is not None and "approve_request" not in json.dumps(parent["blocks"])  # buttons gone
    assert [b for b in await stack.bot.backups() if b["name"].startswith("late-")] == []


# --- 9. a button naming another request than its message; 4. reject reasons -----------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    policy = approval_policy(required_for="*")
    async with own_stack(
        session=request.session, log_dir=tmp_path_factory.mktemp("hostile-decisions"), policy=policy
    ) as started:
        yield started


@dataclass
class Pair:
    a: str
    b: str
    message_a: dict[str, Any]
    message_b: dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(stack: Stack) -> Pair:
    """Two pending requests, A and B, in one channel."""
    a = await create(stack, "U9REQ", "create orders-dev pair-a", "C9")
    b = await create(stack, "U9REQ", "create analytics-dev pair-b", "C9")
    return Pair(a, b, await approval_message(stack, a), await approval_message(stack, b))


def _pressed_on(stack: Stack, pair: Pair, action: str, *, value: str, block: str, tag: str) -> dict[str, Any]:
    """A click on B's message whose button says ``value`` in block ``block``."""
    click = click_payload(stack, "U0BOSS1", pair.message_b, action, tag=tag)
    click["actions"][0] |= {"value": value, "block_id": block}
    return click


async def _unchanged(stack: Stack, pair: Pair) -> None:
    for request_id, message in ((pair.a, pair.message_a), (pair.b, pair.message_b)):
        current = await stored(stack.redis, request_id)
        assert current.state is State.PENDING_APPROVAL and current.approvals == [] and not current.decided_by
        assert stack.slack.message(message["channel"], message["ts"]) == message
    assert [b for b in await stack.bot.backups() if b["name"].startswith("pair-")] == []


async def test_a_button_naming_another_request_than_its_block_is_refused(stack: Stack, pair: Pair) -> None:
    mark = len(stack.slack.calls())
    for action, tag in (("approve_request", "H9APPROVE"), ("reject_request", "H9REJECT")):
        click = _pressed_on(stack, pair, action, value=pair.a, block=f"decide:{pair.b}", tag=tag)
        assert (await stack.bot.interact(click)).status_code == 200
        await _wait_told(stack, tag, "does not belong")
    assert [c for c in stack.slack.calls()[mark:] if c.method == "views.open"] == []  # no reject form
    await _unchanged(stack, pair)


async def test_a_button_whose_block_was_forged_too_is_refused_by_the_message(
    stack: Stack, pair: Pair
) -> None:
    click = _pressed_on(
        stack, pair, "approve_request", value=pair.a, block=f"decide:{pair.a}", tag="H9FORGED"
    )
    assert (await stack.bot.interact(click)).status_code == 200
    await _wait_told(stack, "H9FORGED", "does not belong")
    nowhere = click_payload(stack, "U0BOSS2", pair.message_a, "approve_request", tag="H9NOWHERE")
    nowhere["container"] |= {"message_ts": "1600000000.000100"}  # a message that shows no request
    assert (await stack.bot.interact(nowhere)).status_code == 200
    await _wait_told(stack, "H9NOWHERE", "does not belong")
    await _unchanged(stack, pair)


async def _reject_form(stack: Stack, click: dict[str, Any]) -> dict[str, Any]:
    """Press a Reject button (``click``); returns the form the bot opened."""
    mark = len(stack.slack.calls())
    assert (await stack.bot.interact(click)).status_code == 200
    for _ in range(200):
        if opened := [c for c in stack.slack.calls()[mark:] if c.method == "views.open"]:
            assert opened[0].error is None, opened[0]
            view: dict[str, Any] = opened[0].args["view"]
            return view
        await asyncio.sleep(0.05)
    raise AssertionError("no reject form was opened")


async def test_a_reject_form_opened_from_another_requests_message_decides_nothing(
    stack: Stack, pair: Pair
) -> None:
    click = _pressed_on(stack, pair, "reject_request", value=pair.a, block=f"decide:{pair.a}", tag="H9FORM")
    view = await _reject_form(stack, click)
    answer = await stack.bot.interact(submission("U0BOSS1", view, {"reason": "not this one"}))
    body = answer.json()
    assert body.get("response_action") == "errors" and "does not belong" in json.dumps(body), body
    await _unchanged(stack, pair)


async def test_hidden_characters_in_a_reject_reason_are_refused_inline(stack: Stack) -> None:
    request_id = await create(stack, "U4REASON", "create orders-dev hidden-reason", "C4REASON")
    message = await approval_message(stack, request_id)
    view = await _reject_form(stack, click_payload(stack, "U0BOSS2", message, "reject_request"))
    for reason in (
        "no\u202egood",
        "beep\x07",
        "\x1b[2J",
        "zero\u200bwidth",
        "nul\x00",
        "fine\nbut\u2029split",
    ):
        answer = await stack.bot.interact(submission("U0BOSS2", view, {"reason": reason}))
        errors = answer.json().get("errors", {})
        assert set(errors) == {"reason"} and "U+" in errors["reason"], f"{reason!r}: {answer.text}"
    current = await stored(stack.redis, request_id)
    assert current.state is State.PENDING_APPROVAL and not current.decision_reason
    assert (
        await stack.bot.interact(submission("U0BOSS2", view, {"reason": "fine\non two lines"}))
    ).status_code == 200
    assert (await wait_state(stack.redis, request_id, State.REJECTED)).decision_reason == "fine\non two lines"


REASON = "*not now* _please_\n> quoted\n```rm -rf```\n<!channel> see https://evil.example :skull: ~x~"


async def test_formatting_in_a_reject_reason_is_shown_as_typed(stack: Stack) -> None:
    request_id = await create(stack, "U4FMT", "create orders-dev formatted-reason", "C4FMT")
    message = await approval_message(stack, request_id)
    view = await _reject_form(stack, click_payload(stack, "U0BOSS1", message, "reject_request"))
    answer = await stack.bot.interact(submission("U0BOSS1", view, {"reason": REASON}))
    assert answer.status_code == 200 and not answer.content.strip(b"{} "), answer.text
    done = await wait_state(stack.redis, request_id, State.REJECTED)
    for _ in range(200):
        finals = [m for m in final_replies(stack.slack) if m["thread_ts"] == done.parent_ts]
        if finals:
            break
        await asyncio.sleep(0.05)
    parent = stack.slack.message(done.channel_id, done.parent_ts)
    assert finals and parent is not None
    shown = [*finals, parent]
    for words in (
        "*not now*",
        "_please_",
        "&gt; quoted",
        "rm -rf",
        "&lt;!channel&gt;",
        "https://evil.example",
        ":skull:",
    ):
        texts = [t for m in shown for t in mrkdwn_of(m) if words in t]
        assert texts, f"{words!r} is not shown"
        assert all(shown_inert(t, words) for t in texts), f"{words!r} would render as formatting: {texts}"
    assert "<!channel>" not in json.dumps(shown) and "```rm" not in json.dumps(shown)
