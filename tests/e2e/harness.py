"""Run the bot the way a platform does — ``python -m bot web`` and ``python -m bot worker`` as separate
processes — against a real Redis, the simulator (``python -m bot simulator``) and the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
import redis.asyncio as aioredis

from bot.domain.request import BackupRequest
from bot.local.embedded_redis import free_port
from bot.local.fake_slack import (
    Call,
    FakeSlack,
    dm_channel_id,
    interaction_body,
    new_trigger_id,
    sign_request,
    slash_command_body,
)
from bot.store.audit import AuditLog
from bot.store.requests import RequestStore

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret"
PROJECT_ID = "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
T = TypeVar("T")


class Process:
    """One child process with its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no settling — what a crash or an OOM kill does."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def wait_http(url: str, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {within}s")


class Pressed(NamedTuple):
    response: httpx.Response
    response_url: str  # where the bot answers the presser privately
    trigger_id: str  # what a form opened for the presser is opened with


def _button(message: Mapping[str, Any], action_id: str) -> tuple[str, str]:
    """(block_id, value) of the button ``action_id`` in ``message``."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return str(block.get("block_id", "")), str(element.get("value", ""))
    raise AssertionError(f"no {action_id} button in {message}")


class Deployment:
    """Simulator + web + workers for one test, sharing one Redis and one fake Slack."""

    def __init__(
        self, *, redis_url: str, slack: FakeSlack, log_dir: Path, poll_interval: float = 0.3
    ) -> None:
        self.slack = slack
        self.log_dir = log_dir
        self.sim_port = free_port()
        self.web_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUAWEICLOUD_", "BACKUP_"))
        }
        self.env = base | {
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": "xoxb-e2e",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "REDIS_URL": redis_url,
            "TAURUSDB_ENDPOINT": self.sim_url,
            "HUAWEICLOUD_SDK_IAM_ENDPOINT": self.sim_url,  # IAM too: a test never leaves loopback
            "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT_ID,
            "BACKUP_POLL_INTERVAL": str(poll_interval),
            "PORT": str(self.web_port),
        }
        self.processes: list[Process] = []
        self._workers = 0

    def _spawn(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Process:
        proc = Process(name, [sys.executable, "-m", "bot", *args], env or self.env, self.log_dir).start()
        self.processes.append(proc)
        return proc

    async def start_simulator(self, *args: str) -> Process:
        proc = self._spawn("simulator", "simulator", "--port", str(self.sim_port), *args)
        await wait_http(f"{self.sim_url}/_sim/health")
        return proc

    async def start_web(self) -> Process:
        proc = self._spawn("web", "web")
        await wait_http(f"{self.web_url}/healthz")
        return proc

    def start_worker(self, **env: str) -> Process:
        self._workers += 1
        return self._spawn(f"worker{self._workers}", "worker", env=self.env | env)

    async def start(self, *, workers: int = 1, simulator_args: tuple[str, ...] = ()) -> Deployment:
        await self.start_simulator(
            "--backup-seconds", "1.5", "--job-invisible-seconds", "0.4", *simulator_args
        )
        await self.start_web()
        for _ in range(workers):
            self.start_worker()
        return self

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def logs(self, tail: int | None = 6000) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.log()[-(tail or 0) :]}" for p in self.processes)

    # --- Slack → bot --------------------------------------------------------------------------

    async def post_signed(
        self, body: bytes, *, content_type: str, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        signed = sign_request(SIGNING_SECRET, body) if headers is None else dict(headers)
        async with httpx.AsyncClient(timeout=10.0) as client:
            return await client.post(
                f"{self.web_url}/slack/events",
                content=body,
                headers={"Content-Type": content_type, **signed},
            )

    async def command(
        self,
        text: str,
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> httpx.Response:
        body = slash_command_body(
            text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger_id,
            response_url=response_url or self.slack.response_url(),
        )
        return await self.post_signed(body, content_type="application/x-www-form-urlencoded")

    async def click(self, user_id: str, message: Mapping[str, Any], action_id: str) -> httpx.Response:
        """Press the button ``action_id`` of a message the fake Slack holds, as ``user_id``."""
        return (await self.press(user_id, message, action_id)).response

    async def press(
        self,
        user_id: str,
        message: Mapping[str, Any],
        action_id: str,
        *,
        forge: tuple[str, str] | None = None,
    ) -> Pressed:
        """Like :meth:`click`, and say where the private answer goes (``response_url``) and which
        trigger a form would be opened with. ``forge``: (block_id, value) of a button the message
        does not show, sent as if it did (what a hand-made request could do)."""
        block_id, value = forge or _button(message, action_id)
        response_url = self.slack.response_url()
        trigger_id = new_trigger_id()
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower()},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": trigger_id,
            "response_url": response_url,
            "channel": {"id": message["channel"]},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "message": dict(message),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return Pressed(await self.interact(payload), response_url, trigger_id)

    async def submit(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> httpx.Response:
        """Submit a modal the bot opened (``views.open`` args) with ``{block_id: value}``."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"])
            if element["type"] in ("external_select", "static_select"):
                entry: dict[str, Any] = {
                    "type": element["type"],
                    "selected_option": {"text": {"type": "plain_text", "text": str(value)}, "value": value}
                    if value
                    else None,
                }
            elif element["type"] == "conversations_select":
                entry = {"type": element["type"], "selected_conversation": value}
            else:
                entry = {"type": element["type"], "value": value}
            state[block["block_id"]] = {element["action_id"]: entry}
        payload = {
            "type": "view_submission",
            "user": {"id": user_id},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": new_trigger_id(),
            "view": {
                "id": view.get("id") or f"V{abs(hash(json.dumps(view, sort_keys=True))) % 10**9}",
                "type": "modal",
                "callback_id": view.get("callback_id", ""),
                "private_metadata": view.get("private_metadata", ""),
                "state": {"values": state},
                "hash": "h",
            },
            "response_urls": [],
        }
        return await self.interact(payload)

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.post_signed(
            interaction_body(payload), content_type="application/x-www-form-urlencoded"
        )

    # --- the simulator's admin API -------------------------------------------------------------

    async def sim(self, method: str, path: str, json: Any = None) -> Any:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.request(method, f"{self.sim_url}/_sim/{path}", json=json)
            response.raise_for_status()
            return response.json()

    async def backups(self) -> list[dict[str, Any]]:
        data = await self.sim("GET", "backups")
        return list(data["backups"] if isinstance(data, dict) else data)

    async def cloud_calls(self) -> list[dict[str, Any]]:
        return list(await self.sim("GET", "calls"))


