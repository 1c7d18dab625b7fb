"""A SIGTERM while the bot is still importing its modules (over a second on a small machine) ends the
process cleanly, with status 0: Python's default would be death by the signal (status -15), which a
platform reads as a crash of a process it only meant to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIGTERM_BIT = 1 << (signal.SIGTERM - 1)
LATE_MODULE = "pydantic_core"  # an extension the bot's configuration imports, long after its first line


def _catches_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & SIGTERM_BIT)
    return False


def _has_loaded(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command", ["web", "worker"])
def test_sigterm_while_the_bot_is_still_importing_ends_it_with_status_0(command: str) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SLACK_BOT_TOKEN": "xoxb-1",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", command], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while child.poll() is None and time.monotonic() < deadline and not _catches_sigterm(child.pid):
            time.sleep(0.001)
        assert child.poll() is None, (
            f"exited before it could be stopped: {child.stderr.read() if child.stderr else ''}"
        )
        assert _catches_sigterm(child.pid), "SIGTERM is never handled"
        # Handled from the program's first lines: the bot's own imports were still under way.
        assert not _has_loaded(child.pid, LATE_MODULE), (
            "SIGTERM was handled only once everything was imported"
        )
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
        assert child.stderr is not None
        assert "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
