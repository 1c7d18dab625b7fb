"""Where a message appears in the transcript: a heading above rendered lines, indented.

Thread replies sit deeper than channel messages, updates say what changed (``✎ updated``), private
messages say whom they are for, a person's Home tab says whose it is, and the shell's own notes are
in parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.local.shell.text import Names

_BUTTON_ROW_RE = re.compile(r"^\[\d+ [^\]]*\](  \[\d+ [^\]]*\])*$")
_GUTTER = "│ "


def changed_lines(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The lines of ``new`` a reader of ``old`` has not seen yet, in order."""
    seen = set(old)
    return [line for line in new if line not in seen]


def channel_label(channel_id: str, names: Names) -> str:
    """``#backups``, or ``DM with carol`` for a direct message (``names`` knows whose DMs)."""
    if channel_id.startswith(("U", "W")):
        return f"DM with {names.user(channel_id)}"
    if channel_id.startswith("D"):
        return f"DM with {names.channels[channel_id]}" if channel_id in names.channels else f"DM {channel_id}"
    return "#" + names.channel(channel_id)


def _framed(heading: str, lines: Sequence[str], indent: int) -> list[str]:
    pad = " " * indent
    return [pad + heading, *(pad + "  " + (_GUTTER + line).rstrip() for line in lines)]


def frame_post(
    lines: Sequence[str],
    *,
    where: str,
    number: int,
    author: str,
    thread_of: int | None = None,
    in_thread: bool = False,
) -> list[str]:
    """A new message in a channel, or a reply (indented) in the thread of message ``thread_of``."""
    if not in_thread:
        return _framed(f"{where} · message {number} · {author}", lines, 0)
    parent = f"the thread of message {thread_of}" if thread_of else "a thread from an earlier session"
    return _framed(f"↳ message {number}, in {parent} ({where}) · {author}", lines, 4)


def frame_update(
    old: Sequence[str], new: Sequence[str], *, where: str, number: int, in_thread: bool = False
) -> list[str]:
    """``✎ updated: message N`` and the lines that changed (all of them if none stayed)."""
    fresh = changed_lines(old, new)
    gone = changed_lines(new, old)
    buttons_gone = [line for line in gone if _BUTTON_ROW_RE.match(line)]
    if buttons_gone:
        fresh.append("(buttons removed: " + "  ".join(buttons_gone) + ")")
    elif not fresh and gone:
        fresh = ["(some lines were removed)"]
    return _framed(f"✎ updated: message {number} ({where})", fresh, 4 if in_thread else 0)


def frame_deleted(*, where: str, number: int, in_thread: bool = False) -> list[str]:
    return _framed(f"🗑 deleted: message {number} ({where})", [], 4 if in_thread else 0)


def frame_private(lines: Sequence[str], *, user: str, author: str, note: str = "") -> list[str]:
    """A message only ``user`` sees (ephemeral, a command's answer, a response_url post)."""
    return _framed(f"🔒 only {user} sees this{note} · {author}", lines, 2)


def frame_home(lines: Sequence[str], *, user: str, author: str) -> list[str]:
    """``user``'s Home tab in the app, as it stands (only they see it)."""
    return _framed(f"⌂ {user}'s Home · {author}", lines, 0)


def frame_form(lines: Sequence[str], *, title: str, user: str) -> list[str]:
    """A modal opened for ``user``; its fields are asked below it, one at a time."""
    return _framed(f"▢ form “{title}” for {user}", lines, 2)


def frame_note(text: str, indent: int = 2) -> list[str]:
    """A line from the shell itself, not from the bot."""
    return [" " * indent + "(" + text + ")"]