# --- reading what the bot said ----------------------------------------------------------------


def text_of(message: Mapping[str, Any]) -> str:
    """Everything a reader sees in a message: its text and every string inside its blocks."""
    return str(message.get("text", "")) + " " + json.dumps(message.get("blocks", []), ensure_ascii=False)


def posts_in(slack: FakeSlack, channel: str = "C1") -> list[Call]:
    return [
        c for c in slack.calls("chat.postMessage") if c.args.get("channel") == channel and c.error is None
    ]


def final_replies(slack: FakeSlack) -> list[dict[str, Any]]:
    """Thread replies that report a result or a timeout (tagged in their message metadata)."""
    wanted = {"backup_bot_final", "backup_bot_timeout"}
    return [m for m in slack.messages() if (m.get("metadata") or {}).get("event_type") in wanted]


async def wait_final_replies(
    slack: FakeSlack, *, count: int = 1, within: float = 30.0
) -> list[dict[str, Any]]:
    """Wait for ``count`` final replies, then a little longer, so that a duplicate would show."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if len(final_replies(slack)) >= count:
            await asyncio.sleep(0.5)
            return final_replies(slack)
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"expected {count} final replies, got {len(final_replies(slack))}: {slack.messages()}"
    )


# --- a deployment shared by a module's tests, and waiting on what one request did -------------------


@dataclass
class Shared:
    """A deployment shared by a module's tests, with its fake Slack and a client of its Redis."""

    bot: Deployment
    slack: FakeSlack
    redis: aioredis.Redis

    async def stored(self, request_id: str) -> BackupRequest:
        found = await RequestStore(self.redis).get(request_id)
        assert found is not None, f"no request {request_id}"
        return found

    async def audited(self, *, request_id: str = "", actor: str = "") -> list[tuple[str, str, str]]:
        """(action, actor, detail) of the audit entries about ``request_id`` and/or by ``actor``, oldest
        first."""
        entries = reversed(await AuditLog(self.redis).latest(1000))
        return [
            (e.action.value, e.actor, e.detail)
            for e in entries
            if (not request_id or e.request_id == request_id) and (not actor or e.actor == actor)
        ]

    async def backups_named(self, name: str) -> list[dict[str, Any]]:
        return [b for b in await self.bot.backups() if b["name"] == name]


S = TypeVar("S", bound=Shared)


