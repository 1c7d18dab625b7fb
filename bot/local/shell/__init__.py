"""Local shell mode: the real app, the simulator and an embedded Redis, driven from the terminal.

``python -m bot`` without Slack credentials (or ``python -m bot shell``) starts everything in this
process (:mod:`bot.local.shell.local`) and opens a chat in the terminal (:mod:`bot.local.shell.session`). When
stdin is not a terminal, the session is read from it line by line and the transcript goes to
stdout; the exit status is 0 unless the bot itself logged an error (:mod:`bot.local.shell.logs`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.local.shell.console import Console
from bot.local.shell.local import LocalOptions
from bot.local.shell.logs import log_to_file
from bot.local.shell.render import frame_note
from bot.local.shell.session import Session
from bot.local.shell.users import DEFAULT_USER, DEMO_POLICY, find_user

EXIT_BOT_FAILED = 1
EXIT_CONFIG = 78


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot shell",
        description="Try backup-bot locally: a terminal chat with the real bot, no accounts needed.",
    )
    parser.add_argument(
        "--as",
        dest="user",
        default=DEFAULT_USER.name,
        help=f"demo user to start as (default {DEFAULT_USER.name})",
    )
    parser.add_argument(
        "--local-dir",
        type=Path,
        default=None,
        help="where Redis data, simulator state and the log are kept ($BACKUP_BOT_LOCAL_DIR, default .local)",
    )
    parser.add_argument("--backup-seconds", type=float, default=4.0, help="how long a simulated backup takes")
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=120.0,
        help=":wait gives up after this many seconds (default 120)",
    )
    return parser


def main(argv: list[str], settings: Settings) -> int:
    """The shell over the environment's ``settings`` (``BACKUP_BOT_LOCAL_DIR``, ``BACKUP_POLICY_FILE``,
    ``LOG_LEVEL``…); local mode fills in what a Slack workspace and a deployment would bring."""
    args = build_parser().parse_args(argv)
    user = find_user(args.user)
    if user is None:
        print(f"no demo user {args.user!r}", file=sys.stderr)
        return 2
    local_dir: Path = args.local_dir or settings.local_dir
    policy = settings.policy_file or DEMO_POLICY
    options = LocalOptions(
        local_dir=local_dir, policy_file=policy, settings=settings, backup_seconds=args.backup_seconds
    )
    errors = log_to_file(local_dir / "bot.log", settings.log_level)
    console = Console(interactive=sys.stdin.isatty())
    errors.announce = lambda text: console.write(
        frame_note(f"⚠ the bot logged an error: {text} (details in {local_dir / 'bot.log'})", 0)
    )
    try:
        asyncio.run(_run(console, Session(console, user=user, wait_limit=args.wait_timeout), options))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        console.write(frame_note("interrupted: everything is stopped", 0))
        return 130
    except Exception as exc:  # e.g. the embedded Redis or a port could not start
        logging.getLogger("bot.local.shell").exception("local mode failed")
        print(f"backup-bot local mode failed: {exc} (details in {local_dir / 'bot.log'})", file=sys.stderr)
        return EXIT_BOT_FAILED
    return EXIT_BOT_FAILED if errors.count else 0


async def _run(console: Console, session: Session, options: LocalOptions) -> None:
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    console.start()
    try:
        await session.run(options)
    except asyncio.CancelledError:
        # SIGTERM (or Ctrl-C): everything was stopped on the way out; end like Ctrl-C does.
        raise KeyboardInterrupt from None
