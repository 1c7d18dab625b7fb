"""Run the bot the way a platform does — ``python -m bot web`` and ``python -m bot worker`` as separate
processes — against a real Redis, the simulator (``python -m bot simulator``) and the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis

from bot.domain.request import BackupRequest, State
from bot.local.embedded_redis import EmbeddedRedis, free_port
from bot.local.fake_slack import (
    Call,
    FakeSlack,
    dm_channel_id,
    interaction_body,
    new_trigger_id,
    sign_request,
    slash_command_body,
)
from bot.slack.render.views import backup_form
from bot.store import keys
from bot.store.audit import AuditLog
from bot.store.requests import RequestStore

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret"
PROJECT_ID = "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"
T = TypeVar("T")

# Seeded simulator instances that take backups (by ID: two of them share the name shared-staging).
ORDERS_DEV = "77c0b1ebcd7bc7474758aa00de956eb1in07"
ANALYTICS_DEV = "b6b5f5153cb5af812fa540342eda3552in07"
STAGING_A = "f30dae49050cecbf0977a1cc9abdef79in07"
STAGING_B = "06fd421b0a77a0ba4d9458fcba67f850in07"


def approval_policy(
    *, operators: tuple[str, ...] = (), required_for: str = "*prod*", expires_after: int = 600
) -> str:
    """A policy file: everyone may ask, ``operators`` take backups directly except on
    ``required_for``, and U0BOSS1 and U0BOSS2 approve (not their own requests)."""
    return f"""
roles:
  requester: ["*"]
  operator: {json.dumps(list(operators))}
  approver: ["U0BOSS1", "U0BOSS2"]
approval:
  required_for: ["{required_for}"]
  expires_after: {expires_after}
  allow_self_approval: false
"""


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

    def log_mark(self) -> int:
        """Where the log ends now: :meth:`log_since` reads only what comes after."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, mark: int) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` (e.g. SIGSTOP/SIGCONT: a worker that is there but does nothing)."""
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running"
        self.proc.send_signal(sig)


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
            # The fake Slack limits nothing unless a test turns its limits on (test_slack_limits.py
            # does, with the bot's own pace to match): here posts need not wait a second apiece, nor
            # a module's worth of updates queue for Slack's Tier 3 minute.
            "BACKUP_SLACK_POST_RATE": "50",
            "BACKUP_SLACK_TIER_SCALE": "20",
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

    async def start_other_web(
        self, name: str, env: Mapping[str, str], *, unset: tuple[str, ...] = ()
    ) -> tuple[Process, str]:
        """Another web process on a port of its own, with ``env`` on top of the deployment's and
        ``unset`` taken out (a configuration to compare with the main one); returns it and its URL."""
        port = free_port()
        base = {k: v for k, v in self.env.items() if k not in unset}
        proc = self._spawn(name, "web", env=base | {"PORT": str(port), **env})
        url = f"http://127.0.0.1:{port}"
        await wait_http(f"{url}/healthz")
        return proc, url

    def process(self, name: str) -> Process:
        """The running process called ``name`` (``web``, ``worker1`` …)."""
        [found] = [p for p in self.processes if p.name == name and p.proc and p.proc.poll() is None]
        return found

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
        self,
        body: bytes,
        *,
        content_type: str,
        headers: Mapping[str, str | bytes] | None = None,
        client_timeout: float = 10.0,
    ) -> httpx.Response:
        signed: dict[str, str | bytes] = (
            dict(sign_request(SIGNING_SECRET, body)) if headers is None else dict(headers)
        )
        async with httpx.AsyncClient(timeout=client_timeout) as client:
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
        view_id = view.get("id") or f"V{abs(hash(json.dumps(view, sort_keys=True))) % 10**9}"
        payload = submission_payload(user_id, view, values, view_id=view_id)
        return await self.interact(payload)

    async def interact(self, payload: dict[str, Any], *, client_timeout: float = 10.0) -> httpx.Response:
        return await self.post_signed(
            interaction_body(payload),
            content_type="application/x-www-form-urlencoded",
            client_timeout=client_timeout,
        )

    async def post_form(self, fields: Mapping[str, str], *, client_timeout: float = 10.0) -> httpx.Response:
        """A signed form body of exactly these fields (e.g. a slash command with a field missing)."""
        body = urllib.parse.urlencode(dict(fields)).encode()
        return await self.post_signed(
            body, content_type="application/x-www-form-urlencoded", client_timeout=client_timeout
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


@dataclass
class Stack:
    """A deployment with a Redis and a fake Slack of its own, for a module of tests to share."""

    bot: Deployment
    slack: FakeSlack
    redis: aioredis.Redis
    server: EmbeddedRedis


@asynccontextmanager
async def own_stack(
    log_dir: Path,
    *,
    policy: str | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    simulator_args: tuple[str, ...] = (),
    session: pytest.Session | None = None,
) -> AsyncIterator[Stack]:
    """Start Redis, the fake Slack and a deployment (simulator, web, ``workers``) that nothing else
    uses or flushes; stop them all on the way out (printing their logs when a test of ``session``
    failed meanwhile: a module's tests share one stack)."""
    failed = session.testsfailed if session is not None else 0
    server = await asyncio.to_thread(EmbeddedRedis(log_dir / "redis").start)
    client = aioredis.Redis.from_url(server.url, decode_responses=False)
    try:
        async with FakeSlack() as slack:
            bot = Deployment(redis_url=server.url, slack=slack, log_dir=log_dir)
            if policy is not None:
                (log_dir / "policy.yaml").write_text(policy)
                bot.env["BACKUP_POLICY_FILE"] = str(log_dir / "policy.yaml")
            bot.env.update(env or {})
            try:
                await bot.start(workers=workers, simulator_args=simulator_args)
                yield Stack(bot, slack, client, server)
                if session is not None and session.testsfailed > failed:
                    print(bot.logs())
            finally:
                await asyncio.to_thread(bot.stop)
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)


