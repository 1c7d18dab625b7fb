"""Block Kit as terminal lines. Pure: blocks and messages in, lines out, no I/O.

Section fields are laid out in two columns, context is marked ``›``, dividers are a rule, and every
button, menu or select is shown numbered (``[2 Approve]``) so the reader can press it. The number
comes from the caller (``number``), which keeps this module free of state. Text inside the blocks
is read by :mod:`bot.local.shell.text`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.local.shell.text import Names, columns, emojize, field_text, is_label_and_value, mrkdwn, text_of

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
        if is_label_and_value(text):
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
