"""Start-up errors a platform can act on, from the real program (``python -m bot``): a setting that can
never work stops it with exit 78 and one message naming the variable; a Redis it cannot reach yet is
one line and exit 1 (a restart may find it up), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"REDIS_URL": "127.0.0.1:6379", "SLACK_BOT_TOKEN": "xoxb-1"}, "REDIS_URL: must be a redis://"),
        ({"SLACK_APP_TOKEN": "xapp-1-A1-1-abc"}, "SLACK_BOT_TOKEN is required"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "PORT": "9102", "METRICS_PORT": "9102"}, "METRICS_PORT must differ"),
    ],
)
def test_a_setting_that_can_never_work_stops_start_up_with_78(env: dict[str, str], said: str) -> None:
    done = _start("", **env)
    assert done.returncode == 78, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert "local mode" not in done.stdout  # not the local shell on someone's Redis


def test_a_redis_that_cannot_be_reached_is_one_line_and_exit_1() -> None:
    done = _start("web", REDIS_URL="redis://127.0.0.1:1/0", SLACK_BOT_TOKEN="xoxb-1")
    assert done.returncode == 1, done.stderr
    assert "cannot reach Redis at REDIS_URL" in done.stderr and "Traceback" not in done.stderr
