"""Run the bot the way a platform does — ``python -m bot web`` and ``python -m bot worker`` as separate
processes — against a real Redis, the simulator (``python -m bot simulator``) and the fake Slack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from bot.local.embedded_redis import free_port
from bot.local.fake_slack import (
    Call,
    FakeSlack,
    interaction_body,
    new_trigger_id,
    sign_request,
    slash_command_body,
)

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret"
PROJECT_ID = "e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0"


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
    ) -> httpx.Response:
        body = slash_command_body(
            text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger_id,
            response_url=self.slack.response_url(),
        )
        return await self.post_signed(body, content_type="application/x-www-form-urlencoded")

    async def click(self, user_id: str, message: Mapping[str, Any], action_id: str) -> httpx.Response:
        """Press the button ``action_id`` of a message the fake Slack holds, as ``user_id``."""
        for block in message.get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    payload = {
                        "type": "block_actions",
                        "user": {"id": user_id, "username": user_id.lower()},
                        "team": {"id": "T1"},
                        "api_app_id": "A1",
                        "trigger_id": new_trigger_id(),
                        "response_url": self.slack.response_url(),
                        "channel": {"id": message["channel"]},
                        "container": {
                            "type": "message",
                            "message_ts": message["ts"],
                            "channel_id": message["channel"],
                        },
                        "message": dict(message),
                        "actions": [
                            {
                                "type": "button",
                                "action_id": action_id,
                                "block_id": block.get("block_id", ""),
                                "value": element.get("value", ""),
                                "action_ts": str(time.time()),
                            }
                        ],
                    }
                    return await self.interact(payload)
        raise AssertionError(f"no {action_id} button in {message}")

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
