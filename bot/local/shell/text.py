"""Slack's text as terminal text. Pure: mrkdwn and text objects in, plain strings out.

Mentions, channels and dates become names and their fallback text, Slack's ``&amp;``/``&lt;``/``&gt;``
escaping is undone, bold markers are dropped and the emoji the bot uses are drawn; a section
field ``*Label*\nvalue`` reads ``Label: value``, and fields sit two to a line as Slack lays them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_EMOJI = {
    "alarm_clock": "⏰",
    "ballot_box_with_check": "☑️",
    "bell": "🔔",
    "eyes": "👀",
    "gear": "⚙️",
    "heavy_check_mark": "✔️",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "inbox_tray": "📥",
    "information_source": "ℹ️",
    "lock": "🔒",
    "mag": "🔍",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "raised_hand": "✋",
    "rocket": "🚀",
    "tada": "🎉",
    "warning": "⚠️",
    "wave": "👋",
    "white_check_mark": "✅",
    "x": "❌",
}
_EMOJI_RE = re.compile(r":([a-z0-9_+-]+):")
_MARKUP_RE = re.compile(r"<([^<>\n]+)>")
_BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_LABELLED_RE = re.compile(r"^\*([^*\n]+)\*\s*\n(.*)$", re.DOTALL)
_FIELD_COLUMN = 40


@dataclass(frozen=True)
class Names:
    """Who and where IDs stand for: user ID → name, channel ID → name."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


def emojize(text: str) -> str:
    """``:white_check_mark:`` → ``✅`` for the emoji the bot uses; others stay as typed."""
    return _EMOJI_RE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)


def unescape(text: str) -> str:
    """Undo Slack's escaping (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _markup(inner: str, names: Names) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or names.user(target[1:]))
    if target.startswith("#"):
        return "#" + (label or names.channel(target[1:]))
    if target.startswith("!subteam^"):
        return label or "@" + target.removeprefix("!subteam^")
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!"):
        return "@" + (label or target[1:])
    return f"{label} ({target})" if label else target


def _prose(text: str) -> str:
    """Bold markers dropped and emoji drawn, outside inline code."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = emojize(_BOLD_RE.sub(r"\1", parts[i]))
    return "`".join(parts)


def mrkdwn(text: str, names: Names) -> str:
    """Slack mrkdwn → readable text (code blocks keep their content, fences dropped)."""
    text = _MARKUP_RE.sub(lambda m: _markup(m.group(1), names), text)
    pieces = text.split("```")
    if len(pieces) == 1:
        return unescape(_prose(text))
    shown = []
    for i, piece in enumerate(pieces):
        piece = piece.strip("\n")
        if piece:
            shown.append(piece if i % 2 else _prose(piece))
    return unescape("\n".join(shown))


def text_of(obj: Any, names: Names) -> str:
    """A Block Kit text object (``plain_text`` or ``mrkdwn``), or a bare string, as text."""
    if isinstance(obj, str):
        return mrkdwn(obj, names)
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        return emojize(raw) if obj.get("emoji", True) else raw
    return mrkdwn(raw, names)


def field_text(obj: Any, names: Names) -> str:
    """A section field on one line: ``*Label*\\nvalue`` → ``Label: value``."""
    raw = obj.get("text", "") if isinstance(obj, Mapping) else str(obj)
    if isinstance(obj, Mapping) and obj.get("type") == "mrkdwn" and (m := _LABELLED_RE.match(str(raw))):
        value = " ".join(line.strip() for line in mrkdwn(m.group(2), names).splitlines() if line.strip())
        return f"{mrkdwn(m.group(1), names)}: {value}"
    return " ".join(line.strip() for line in text_of(obj, names).splitlines() if line.strip())


def is_label_and_value(obj: Any) -> bool:
    """``*Label*\\nvalue`` with a one-line value: shown as one ``Label: value`` line."""
    if not isinstance(obj, Mapping) or obj.get("type") != "mrkdwn":
        return False
    match = _LABELLED_RE.match(str(obj.get("text", "")))
    return match is not None and "\n" not in match.group(2).strip()


def columns(cells: Sequence[str], width: int = _FIELD_COLUMN) -> list[str]:
    """Cells two per line, the left one padded, as Slack lays out section fields."""
    lines = []
    for i in range(0, len(cells), 2):
        left, right = cells[i], cells[i + 1] if i + 1 < len(cells) else ""
        lines.append(left + " " * max(3, width - len(left)) + right if right else left)
    return lines