# --- building what Slack would send, for a Stack -------------------------------------------------------


def reply_url(stack: Stack, tag: str) -> str:
    """A response URL of the fake whose path carries ``tag`` (so the calls of one case can be told apart)."""
    return stack.slack.response_url(f"{tag}-{secrets.token_hex(4)}")


def command_fields(stack: Stack, typed: str, *, user: str, channel: str, **override: str) -> dict[str, str]:
    """A slash command's fields as Slack sends them, with ``override`` on top."""
    body = slash_command_body(
        typed, user_id=user, channel_id=channel, response_url=reply_url(stack, user)
    ).decode()
    return dict(urllib.parse.parse_qsl(body, keep_blank_values=True)) | override


async def create(stack: Stack, user: str, typed: str, channel: str) -> str:
    """``/backup <typed>`` by ``user`` in ``channel``; the ID of the request it was received as."""
    answer = await stack.bot.post_form(command_fields(stack, typed, user=user, channel=channel))
    assert answer.status_code == 200, answer.text
    return request_id_in(answer.json()["text"])


def click_payload(
    stack: Stack, user: str, message: dict[str, Any], action_id: str, *, tag: str = ""
) -> dict[str, Any]:
    """The block_actions payload of ``user`` pressing ``action_id`` on ``message`` (as the fake holds it)."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return {
                    "type": "block_actions",
                    "user": {"id": user, "username": user.lower(), "team_id": "T1"},
                    "team": {"id": "T1"},
                    "api_app_id": "A1",
                    "trigger_id": new_trigger_id(),
                    "response_url": reply_url(stack, tag or user),
                    "channel": {"id": message["channel"]},
                    "container": {
                        "type": "message",
                        "message_ts": message["ts"],
                        "channel_id": message["channel"],
                    },
                    "actions": [
                        {
                            "type": "button",
                            "action_id": action_id,
                            "block_id": block.get("block_id", ""),
                            "value": element.get("value", ""),
                        }
                    ],
                }
    raise AssertionError(f"no {action_id} button in {message}")


def form_view(*, channel: str = "", response_url: str = "") -> dict[str, Any]:
    """The backup form as the bot builds it (what ``views.open`` got)."""
    return backup_form(
        default_name="pre-change-x", lang="en-us", channel_id=channel, response_url=response_url
    )


def submission_payload(
    user_id: str, view: Mapping[str, Any], values: Mapping[str, Any], *, view_id: str
) -> dict[str, Any]:
    """The view_submission payload of ``view`` (``views.open`` args) with ``{block_id: value}``:
    every input block, as Slack sends them (``None`` where nothing was typed or picked)."""
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
    return {
        "type": "view_submission",
        "user": {"id": user_id},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "trigger_id": new_trigger_id(),
        "view": {
            "id": view_id,
            "type": "modal",
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "state": {"values": state},
            "hash": "h",
        },
        "response_urls": [],
    }


def submission(user: str, view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`submission_payload` of a view Slack opened just now (a view ID of its own)."""
    return submission_payload(user, view, values, view_id=f"V{secrets.token_hex(5).upper()}")


async def approval_message(stack: Stack, request_id: str, within: float = 20.0) -> dict[str, Any]:
    """The parent message with the buttons of ``request_id``, once posted."""
    current = await wait_state(stack.redis, request_id, State.PENDING_APPROVAL, within=within)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        current = await stored(stack.redis, request_id)
        if current.parent_ts and (found := stack.slack.message(current.channel_id, current.parent_ts)):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{request_id} has no parent message: {current}")


def calls_since(stack: Stack, mark: int, method: str | None = None) -> list[Call]:
    return [c for c in stack.slack.calls()[mark:] if method is None or c.method == method]