@contextlib.asynccontextmanager
async def module_deployment(
    kind: type[S],
    *,
    redis_url: str,
    log_dir: Path,
    request: Any,
    policy: str,
    knobs: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[S]:
    """One deployment (Redis flushed first, its own fake Slack with ``knobs``) for a module's tests,
    each using its own people and channels; its logs are printed when one of them failed
    (``request``: the module fixture's pytest request). The developer's own AUDIT_CHANNEL never leaks
    in: only ``env`` sets one."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushall()
    failed_before = request.session.testsfailed
    try:
        async with FakeSlack() as slack:
            slack.knobs.update(knobs or {})
            deployment = Deployment(redis_url=redis_url, slack=slack, log_dir=log_dir)
            deployment.env.pop("AUDIT_CHANNEL", None)
            policy_file = log_dir / "policy.yaml"
            policy_file.write_text(policy)
            deployment.env["BACKUP_POLICY_FILE"] = str(policy_file)
            deployment.env.update(env or {})
            try:
                yield kind(await deployment.start(), slack, client)
            finally:
                deployment.stop()
                if request.session.testsfailed > failed_before:
                    print(deployment.logs())
    finally:
        await client.aclose()


async def eventually(find: Callable[[], T | None], *, what: str, within: float = 20.0) -> T:
    """Poll ``find`` until it returns something (not None, not empty)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := find():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {within} s for {what}")


def buttons_of(message: Mapping[str, Any]) -> list[str]:
    """The action IDs of every button a message shows, in order."""
    return [
        str(element.get("action_id"))
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def request_id_of(message: Mapping[str, Any]) -> str:
    """The request a parent message (or a DM copy) is about, from its context line."""
    found = re.search(r"\br-[a-km-z2-9]{10}\b", text_of(message))
    assert found, f"no request ID in {message}"
    return found.group(0)


def answers_at(slack: FakeSlack, response_url: str) -> list[dict[str, Any]]:
    """What the bot sent to one response URL (a private answer to one command or click)."""
    path = urllib.parse.urlsplit(response_url).path
    return [c.args for c in slack.calls("response_url") if c.path == path]


async def wait_answer(slack: FakeSlack, response_url: str, within: float = 10.0) -> str:
    """The first private answer sent to ``response_url``, as text (see :func:`text_of`)."""
    answers = await eventually(
        lambda: answers_at(slack, response_url), what=f"an answer at {response_url}", within=within
    )
    return text_of(answers[0])


async def wait_parent(
    slack: FakeSlack, channel: str, *, within: float = 20.0, with_button: str | None = None
) -> dict[str, Any]:
    """The latest top-level message the bot posted in ``channel`` (one showing ``with_button``)."""

    def found() -> dict[str, Any] | None:
        parents = [
            m
            for m in slack.messages(channel)
            if not m.get("thread_ts") and (with_button is None or with_button in buttons_of(m))
        ]
        return parents[-1] if parents else None

    return await eventually(found, what=f"a request posted in {channel}", within=within)


def current(slack: FakeSlack, message: Mapping[str, Any]) -> dict[str, Any]:
    """The message as it stands now (after the bot's updates)."""
    now = slack.message(message["channel"], message["ts"])
    assert now is not None, f"message {message['ts']} is gone"
    return now


async def wait_thread_final(
    slack: FakeSlack, parent: Mapping[str, Any], *, within: float = 30.0
) -> dict[str, Any]:
    """The reply that reports the request's result in its thread."""
    wanted = {"backup_bot_final", "backup_bot_timeout"}

    def found() -> dict[str, Any] | None:
        replies = [
            m
            for m in slack.replies(parent["channel"], parent["ts"])
            if (m.get("metadata") or {}).get("event_type") in wanted
        ]
        return replies[0] if replies else None

    return await eventually(found, what=f"the result in the thread of {parent['ts']}", within=within)


def progress_of(message: Mapping[str, Any]) -> str:
    """The approvals line of a waiting request ("*Approvals:* 1 of 2 — <@U…>"), "" when it has none."""
    for block in message.get("blocks", []):
        text = str((block.get("text") or {}).get("text", ""))
        if text.startswith("*Approvals:*"):
            return text
    return ""


async def wait_progress(slack: FakeSlack, message: Mapping[str, Any], count: str) -> dict[str, Any]:
    """The message once its approvals line says ``count`` (e.g. "1 of 2")."""

    def found() -> dict[str, Any] | None:
        now = current(slack, message)
        return now if count in progress_of(now) else None

    return await eventually(found, what=f"{count} approvals on {message['ts']}")


def dms_about(slack: FakeSlack, user_id: str, request_id: str) -> list[dict[str, Any]]:
    """The bot's direct messages to ``user_id`` about ``request_id``."""
    return [m for m in slack.messages(dm_channel_id(user_id)) if request_id in text_of(m)]


async def wait_dm(slack: FakeSlack, user_id: str, request_id: str) -> dict[str, Any]:
    """The one direct message ``user_id`` got about ``request_id`` (an approver's copy)."""
    copies = await eventually(lambda: dms_about(slack, user_id, request_id), what=f"a DM to {user_id}")
    assert len(copies) == 1, copies
    return copies[0]


def view_opened(slack: FakeSlack, trigger_id: str) -> dict[str, Any] | None:
    """The modal the bot opened with ``trigger_id``, if it did."""
    opened = [c for c in slack.calls("views.open") if c.args.get("trigger_id") == trigger_id]
    return opened[0].args["view"] if opened and opened[0].error is None else None


async def wait_view(slack: FakeSlack, trigger_id: str) -> dict[str, Any]:
    return await eventually(lambda: view_opened(slack, trigger_id), what=f"a form opened with {trigger_id}")


async def wait_shown(
    slack: FakeSlack, message: Mapping[str, Any], word: str, *, buttons: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The message once the bot has updated it to say ``word`` (any case) with exactly ``buttons``."""

    def found() -> dict[str, Any] | None:
        now = current(slack, message)
        return now if word.lower() in text_of(now).lower() and tuple(buttons_of(now)) == buttons else None

    return await eventually(found, what=f"{message['ts']} to show {word!r} with buttons {buttons}")
