"""Local shell mode: the real app, the simulator and an embedded Redis, driven from the terminal."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    print(
        "backup-bot: no SLACK_BOT_TOKEN is set, and the local shell is not built yet.\n"
        "Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see README.md),\n"
        "or run `python -m bot simulator --port 8080`.",
        file=sys.stderr,
    )
    return 2
