"""``python -m bot`` in Socket Mode as a real process, against the fake Slack and the fake Socket Mode
endpoint: a token Slack refuses ends it with exit 78 and a clear message, SIGTERM ends it at any
moment (while it still connects, too) within 10 s, ``/healthz`` answers on ``$PORT``, and nothing it
started outlives it, even when it is SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.local.embedded_redis import EmbeddedRedis, free_port
from bot.local.fake_slack import FakeSlack
from bot.local.fake_socket_mode import METHOD, FakeSocketMode
from tests.e2e.test_shell import ROOT, processes_using

APP_TOKEN = "xapp-1-A0E2E-1-0123456789abcdef0123456789abcdef"
EXIT_WITHIN = 10.0  # seconds from SIGTERM to exit: the bound
_CONTRACT = ("SLACK_", "HUAWEICLOUD_", "TAURUSDB_", "BACKUP_", "REDIS_URL", "AUDIT_CHANNEL", "PORT")


class Bot:
    """One ``python -m bot`` process with its own local folder; its output in ``log``."""

    def __init__(self, slack: FakeSlack, tmp: Path, **env: str) -> None:
        self.local_dir = tmp / "local"
        self.port = free_port()
        self.log_path = tmp / "bot.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(_CONTRACT)}
        self.env = (
            base
            | {
                "PYTHONUNBUFFERED": "1",
                "LOG_FORMAT": "text",
                "SLACK_BOT_TOKEN": "xoxb-e2e",
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": slack.url,
                "PORT": str(self.port),
                "BACKUP_BOT_LOCAL_DIR": str(self.local_dir),
            }
            | env
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, stdin: int | None = subprocess.DEVNULL, argv: tuple[str, ...] = ()) -> Bot:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", *argv],
                cwd=ROOT,
                env=self.env,
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def running(self) -> subprocess.Popen[bytes]:
        assert self.proc is not None
        return self.proc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def exit_code(self, within: float) -> int:
        try:
            return await asyncio.to_thread(self.running.wait, within)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {within}s on:\n{self.log()[-4000:]}")

    async def sigterm(self) -> int:
        self.running.send_signal(signal.SIGTERM)
        return await self.exit_code(EXIT_WITHIN)

    def healthz(self) -> int:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).status_code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    return fake_slack


@pytest.fixture
async def sockets(fake_slack: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(fake_slack) as fake:
        yield fake


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.kill()


def bot(bots: list[Bot], slack: FakeSlack, tmp_path: Path, **env: str) -> Bot:
    made = Bot(slack, tmp_path, **env)
    bots.append(made)
    return made


async def until(predicate: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s: {what}")
        await asyncio.sleep(0.05)


def children_in(bot: Bot) -> list[str]:
    """Processes other than the bot itself that keep its local folder."""
    return [p for p in processes_using(bot.local_dir) if not p.startswith(f"{bot.running.pid}:")]


async def nothing_left_in(local_dir: Path) -> None:
    """No process keeps the local folder: whatever the bot started there is gone too."""
    await until(lambda: processes_using(local_dir) == [], f"processes left in {local_dir}", within=10)


# --- tokens Slack will not take -------------------------------------------------------------------


async def test_a_bot_token_in_slack_app_token_stops_start_up(
    bots: list[Bot], slack: FakeSlack, tmp_path: Path
) -> None:
    running = bot(bots, slack, tmp_path, SLACK_APP_TOKEN="xoxb-1-SeCrEt").start()
    assert await running.exit_code(within=30) == 78
    out = running.log()
    assert "SLACK_APP_TOKEN: must be an app-level token (xapp-…)" in out and "a bot token" in out
    assert "SeCrEt" not in out and "Traceback" not in out
    assert slack.calls(METHOD) == []


@pytest.mark.parametrize("code", ["not_allowed_token_type", "invalid_auth"])
async def test_a_token_slack_refuses_ends_the_process_with_exit_78(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path, code: str
) -> None:
    slack.knobs.error_next[METHOD] = [code] * 5
    running = bot(bots, slack, tmp_path).start()
    assert await running.exit_code(within=30) == 78
    out = running.log()
    assert f"SLACK_APP_TOKEN: Slack refused to open a Socket Mode connection with it ({code})" in out
    assert APP_TOKEN not in out and "Traceback" not in out
    assert len(slack.calls(METHOD)) == 1  # not retried
    await nothing_left_in(running.local_dir)  # the embedded Redis was stopped on the way out


async def test_a_bot_token_slack_refuses_ends_the_process_with_exit_78(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    slack.knobs.error_next["auth.test"] = ["invalid_auth"]
    running = bot(bots, slack, tmp_path).start()
    assert await running.exit_code(within=30) == 78
    out = running.log()
    assert "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)" in out and "Traceback" not in out
    await nothing_left_in(running.local_dir)


async def test_a_socket_mode_answer_that_is_not_json_is_retried_by_the_bot(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    slack.knobs.raw_next[METHOD] = [{"body": "upstream failed", "status": 500}] * 100
    running = bot(bots, slack, tmp_path).start()
    # slack_sdk's own retries of a 5xx come first (4 calls), then the bot's backoff
    await until(lambda: len(slack.calls(METHOD)) >= 5, "apps.connections.open tried again by the bot")
    assert await running.sigterm() == 0
    out = running.log()
    assert "Slack did not open a Socket Mode connection (not_json); again in" in out
    assert "Traceback" not in out


# --- SIGTERM at any moment ------------------------------------------------------------------------


async def test_sigterm_while_slack_keeps_failing_ends_it_in_time(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    slack.knobs.error_next[METHOD] = ["internal_error"] * 1000  # may pass: retried with backoff
    running = bot(bots, slack, tmp_path).start()
    await until(lambda: len(slack.calls(METHOD)) >= 2, "a second apps.connections.open")
    assert await running.sigterm() == 0
    assert "Slack did not open a Socket Mode connection (internal_error); again in" in running.log()
    await nothing_left_in(running.local_dir)


async def test_sigterm_while_the_websocket_cannot_connect_ends_it_in_time(
    bots: list[Bot], slack: FakeSlack, tmp_path: Path
) -> None:
    async with FakeSocketMode(slack) as gone:
        dead = gone.url
    slack._handlers[METHOD] = lambda _: {"ok": True, "url": dead}  # slack_sdk retries it every 10 s
    running = bot(bots, slack, tmp_path).start()
    await until(lambda: "Failed to connect" in running.log(), "a failed WebSocket connect")
    assert await running.sigterm() == 0
    await nothing_left_in(running.local_dir)


# --- /healthz on $PORT, and a clean stop once connected -------------------------------------------


async def test_healthz_answers_on_port_in_socket_mode_and_says_when_redis_is_down(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        running = bot(bots, slack, tmp_path, REDIS_URL=server.url).start()
        await sockets.wait_connected(within=30)
        assert await asyncio.to_thread(running.healthz) == 200
        await sockets.disconnect()  # Slack's refresh_requested: it connects anew
        await sockets.wait_connected(count=2)
        await asyncio.to_thread(server.stop)
        assert await asyncio.to_thread(running.healthz) == 503
    finally:
        await asyncio.to_thread(server.stop)
    assert await running.sigterm() == 0
    assert sockets.live == []


# --- nothing outlives the bot, even a SIGKILLed one -----------------------------------------------


async def test_a_sigkilled_bot_leaves_no_process_behind(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    running = bot(bots, slack, tmp_path).start()  # no REDIS_URL: an embedded server in the local folder
    await sockets.wait_connected(within=30)
    assert children_in(running), "the embedded Redis should be working in the local folder"
    running.running.kill()  # no cleanup code of ours runs
    running.running.wait()
    await nothing_left_in(running.local_dir)


async def test_a_sigkilled_shell_leaves_no_process_behind(
    bots: list[Bot], slack: FakeSlack, tmp_path: Path
) -> None:
    shell = bot(bots, slack, tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_API_URL"):
        del shell.env[name]  # no Slack credentials: the local shell, with an embedded Redis
    shell.start(stdin=subprocess.PIPE)  # it waits for input with everything started
    await until(lambda: bool(children_in(shell)), "the embedded Redis working in the local folder")
    shell.running.kill()
    shell.running.wait()
    await nothing_left_in(shell.local_dir)


async def test_sigterm_drains_the_worker_in_the_same_process(
    bots: list[Bot], slack: FakeSlack, sockets: FakeSocketMode, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('roles:\n  operator: ["@db-oncall"]\n  approver: ["@db-oncall"]\n')
    slack.knobs.rate_limit_next["usergroups.list"] = 1
    slack.knobs.retry_after = 60  # the group sync waits a minute inside its handler
    running = bot(bots, slack, tmp_path, BACKUP_POLICY_FILE=str(policy)).start()
    await sockets.wait_connected(within=30)
    await slack.wait_for(lambda c: c.method == "usergroups.list" and c.status == 429, timeout=30)
    assert await running.sigterm() == 0
    assert "handing their work back" in running.log() and "back unfinished" in running.log()
    await nothing_left_in(running.local_dir)
