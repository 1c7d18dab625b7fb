"""Slack messages as terminal text. Pure: Block Kit and mrkdwn in, lines out, no I/O.

What Slack would draw, told in plain lines: mentions, channels and dates become names and their
fallback text, Slack's ``&amp;``/``&lt;``/``&gt;`` escaping is undone, section fields are laid out in two
columns (``Label: value``), context is marked ``›``, dividers are a rule, and every button, menu or
select is shown numbered (``[2 Approve]``) so the reader can press it. The number comes from the
caller (``number``), which keeps this module free of state.

The ``frame_*`` functions put a heading above rendered lines and indent them: thread replies sit
deeper than channel messages, updates say what changed (``✎ updated``), private messages say whom
they are for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Block = Mapping[str, Any]

#: Element types the reader can press in a message (``:click``).
PRESSABLE = frozenset(
    {
        "button",
        "overflow",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "radio_buttons",
        "checkboxes",
        "datepicker",
        "timepicker",
    }
)

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
_BUTTON_ROW_RE = re.compile(r"^\[\d+ [^\]]*\](  \[\d+ [^\]]*\])*$")
_FIELD_COLUMN = 40
_GUTTER = "│ "


@dataclass(frozen=True)
class Names:
    """Who and where IDs stand for: user ID → name, channel ID → name."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


@dataclass(frozen=True)
class Control:
    """Something in a message or a form the reader can press or pick from."""

    kind: str
    action_id: str
    block_id: str
    label: str
    value: str | None = None
    element: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def identity(self) -> tuple[str, str, str, str | None, str]:
        """Same identity in two versions of a message = the same control (it keeps its number)."""
        return (self.kind, self.block_id, self.action_id, self.value, self.label)


Numberer = Callable[[Control], int]


def _no_numbers(control: Control) -> int:
    return 0


# --- text -----------------------------------------------------------------------------------------


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


def _is_label_and_value(obj: Any) -> bool:
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


# --- controls -------------------------------------------------------------------------------------


def block_id_of(block: Block) -> str:
    """The block's ID; Slack gives one to every block that has none, so do we (stable per content)."""
    if block.get("block_id"):
        return str(block["block_id"])
    digest = hashlib.sha1(json.dumps(block, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:5]


def control_of(element: Mapping[str, Any], block_id: str, names: Names) -> Control | None:
    kind = str(element.get("type", ""))
    if kind not in PRESSABLE:
        return None
    if kind == "button":
        label = text_of(element.get("text"), names)
    elif kind == "overflow":
        label = "⋯"
    else:
        initial = element.get("initial_option")
        shown = initial.get("text") if isinstance(initial, Mapping) else element.get("placeholder")
        label = "▾ " + (text_of(shown, names) or kind.replace("_", " "))
    value = element.get("value")
    return Control(
        kind=kind,
        action_id=str(element.get("action_id", "")),
        block_id=block_id,
        label=label,
        value=str(value) if value is not None else None,
        element=element,
    )


def controls_in(blocks: Iterable[Block], names: Names) -> list[Control]:
    """Every pressable element of ``blocks``, in reading order."""
    found: list[Control] = []
    for block in blocks:
        block_id = block_id_of(block)
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements = list(block.get("elements") or [])
        elif block.get("type") == "section" and isinstance(block.get("accessory"), Mapping):
            elements = [block["accessory"]]
        for element in elements:
            if isinstance(element, Mapping) and (control := control_of(element, block_id, names)):
                found.append(control)
    return found


def control_label(control: Control, number: int) -> str:
    """``[2 Approve]``; a link button also shows where it goes."""
    url = control.element.get("url")
    return f"[{number} {control.label}{' ↗ ' + str(url) if url else ''}]"


# --- blocks ---------------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return text.split("\n") if text else []


def _rich_text(element: Any, names: Names) -> str:
    if isinstance(element, Mapping):
        kind = element.get("type")
        if kind == "text":
            return str(element.get("text", ""))
        if kind == "user":
            return "@" + names.user(str(element.get("user_id", "")))
        if kind == "channel":
            return "#" + names.channel(str(element.get("channel_id", "")))
        if kind == "link":
            return str(element.get("text") or element.get("url", ""))
        if kind == "emoji":
            return emojize(f":{element.get('name', '')}:")
        return "".join(_rich_text(e, names) for e in element.get("elements") or [])
    return ""


def render_block(block: Block, names: Names, number: Numberer = _no_numbers) -> list[str]:
    """One block as lines."""
    kind = block.get("type")
    block_id = block_id_of(block)
    if kind == "header":
        return _lines(text_of(block.get("text"), names))
    if kind == "divider":
        return ["───"]
    if kind == "section":
        text = block.get("text")
        if _is_label_and_value(text):
            lines = [field_text(text, names)]
        else:
            lines = _lines(text_of(text, names)) if text else []
        lines += columns([field_text(f, names) for f in block.get("fields") or []])
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            control = control_of(accessory, block_id, names)
            if control is not None:
                lines.append(control_label(control, number(control)))
            elif accessory.get("type") == "image":
                lines.append(f"[image: {accessory.get('alt_text', '')}]")
        return lines
    if kind == "context":
        parts = []
        for element in block.get("elements") or []:
            if isinstance(element, Mapping) and element.get("type") == "image":
                parts.append(f"[{element.get('alt_text', 'image')}]")
            else:
                parts.append(" ".join(text_of(element, names).splitlines()))
        return ["› " + "  ".join(p for p in parts if p)]
    if kind == "actions":
        labels = []
        for element in block.get("elements") or []:
            control = control_of(element, block_id, names) if isinstance(element, Mapping) else None
            if control is not None:
                labels.append(control_label(control, number(control)))
        return ["  ".join(labels)] if labels else []
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "input":
        return [f"[field: {text_of(block.get('label'), names)}]"]
    if kind == "rich_text":
        return _lines(_rich_text(block, names))
    return [f"[{kind} block]"]


def render_blocks(blocks: Iterable[Block], names: Names, number: Numberer = _no_numbers) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        lines += render_block(block, names, number)
    return lines


def render_message(message: Mapping[str, Any], names: Names, number: Numberer = _no_numbers) -> list[str]:
    """What a reader sees of a message: its blocks, or its text when it has none; then attachments."""
    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        lines = render_blocks(blocks, names, number)
    else:
        lines = _lines(mrkdwn(str(message.get("text") or ""), names))
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, Mapping):
            continue
        inner = render_message(
            {
                "text": attachment.get("text") or attachment.get("fallback"),
                "blocks": attachment.get("blocks"),
            },
            names,
            number,
        )
        lines += ["▎ " + line for line in inner]
    return lines


def changed_lines(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """The lines of ``new`` a reader of ``old`` has not seen yet, in order."""
    seen = set(old)
    return [line for line in new if line not in seen]


# --- frames ---------------------------------------------------------------------------------------


def channel_label(channel_id: str, names: Names) -> str:
    """``#backups``, or ``DM with carol`` for a direct message."""
    if channel_id.startswith(("U", "W")):
        return f"DM with {names.user(channel_id)}"
    if channel_id.startswith("D"):
        return f"DM {channel_id}"
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


def frame_form(lines: Sequence[str], *, title: str, user: str) -> list[str]:
    """A modal opened for ``user``; its fields are asked below it, one at a time."""
    return _framed(f"▢ form “{title}” for {user}", lines, 2)


def frame_note(text: str, indent: int = 2) -> list[str]:
    """A line from the shell itself, not from the bot."""
    return [" " * indent + "(" + text + ")"]
