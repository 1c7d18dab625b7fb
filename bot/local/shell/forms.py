"""Modals as questions: a view's input blocks → fields, a typed line → the state value Slack would send.

Pure. The shell asks one field at a time; what the reader types is checked the way Slack's client
checks it before a submission ever reaches the app (required fields, lengths, number ranges, e-mail
and URL shapes, dates), then turned into the ``view.state.values[block_id][action_id]`` entry of
that element type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from bot.local.shell.render import block_id_of, render_blocks
from bot.local.shell.text import Names, text_of

TEXT_KINDS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})
SINGLE_CHOICE = frozenset({"static_select", "external_select", "radio_buttons", "overflow"})
MULTI_CHOICE = frozenset({"multi_static_select", "multi_external_select", "checkboxes"})
EXTERNAL = frozenset({"external_select", "multi_external_select"})

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://\S+$")
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Option:
    text: str
    value: str
    raw: Mapping[str, Any] = field(compare=False, hash=False)

    def shown(self, names: Names) -> str:
        description = self.raw.get("description")
        return self.text + (f" — {text_of(description, names)}" if description else "")


@dataclass(frozen=True)
class Problem:
    """Why a typed answer cannot be used (said to the reader, who types again)."""

    message: str


@dataclass(frozen=True)
class FormField:
    block_id: str
    action_id: str
    kind: str
    label: str
    optional: bool
    hint: str
    element: Mapping[str, Any] = field(compare=False, hash=False)

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL

    @property
    def multiple(self) -> bool:
        return self.kind in MULTI_CHOICE or self.kind.startswith("multi_")


StateValue = dict[str, Any]


def title_of(view: Mapping[str, Any], names: Names) -> str:
    return text_of(view.get("title"), names) or "form"


def fields_of(view: Mapping[str, Any], names: Names) -> list[FormField]:
    """The input blocks of a view, in order."""
    found = []
    for block in view.get("blocks") or []:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, Mapping):
            continue
        found.append(
            FormField(
                block_id=block_id_of(block),
                action_id=str(element.get("action_id", "")),
                kind=str(element.get("type", "")),
                label=text_of(block.get("label"), names),
                optional=bool(block.get("optional", False)),
                hint=text_of(block.get("hint"), names) if block.get("hint") else "",
                element=element,
            )
        )
    return found


def display_blocks(view: Mapping[str, Any], names: Names) -> list[str]:
    """What the modal shows besides its inputs (sections, context…)."""
    return render_blocks([b for b in view.get("blocks") or [] if b.get("type") != "input"], names)


def options_of(source: Mapping[str, Any], names: Names) -> list[Option]:
    """Options of an element, or of an options answer (``options`` or ``option_groups``)."""
    raw: list[Any] = list(source.get("options") or [])
    for group in source.get("option_groups") or []:
        raw += list(group.get("options") or [])
    return [
        Option(text=text_of(o.get("text"), names), value=str(o.get("value", "")), raw=o)
        for o in raw
        if isinstance(o, Mapping)
    ]


def default_of(
    form_field: FormField, names: Names, *, current_conversation: str = ""
) -> tuple[str, StateValue] | None:
    """The prefilled answer (shown to the reader, kept on an empty line), if the element has one.
    A conversation picker with ``default_to_current_conversation`` defaults to ``current_conversation``."""
    element, kind = form_field.element, form_field.kind
    if (
        kind == "conversations_select"
        and element.get("default_to_current_conversation")
        and current_conversation
    ):
        shown = "#" + names.channel(current_conversation)
        return shown, {"type": kind, "selected_conversation": current_conversation}
    if kind in TEXT_KINDS and element.get("initial_value") not in (None, ""):
        value = str(element["initial_value"])
        return value, {"type": kind, "value": value}
    if isinstance(element.get("initial_option"), Mapping):
        option = element["initial_option"]
        return text_of(option.get("text"), names), {"type": kind, "selected_option": option}
    if element.get("initial_options"):
        chosen = list(element["initial_options"])
        shown = ", ".join(text_of(o.get("text"), names) for o in chosen)
        return shown, {"type": kind, "selected_options": chosen}
    simple = {
        "users_select": ("initial_user", "selected_user"),
        "conversations_select": ("initial_conversation", "selected_conversation"),
        "channels_select": ("initial_channel", "selected_channel"),
        "datepicker": ("initial_date", "selected_date"),
        "timepicker": ("initial_time", "selected_time"),
    }
    if kind in simple and element.get(simple[kind][0]):
        value = str(element[simple[kind][0]])
        return value, {"type": kind, simple[kind][1]: value}
    return None


def shown_value(value: Mapping[str, Any], names: Names) -> str:
    """A state value as the reader would see it in the field."""
    if isinstance(value.get("selected_option"), Mapping):
        return text_of(value["selected_option"].get("text"), names)
    if isinstance(value.get("selected_options"), list):
        return ", ".join(text_of(o.get("text"), names) for o in value["selected_options"])
    for key in ("selected_user", "selected_conversation", "selected_channel"):
        if value.get(key):
            return (
                ("@" + names.user(value[key])) if key == "selected_user" else "#" + names.channel(value[key])
            )
    for key in ("value", "selected_date", "selected_time", "selected_date_time"):
        if value.get(key) is not None:
            return str(value[key])
    return ""


def empty_value(form_field: FormField) -> StateValue:
    """What Slack sends for a field left empty."""
    kind = form_field.kind
    if kind in TEXT_KINDS:
        return {"type": kind, "value": None}
    if form_field.multiple:
        key = {"multi_users_select": "selected_users", "multi_conversations_select": "selected_conversations"}
        return {"type": kind, key.get(kind, "selected_options"): []}
    key = {
        "users_select": "selected_user",
        "conversations_select": "selected_conversation",
        "channels_select": "selected_channel",
        "datepicker": "selected_date",
        "timepicker": "selected_time",
    }
    return {"type": kind, key.get(kind, "selected_option"): None}


def pick(line: str, options: Sequence[Option]) -> Option | Problem:
    """The option ``line`` names: its number in the list shown, its exact text or value, or the one
    option whose text contains it."""
    wanted = line.strip()
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1]
    lowered = wanted.lower()
    exact = [o for o in options if lowered in (o.text.lower(), o.value.lower())]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [o for o in options if lowered in o.text.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        return Problem(f"no choice matches {wanted!r}")
    return Problem(f"{len(partial)} choices match {wanted!r}: type a number or more of the name")


def answer(
    form_field: FormField,
    line: str,
    *,
    options: Sequence[Option] = (),
    people: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> StateValue | Problem:
    """The state value for what was typed. An empty line keeps the default, or skips an optional
    field. ``options`` are the choices shown (for selects); ``people`` and ``channels`` map names to
    IDs (for user and conversation pickers)."""
    typed = line.strip()
    kind = form_field.kind
    if not typed:
        if form_field.optional:
            return empty_value(form_field)
        return Problem(f"{form_field.label or 'this field'} is required")
    if kind in TEXT_KINDS:
        return _text_value(form_field, line.rstrip("\n") if kind == "plain_text_input" else typed)
    if kind in SINGLE_CHOICE:
        chosen = pick(typed, options)
        return chosen if isinstance(chosen, Problem) else {"type": kind, "selected_option": dict(chosen.raw)}
    if kind in MULTI_CHOICE:
        picked = [pick(part, options) for part in typed.split(",") if part.strip()]
        problems = [p for p in picked if isinstance(p, Problem)]
        if problems:
            return problems[0]
        return {"type": kind, "selected_options": [dict(o.raw) for o in picked if isinstance(o, Option)]}
    if kind in ("users_select", "multi_users_select"):
        return _ids_value(kind, typed, people or {}, "user")
    if kind in ("conversations_select", "channels_select", "multi_conversations_select"):
        return _ids_value(kind, typed, channels or {}, "channel")
    if kind == "datepicker":
        try:
            return {"type": kind, "selected_date": date.fromisoformat(typed).isoformat()}
        except ValueError:
            return Problem("type a date as YYYY-MM-DD")
    if kind == "timepicker":
        try:
            return {"type": kind, "selected_time": time.fromisoformat(typed).strftime("%H:%M")}
        except ValueError:
            return Problem("type a time as HH:MM")
    if kind == "datetimepicker":
        try:
            moment = datetime.fromisoformat(typed).replace(tzinfo=UTC)
        except ValueError:
            return Problem("type a date and time as YYYY-MM-DD HH:MM (UTC)")
        return {"type": kind, "selected_date_time": int(moment.timestamp())}
    return {"type": kind, "value": typed}


def _text_value(form_field: FormField, value: str) -> StateValue | Problem:
    element, kind = form_field.element, form_field.kind
    if kind == "plain_text_input":
        if "min_length" in element and len(value) < int(element["min_length"]):
            return Problem(f"type at least {element['min_length']} characters")
        if "max_length" in element and len(value) > int(element["max_length"]):
            return Problem(f"type at most {element['max_length']} characters")
    elif kind == "email_text_input" and not _EMAIL_RE.match(value):
        return Problem("type an e-mail address")
    elif kind == "url_text_input" and not _URL_RE.match(value):
        return Problem("type a URL starting with http:// or https://")
    elif kind == "number_input":
        if not _NUMBER_RE.match(value) or ("." in value and not element.get("is_decimal_allowed")):
            return Problem("type a number" if element.get("is_decimal_allowed") else "type a whole number")
        number = float(value)
        if "min_value" in element and number < float(element["min_value"]):
            return Problem(f"the smallest allowed is {element['min_value']}")
        if "max_value" in element and number > float(element["max_value"]):
            return Problem(f"the largest allowed is {element['max_value']}")
    return {"type": kind, "value": value}


def _ids_value(kind: str, typed: str, known: Mapping[str, str], what: str) -> StateValue | Problem:
    ids = []
    for part in typed.split(","):
        ref = part.strip().lstrip("@#")
        found = known.get(ref.lower()) or (
            ref if ref[:1] in ("U", "W", "C", "G", "D") and ref.isupper() else ""
        )
        if not found:
            return Problem(f"no {what} called {part.strip()!r}")
        ids.append(found)
    key = {
        "users_select": "selected_user",
        "multi_users_select": "selected_users",
        "conversations_select": "selected_conversation",
        "channels_select": "selected_channel",
        "multi_conversations_select": "selected_conversations",
    }[kind]
    return {"type": kind, key: ids if kind.startswith("multi_") else ids[0]}


def merge_values(
    values: Mapping[str, Mapping[str, StateValue]], updates: Iterable[tuple[FormField, StateValue]]
) -> dict[str, dict[str, StateValue]]:
    """``view.state.values`` with the given answers put in (block ID → action ID → value)."""
    merged = {block: dict(actions) for block, actions in values.items()}
    for form_field, value in updates:
        merged.setdefault(form_field.block_id, {})[form_field.action_id] = value
    return merged
