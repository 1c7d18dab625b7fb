"""Unlucky operations against the real web and worker processes: Redis stalling under a request,
poison work that must be parked instead of retried forever, Slack answering with something that is
not JSON or refusing posts after a join, clients hanging up half-way, and who may read /metrics.

One deployment serves most cases; the stalled-Redis cases get a deployment of their own (its Redis
is the one stopped), and /metrics is compared across three web configurations."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.app.lifecycle import MAX_VERIFY_TRIES
from bot.domain.request import GAVE_UP, NOT_IN_CHANNEL, BackupRequest, State
from bot.store import keys
from bot.store.audit import AuditLog
from bot.store.scheduler import Scheduler
from tests.e2e.harness import (
    ANALYTICS_DEV,
    ORDERS_DEV,
    STAGING_A,
    STAGING_B,
    Recorded,
    Stack,
    approval_message,
    approval_policy,
    click_payload,
    command_fields,
    create,
    form_view,
    own_stack,
    problems_in,
    recorded,
    stored,
    submission,
    wait_state,
    wait_unleased,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = approval_policy(
    operators=("U2CMD", "U2FORM", "U2AFTER", "U3OP", "U3LOC1", "U3LOC2", "U3LOC3", "U3JOIN", "U11OP")
)
TOKEN = "metrics-token-for-tests"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    env = {"METRICS_TOKEN": TOKEN}
    async with own_stack(
        session=request.session, log_dir=tmp_path_factory.mktemp("hostile-ops"), policy=POLICY, env=env
    ) as started:
        yield started


async def _metrics(url: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.get(f"{url}/metrics", headers=headers)


def _gauge(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


# --- 3. poison work is parked, not retried forever --------------------------------------------------


async def test_form_fields_of_100_kb_are_refused_inline_with_nothing_recorded(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C3BIG"] = ["U3OP"]
    before = await recorded(stack.redis)
    view = form_view(channel="C3BIG")
    big = "a" * 100_000
    for field in ("instance", "name", "description", "reference"):
        values = {"instance": ORDERS_DEV, "name": "big-fields-3", field: big}
        answer = await stack.bot.interact(submission("U3OP", view, values))
        assert answer.status_code == 200, f"{field}: {answer.status_code}"
        errors = answer.json().get("errors", {})
        assert list(errors) == [field], f"{field}: {errors}"
        assert len(json.dumps(errors)) < 3000, "the error repeats the 100 KB"
    await asyncio.sleep(0.5)
    assert (await recorded(stack.redis)).nothing_new_since(before)


async def _parked(stack: Stack, key: str, within: float = 15.0) -> dict[str, Any]:
    scheduler = Scheduler(stack.redis)
    for _ in range(int(within / 0.05)):
        found = dict(await scheduler.parked())
        if key in found:
            assert not await scheduler.is_scheduled(key), f"{key} is parked and still scheduled"
            return found[key]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} was never parked: {await scheduler.parked()}")


async def test_work_whose_payload_does_not_validate_is_parked_at_once(stack: Stack) -> None:
    scheduler = Scheduler(stack.redis)
    forged = {
        "req:not-a-request-id": {},
        "req:r-poison0001": {"request_id": "r-poison0001", "extra": "field"},
        "lookup:forged-lookup": {"what": "drop tables", "response_url": "x", "user_id": "U3OP"},
        "locale:lowercase": {"user_id": "lowercase"},
        "expire:r-poison0002": {"request_id": "r-poison0002", "when": 12},
        "poll:short": {},
    }
    for key, payload in forged.items():
        assert await scheduler.schedule(key, payload)
    for key in forged:
        detail = await _parked(stack, key)
        assert detail["attempts"] == 1, f"{key} was tried {detail['attempts']} times"
        assert "unreadable" in detail["reason"], detail
    metrics = await _metrics(stack.bot.web_url)
    assert metrics.status_code == 200
    assert _gauge(metrics.text, "backup_bot_work_parked") >= len(forged)
    assert 'backup_bot_work_total{kind="req",result="parked"}' in metrics.text
    [worker] = [p for p in stack.bot.processes if p.name == "worker1"]
    assert "parked req:not-a-request-id" in worker.log()


def _gave_up_notes(stack: Stack, mark: int, channel: str) -> list[str]:
    """Private notes since ``mark`` saying the bot gave up (anything but a public post in ``channel``)."""
    return [
        json.dumps(c.args)
        for c in stack.slack.calls()[mark:]
        if c.method in ("response_url", "chat.postEphemeral", "chat.postMessage")
        and "gave up" in json.dumps(c.args)
        and (c.method == "chat.postEphemeral" or c.args.get("channel") != channel)
    ]


async def _poison(stack: Stack, request_id: str) -> None:
    """Replace the request's work with a payload no version of the bot can read (once the run in
    progress, if any, has settled its lease: it would settle the new payload away)."""
    key = f"req:{request_id}"
    await wait_unleased(stack.redis, key)
    await stack.redis.hset("{bb}:work:payload", key, json.dumps({"request_id": request_id, "junk": True}))
    await stack.redis.zadd("{bb}:work:due", {key: 0})
    await _parked(stack, key)


async def test_a_new_requests_unreadable_work_ends_it_and_the_requester_is_told(stack: Stack) -> None:
    worker = stack.bot.process("worker1")
    worker.signal(signal.SIGSTOP)  # the request is recorded, and no worker has touched it yet
    try:
        request_id = await create(stack, "U3OP", f"create {ORDERS_DEV} poisoned-new-3", "C3NEW")
        await stack.redis.hset("{bb}:work:payload", f"req:{request_id}", json.dumps({"junk": 1}))
    finally:
        worker.signal(signal.SIGCONT)
    mark = 0
    await _parked(stack, f"req:{request_id}")
    ended = await wait_state(stack.redis, request_id, State.CREATE_FAILED)
    assert ended.error_code == GAVE_UP and not ended.parent_ts
    actions = [e.action.value for e in await AuditLog(stack.redis).for_request(request_id)]
    assert "work_parked" in actions, actions
    for _ in range(200):
        if notes := _gave_up_notes(stack, mark, "C3NEW"):
            break
        await asyncio.sleep(0.05)
    assert notes and any("no backup was made" in n for n in notes), notes
    assert [c for c in stack.slack.calls("chat.postMessage") if c.args.get("channel") == "C3NEW"] == []
    assert [b for b in await stack.bot.backups() if b["name"] == "poisoned-new-3"] == []


async def _ended_by_parking(stack: Stack, request_id: str, channel: str, mark: int) -> BackupRequest:
    """The request once parking its work ended it: GAVE_UP, audited, the requester told that no backup
    was made (and nothing else), its parent without buttons."""
    ended = await wait_state(stack.redis, request_id, State.CREATE_FAILED, within=10)
    assert ended.error_code == GAVE_UP
    audit = AuditLog(stack.redis)

    async def audited() -> list[str]:
        return [e.action.value for e in await audit.for_request(request_id)]

    for _ in range(200):  # the runner parks the work, then ends the request, audits and tells
        if "work_parked" in await audited() and _gave_up_notes(stack, mark, channel):
            break
        await asyncio.sleep(0.05)
    assert "work_parked" in await audited(), await audited()
    notes = _gave_up_notes(stack, mark, channel)
    assert notes and all("no backup was made" in n for n in notes), notes
    for _ in range(200):
        parent = stack.slack.message(channel, ended.parent_ts)
        if parent is not None and "approve_request" not in json.dumps(parent["blocks"]):
            break
        await asyncio.sleep(0.05)
    assert parent is not None and "approve_request" not in json.dumps(parent["blocks"]), parent
    return ended


async def test_a_pending_requests_unreadable_work_ends_it_and_the_requester_is_told(stack: Stack) -> None:
    request_id = await create(stack, "U3REQ", "create orders-prod poisoned-3", "C3POISON")
    await approval_message(stack, request_id)  # pending, its parent posted, its work done
    mark = len(stack.slack.calls())
    await _poison(stack, request_id)
    await _ended_by_parking(stack, request_id, "C3POISON", mark)


async def test_an_approved_requests_unreadable_work_ends_it_before_the_cloud(stack: Stack) -> None:
    worker = stack.bot.process("worker1")
    request_id = await create(stack, "U3REQ", "create orders-prod poisoned-approved-3", "C3APPROVED")
    parent = await approval_message(stack, request_id)
    mark = len(stack.slack.calls())
    # The worker stopped while it holds no lease of this request's work: a run of it in progress
    # would settle the poisoned payload away once it went on.
    for _ in range(20):
        await wait_unleased(stack.redis, f"req:{request_id}")
        worker.signal(signal.SIGSTOP)  # the approval is recorded, and no worker acts on it yet
        if await stack.redis.hget(keys.scheduler_tokens("work"), f"req:{request_id}") is None:
            break
        worker.signal(signal.SIGCONT)
    else:
        raise AssertionError("the worker kept running this request's work")
    try:
        click = click_payload(stack, "U0BOSS1", parent, "approve_request", tag="H3APPROVED")
        assert (await stack.bot.interact(click)).status_code == 200
        await wait_state(stack.redis, request_id, State.APPROVED)
        await stack.redis.hset(
            "{bb}:work:payload", f"req:{request_id}", json.dumps({"request_id": request_id, "junk": 1})
        )
    finally:
        worker.signal(signal.SIGCONT)
    await _parked(stack, f"req:{request_id}")
    ended = await _ended_by_parking(stack, request_id, "C3APPROVED", mark)
    assert not ended.create_attempted and not ended.backup_id
    assert [b for b in await stack.bot.backups() if b["name"] == "poisoned-approved-3"] == []


async def test_a_payload_that_is_not_json_does_not_stop_the_worker(stack: Stack) -> None:
    key = "req:r-notjson001"
    await stack.redis.hset("{bb}:work:payload", key, "{not json")
    await stack.redis.zadd("{bb}:work:due", {key: 0})
    try:
        await asyncio.sleep(1.0)
        alive = [
            p for p in stack.bot.processes if p.name.startswith("worker") and p.proc and p.proc.poll() is None
        ]
        assert alive, "the worker exited"
        request_id = await create(stack, "U3OP", f"create {STAGING_B} after-poison-3", "C3AFTER")
        await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    finally:  # whatever happened, the rest of the module gets a worker and no poison
        for name in ("{bb}:work:due", "{bb}:work:payload", "{bb}:work:token", "{bb}:work:attempts"):
            await stack.redis.execute_command("ZREM" if name.endswith("due") else "HDEL", name, key)
        if not [
            p for p in stack.bot.processes if p.name.startswith("worker") and p.proc and p.proc.poll() is None
        ]:
            stack.bot.start_worker()


async def test_a_membership_check_that_keeps_failing_is_counted_toward_a_budget(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C3MEMBERS"] = ["U3OP"]
    stack.slack.knobs.error_next["conversations.members"] = ["fatal_error"] * 1000
    try:
        view = form_view(channel="C3MEMBERS")
        before = await recorded(stack.redis)
        # (no such instance: once Slack answers again, the request ends without touching the cloud)
        payload = submission("U3OP", view, {"instance": "no-such-instance-3", "name": "members-fail-3"})
        assert (await stack.bot.interact(payload)).status_code == 200
        [request_id] = (await recorded(stack.redis)).requests - before.requests
        await stack.slack.wait_for(
            lambda c: c.method == "conversations.members" and c.args.get("channel") == "C3MEMBERS",
            count=3,
            timeout=20,
        )
        current = await stored(stack.redis, request_id)
        attempts = await stack.redis.hget("{bb}:work:attempts", f"req:{request_id}")
        assert current.state is not State.RECEIVED or current.create_tries >= 2 or int(attempts or 0) >= 2, (
            "three failed membership checks, and none of them counted"
        )
    finally:
        stack.slack.knobs.error_next.pop("conversations.members", None)


async def test_a_membership_check_that_never_succeeds_ends_the_request_privately(stack: Stack) -> None:
    stack.slack.knobs.channel_members["C3NEVER"] = ["U3OP"]
    stack.slack.knobs.error_next["conversations.members"] = ["internal_error"] * 1000
    try:
        before = await recorded(stack.redis)
        payload = submission("U3OP", form_view(channel="C3NEVER"), {"instance": STAGING_A, "name": "never-3"})
        assert (await stack.bot.interact(payload)).status_code == 200
        [request_id] = (await recorded(stack.redis)).requests - before.requests
        for _ in range(400):  # the first failed check is counted
            if (await stored(stack.redis, request_id)).create_tries == 1:
                break
            await asyncio.sleep(0.05)
        # Skip ahead to the last try of the budget while the worker waits for the next one.
        await stack.redis.hset(keys.request(request_id), "create_tries", str(MAX_VERIFY_TRIES - 1))
        mark = len(stack.slack.calls())
        ended = await wait_state(stack.redis, request_id, State.CREATE_FAILED, within=30)
    finally:
        stack.slack.knobs.error_next.pop("conversations.members", None)
    assert ended.error_code == GAVE_UP and not ended.parent_ts
    for _ in range(200):
        if notes := _gave_up_notes(stack, mark, "C3NEVER"):
            break
        await asyncio.sleep(0.05)
    assert notes and all("no backup was made" in n for n in notes), notes
    for _ in range(200):  # audited right after the request ends
        audited = [(e.action.value, e.detail) for e in await AuditLog(stack.redis).for_request(request_id)]
        if any(action == "refused" and "channel" in detail for action, detail in audited):
            break
        await asyncio.sleep(0.05)
    assert any(action == "refused" and "channel" in detail for action, detail in audited), audited
    assert [c for c in stack.slack.calls("chat.postMessage") if c.args.get("channel") == "C3NEVER"] == []
    assert [b for b in await stack.bot.backups() if b["name"] == "never-3"] == []


RAW_ANSWERS = {
    "text/plain with status 200": {"body": "<html>upstream reset</html>", "content_type": "text/plain"},
    "text/html with status 502": {
        "body": "<html>Bad Gateway</html>",
        "status": 502,
        "content_type": "text/html",
    },
    "JSON that does not parse": {"body": '{"ok": tr', "content_type": "application/json"},
}


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("text/plain with status 200", id="plain"),
        pytest.param("text/html with status 502", id="gateway"),
        pytest.param("JSON that does not parse", id="broken-json"),
    ],
)
async def test_users_info_answering_something_that_is_not_json_does_not_loop(
    stack: Stack, answer: str
) -> None:
    user = f"U3LOC{list(RAW_ANSWERS).index(answer) + 1}"
    instance = {"U3LOC1": ORDERS_DEV, "U3LOC2": ANALYTICS_DEV, "U3LOC3": STAGING_A}[user]
    stack.slack.knobs.raw_next["users.info"] = [RAW_ANSWERS[answer]] * 40  # Slack keeps answering so
    try:
        request_id = await create(stack, user, f"create {instance} locale-{user.lower()}", f"C3{user}")
        done = await wait_state(stack.redis, request_id, State.COMPLETED, State.CREATE_FAILED, within=8)
        assert done.state is State.COMPLETED and done.language == "en-us", done
        await asyncio.sleep(1.0)
        asked = [c for c in stack.slack.calls("users.info") if c.args.get("user") == user]
        assert len(asked) <= 8, f"users.info was asked {len(asked)} times for one request"
    finally:
        stack.slack.knobs.raw_next.pop("users.info", None)


async def test_posting_that_keeps_failing_after_a_join_ends_in_one_private_note(stack: Stack) -> None:
    stack.slack.knobs.not_member.add("C3JOIN")
    stack.slack.knobs.join_ignored.add("C3JOIN")  # join says ok, posting still says not_in_channel
    request_id = await create(stack, "U3JOIN", f"create {ANALYTICS_DEV} join-fails-3", "C3JOIN")
    for _ in range(200):
        current = await stored(stack.redis, request_id)
        if current.error_code:
            break
        await asyncio.sleep(0.05)
    assert current.error_code == NOT_IN_CHANNEL and not current.parent_ts, current
    await asyncio.sleep(3.0)  # long enough for a loop to show
    posts = [c for c in stack.slack.calls("chat.postMessage") if c.args.get("channel") == "C3JOIN"]
    joins = [c for c in stack.slack.calls("conversations.join") if c.args.get("channel") == "C3JOIN"]
    assert 1 <= len(joins) <= 2 and len(posts) <= 2 * len(joins), (len(joins), len(posts))
    notes = [
        c
        for c in stack.slack.calls()
        if c.method in ("response_url", "chat.postEphemeral")
        and "/invite" in json.dumps(c.args)
        and "U3JOIN" in f"{c.path} {json.dumps(c.args)}"
    ]
    assert len(notes) == 1, notes
    assert [b for b in await stack.bot.backups() if b["name"] == "join-fails-3"] == []


# --- 11. clients that hang up half-way ------------------------------------------------------------

HALF_SENT = {
    "headers cut short": b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slack-Request-Time",
    "a body cut short": (
        b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nX-Slack-Request-Timestamp: 1700000000\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\ncommand=%2Fbackup&te"
    ),
    "a health check cut short": b"GET /healthz HTTP/1.1\r\nHost: bo",
}


def _hang_up(port: int, data: bytes, *, reset: bool) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if reset:  # an abortive close: the peer sees a connection reset, not an orderly end
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_two_hundred_half_sent_requests_leave_no_errors_and_the_bot_serving(
    stack: Stack, reset: bool
) -> None:
    web = stack.bot.process("web")
    mark = web.log_mark()
    port = int(stack.bot.env["PORT"])
    kinds = list(HALF_SENT.values())
    await asyncio.gather(
        *(asyncio.to_thread(_hang_up, port, kinds[i % len(kinds)], reset=reset) for i in range(200))
    )
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(timeout=5.0) as client:
        assert (await client.get(f"{stack.bot.web_url}/healthz")).status_code == 200
    answer = await stack.bot.post_form(command_fields(stack, "help", user="U11OP", channel="C11"))
    assert answer.status_code == 200 and "/backup" in answer.text
    assert web.proc is not None and web.proc.poll() is None
    assert problems_in(web.log_since(mark)) == []


# --- 12. /metrics tells an anonymous caller nothing -------------------------------------------------


async def test_metrics_on_the_public_port_need_the_bearer_token(stack: Stack) -> None:
    url = stack.bot.web_url
    assert (await _metrics(url, token=None)).status_code == 401
    for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper()):
        assert (await _metrics(url, token=wrong)).status_code == 401, wrong
    async with httpx.AsyncClient(timeout=5.0) as client:
        basic = await client.get(f"{url}/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert (await client.get(f"{url}/metrics", params={"token": TOKEN})).status_code == 401
    good = await _metrics(url)
    assert good.status_code == 200 and "backup_bot_redis_up 1.0" in good.text


async def test_metrics_are_not_served_on_the_public_port_by_default(stack: Stack) -> None:
    _, url = await stack.bot.start_other_web("web-default", {}, unset=("METRICS_TOKEN", "METRICS_PORT"))
    async with httpx.AsyncClient(timeout=5.0) as client:
        assert (await client.get(f"{url}/metrics")).status_code == 404
        assert (
            await client.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        ).status_code == 404
        health = await client.get(f"{url}/healthz")
        assert health.status_code == 200 and health.json() == {"ok": True}
        assert (await client.get(f"{url}/slack/events")).status_code in (404, 405)


async def test_metrics_port_serves_metrics_there_and_not_on_the_public_port(stack: Stack) -> None:
    from bot.local.embedded_redis import free_port

    open_port, guarded_port = free_port(), free_port()
    _, url = await stack.bot.start_other_web(
        "web-metrics-port", {"METRICS_PORT": str(open_port)}, unset=("METRICS_TOKEN",)
    )
    _, guarded_url = await stack.bot.start_other_web(
        "web-metrics-port-token", {"METRICS_PORT": str(guarded_port)}
    )
    async with httpx.AsyncClient(timeout=5.0) as client:
        for public in (url, guarded_url):
            assert (await client.get(f"{public}/metrics")).status_code == 404
            assert (
                await client.get(f"{public}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            ).status_code == 404
    scraped = await _metrics(f"http://127.0.0.1:{open_port}", token=None)
    assert scraped.status_code == 200 and "backup_bot_work_parked" in scraped.text
    assert (await _metrics(f"http://127.0.0.1:{guarded_port}", token=None)).status_code == 401
    assert (await _metrics(f"http://127.0.0.1:{guarded_port}")).status_code == 200


# --- 2. a stalled Redis --------------------------------------------------------------------------

STALL_SECONDS = 4.0
UNAVAILABLE = "cannot reach its database"


@dataclass
class Stall:
    """What the web process answered while its Redis was stopped, and what Redis held before."""

    stack: Stack
    before: Recorded
    pending: str
    answers: dict[str, httpx.Response]


async def _learned(stack: Stack, *users: str) -> None:
    """Make the web process know (and remember) these people's language, as it would for regulars."""
    for user in users:
        await stack.bot.post_form(command_fields(stack, "help", user=user, channel="C2"))
    for user in users:
        for _ in range(200):
            if await stack.redis.exists(keys.user(user)):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no worker learned who {user} is")
        await stack.bot.post_form(command_fields(stack, "help", user=user, channel="C2"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stall(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Stall]:
    async with own_stack(
        session=request.session, log_dir=tmp_path_factory.mktemp("hostile-stall"), policy=POLICY
    ) as stack:
        stack.slack.knobs.channel_members["C2FORM"] = ["U2FORM"]
        # Regulars: the web process knows their language, so the first thing it asks Redis for a
        # create is to record it (the script that must refuse once its deadline has passed).
        await _learned(stack, "U2CMD", "U2FORM", "U0BOSS1", "U0BOSS2")
        pending = await create(stack, "U2REQ", "create orders-prod stalled-pending", "C2")
        parent = await approval_message(stack, pending)
        assert (await stack.bot.command("", user_id="U2FORM", channel_id="C2FORM")).status_code == 200
        [opened] = await stack.slack.wait_for("views.open", timeout=10)
        before = await recorded(stack.redis)
        redis = stack.server.process
        assert redis is not None
        redis.send_signal(signal.SIGSTOP)
        stopped = asyncio.get_running_loop().time()
        try:
            sent = {
                "create": stack.bot.post_form(
                    command_fields(stack, f"create {ORDERS_DEV} stalled-cmd", user="U2CMD", channel="C2"),
                    client_timeout=STALL_SECONDS,
                ),
                "status": stack.bot.post_form(
                    command_fields(stack, "status r-aaaaaaaaaa", user="U2CMD", channel="C2"),
                    client_timeout=STALL_SECONDS,
                ),
                "approve": stack.bot.interact(
                    click_payload(stack, "U0BOSS1", parent, "approve_request", tag="H2APPROVE"),
                    client_timeout=STALL_SECONDS,
                ),
                "reject": stack.bot.interact(
                    click_payload(stack, "U0BOSS2", parent, "reject_request", tag="H2REJECT"),
                    client_timeout=STALL_SECONDS,
                ),
                "form": stack.bot.interact(
                    submission(
                        "U2FORM", opened.args["view"], {"instance": ANALYTICS_DEV, "name": "stalled-form"}
                    ),
                    client_timeout=STALL_SECONDS,
                ),
            }
            answers = dict(zip(sent, await asyncio.gather(*sent.values()), strict=True))
            async with httpx.AsyncClient(timeout=STALL_SECONDS) as client:
                answers["healthz"] = await client.get(f"{stack.bot.web_url}/healthz")
            await asyncio.sleep(max(0.0, stopped + STALL_SECONDS - asyncio.get_running_loop().time()))
        finally:
            redis.send_signal(signal.SIGCONT)
        await asyncio.sleep(2.0)  # whatever Redis had queued runs now
        yield Stall(stack, before, pending, answers)


async def test_a_command_during_a_stall_is_answered_unavailable(stall: Stall) -> None:
    for name in ("create", "status"):
        answer = stall.answers[name]
        assert answer.status_code == 200 and UNAVAILABLE in answer.json()["text"], f"{name}: {answer.text}"


async def test_clicks_during_a_stall_are_answered_unavailable_privately(stall: Stall) -> None:
    assert stall.answers["approve"].status_code == stall.answers["reject"].status_code == 200
    for tag in ("H2APPROVE", "H2REJECT"):
        told = [json.dumps(c.args) for c in stall.stack.slack.calls("response_url") if tag in c.path]
        assert len(told) == 1 and UNAVAILABLE in told[0], f"{tag}: {told}"
    assert not [c for c in stall.stack.slack.calls("views.open") if "reject" in json.dumps(c.args)]


async def test_a_form_during_a_stall_is_answered_unavailable_inline(stall: Stall) -> None:
    answer = stall.answers["form"]
    assert answer.status_code == 200
    body = answer.json()
    assert body.get("response_action") == "errors" and UNAVAILABLE in json.dumps(body), body


async def test_healthz_says_unavailable_during_a_stall(stall: Stall) -> None:
    assert stall.answers["healthz"].status_code == 503


async def test_after_a_stall_nothing_was_recorded_and_no_backup_is_made(stall: Stall) -> None:
    stack = stall.stack
    assert (await recorded(stack.redis)).nothing_new_since(stall.before)
    pending = await stored(stack.redis, stall.pending)
    assert pending.state is State.PENDING_APPROVAL and pending.approvals == [] and not pending.decided_by
    await asyncio.sleep(1.0)
    names = {b["name"] for b in await stack.bot.backups()}
    assert not names & {"stalled-cmd", "stalled-form", "stalled-pending"}, names


async def test_after_a_stall_the_bot_records_and_answers_correctly_again(stall: Stall) -> None:
    stack = stall.stack
    async with httpx.AsyncClient(timeout=5.0) as client:
        assert (await client.get(f"{stack.bot.web_url}/healthz")).status_code == 200
    request_id = await create(stack, "U2AFTER", f"create {STAGING_A} after-stall", "C2")
    done = await wait_state(stack.redis, request_id, State.COMPLETED, within=40)
    assert done.user_id == "U2AFTER" and done.backup_name == "after-stall"