def calls_about(stack: Stack, mark: int, *tags: str) -> list[str]:
    """The Slack calls since ``mark`` that concern one case: any that names one of ``tags`` (its
    users, channels, response URLs), and any views.open (nothing in the background opens views).
    Learning someone's language (users.info) is no action and is left out."""
    return [
        f"{c.method} {c.path} {c.args}"
        for c in calls_since(stack, mark)
        if c.method != "users.info"
        and (c.method == "views.open" or any(tag in f"{c.path} {json.dumps(c.args)}" for tag in tags))
    ]


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


def problems_in(log: str) -> list[str]:
    """The lines of a process log that report an error of ours: ERROR/CRITICAL records and tracebacks."""
    return [
        line
        for line in log.splitlines()
        if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or "Traceback" in line
    ]


def code_regions(mrkdwn: str) -> list[tuple[int, int]]:
    """Where ``mrkdwn`` has code (```blocks``` and `spans`), as (start, end) offsets: text there
    shows exactly as written."""
    regions: list[tuple[int, int]] = []
    i = 0
    while i < len(mrkdwn):
        fence = "```" if mrkdwn.startswith("```", i) else "`" if mrkdwn[i] == "`" else ""
        if not fence:
            i += 1
            continue
        end = mrkdwn.find(fence, i + len(fence))
        if end < 0:
            break
        regions.append((i + len(fence), end))
        i = end + len(fence)
    return regions


def shown_inert(mrkdwn: str, words: str) -> bool:
    """Whether ``words`` appear in ``mrkdwn`` and every time inside code."""
    regions = code_regions(mrkdwn)
    starts = [i for i in range(len(mrkdwn)) if mrkdwn.startswith(words, i)]
    return bool(starts) and all(
        any(lo <= at and at + len(words) <= hi for lo, hi in regions) for at in starts
    )


def mrkdwn_of(message: Mapping[str, Any]) -> list[str]:
    """Every mrkdwn text of a message: its fallback text and each mrkdwn object in its blocks."""
    texts = [str(message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return texts


# --- reading what the bot recorded -----------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What the bot has recorded in Redis: its requests, de-duplication keys and audit entries
    (stream ID → (request ID, actor, action))."""

    requests: frozenset[str]
    dedupe: frozenset[str]
    audit: Mapping[str, tuple[str, str, str]]

    def nothing_new_since(self, before: Recorded) -> bool:
        """No request or de-duplication key since ``before``, and no audit entry except about
        requests that were there already (they may move on meanwhile)."""
        new = [entry for at, entry in self.audit.items() if at not in before.audit]
        return (
            self.requests == before.requests
            and self.dedupe == before.dedupe
            and all(request_id in before.requests for request_id, _, _ in new)
        )


async def recorded(redis: aioredis.Redis) -> Recorded:
    requests = {k.decode() async for k in redis.scan_iter(match="{bb}:req:r-*", count=1000)}
    dedupe = {k.decode() async for k in redis.scan_iter(match="{bb}:dedupe:*", count=1000)}
    audit = {
        at.decode(): tuple(fields.get(name, b"").decode() for name in (b"request_id", b"actor", b"action"))
        for at, fields in await redis.xrange("{bb}:audit")
    }
    return Recorded(
        frozenset(r.removeprefix("{bb}:req:") for r in requests),
        frozenset(dedupe),
        audit,  # type: ignore[arg-type]
    )


async def stored(redis: aioredis.Redis, request_id: str) -> BackupRequest:
    found = await RequestStore(redis).get(request_id)
    assert found is not None, f"{request_id} is not recorded"
    return found


async def wait_state(
    redis: aioredis.Redis, request_id: str, *states: State, within: float = 20.0
) -> BackupRequest:
    """Wait until the request is in one of ``states``; returns it."""
    deadline = time.monotonic() + within
    current = None
    while time.monotonic() < deadline:
        current = await RequestStore(redis).get(request_id)
        if current is not None and current.state in states:
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"{request_id} never reached {states}: {current}")


async def wait_unleased(redis: aioredis.Redis, work_key: str, *, within: float = 20.0) -> None:
    """Wait until no worker holds ``work_key`` (``req:<id>``): a test that rewrites a work item must
    wait for the run in progress to settle its own lease, which would settle the rewrite away."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await redis.hget(keys.scheduler_tokens("work"), work_key) is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{work_key} stayed leased for {within} s")


REQUEST_ID = re.compile(r"\br-[a-z0-9]{10}\b")


def request_id_in(text: str) -> str:
    found = REQUEST_ID.search(text)
    assert found, f"no request ID in {text!r}"
    return found.group()


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
    simulator_args: tuple[str, ...] = (),
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
                yield kind(await deployment.start(simulator_args=simulator_args), slack, client)
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
