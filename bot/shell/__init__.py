"""Local shell mode: the real app, the simulator and an embedded Redis, driven from the terminal."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    from bot.shell.session import run

    return run(argv)
