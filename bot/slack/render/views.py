"""Modal views and select options, as pure builders (``views.open`` / ``views.update`` payloads).

The backup form carries the channel it was opened from in ``private_metadata`` (a slash command
knows it; a global shortcut does not, so the form then asks for a channel and Slack returns a
``response_url`` for it). Block and action IDs are stable so inline errors land on the right field.
Every label, hint and error is from the message catalogs, in the language of the person the modal is
for (``lang``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.cloud.models import Instance
from bot.domain.form import REASON_MAX
from bot.domain.lifetimes import Retention
from bot.domain.request import BackupRequest
from bot.i18n import localize, t
from bot.slack.render.lifetimes import keep_choices
from bot.slack.render.text import escape, inert

Block = dict[str, Any]

FORM_CALLBACK = "backup_form"
REJECT_CALLBACK = "reject_reason"
BREAK_GLASS_CALLBACK = "break_glass_reason"
SHORTCUT_CALLBACK = "take_backup"

INSTANCE_BLOCK, INSTANCE_ACTION = "instance", "instance_select"
NAME_BLOCK, NAME_ACTION = "name", "name_input"
DESCRIPTION_BLOCK, DESCRIPTION_ACTION = "description", "description_input"
REFERENCE_BLOCK, REFERENCE_ACTION = "reference", "reference_input"
CHANNEL_BLOCK, CHANNEL_ACTION = "channel", "channel_select"
REASON_BLOCK, REASON_ACTION = "reason", "reason_input"
KEEP_BLOCK, KEEP_ACTION = "keep", "keep_select"
AT_BLOCK, AT_ACTION = "at", "at_picker"

MAX_OPTIONS = 100  # Slack's limit for an options response
REFERENCE_MAX = 200


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": True}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def form_metadata(channel_id: str, response_url: str = "", seal: str = "") -> str:
    return json.dumps({"channel_id": channel_id, "response_url": response_url, "seal": seal})


def backup_form(
    *,
    default_name: str,
    lang: str,
    channel_id: str = "",
    response_url: str = "",
    seal: str = "",
    retention: Retention | None = None,
) -> dict[str, Any]:
    """The backup form. Without a known channel it asks where to post (global shortcut); with one,
    ``seal`` vouches for it (:mod:`bot.slack.seal`). "Keep for" offers the policy's ``retention``."""

    def s(key: str) -> str:
        return t(lang, key)

    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": s("form.intro")}},
        _input(
            INSTANCE_BLOCK,
            s("form.instance"),
            {
                "type": "external_select",
                "action_id": INSTANCE_ACTION,
                "placeholder": _plain(s("form.instance.placeholder")),
                "min_query_length": 0,
            },
        ),
        _input(
            NAME_BLOCK,
            s("form.name"),
            {
                "type": "plain_text_input",
                "action_id": NAME_ACTION,
                "initial_value": default_name,
                "max_length": 64,
            },
            hint=s("form.name.hint"),
        ),
        _input(
            DESCRIPTION_BLOCK,
            s("form.description"),
            {"type": "plain_text_input", "action_id": DESCRIPTION_ACTION, "max_length": 256},
            optional=True,
            hint=s("form.description.hint"),
        ),
        _input(
            REFERENCE_BLOCK,
            s("form.reference"),
            {"type": "plain_text_input", "action_id": REFERENCE_ACTION, "max_length": REFERENCE_MAX},
            optional=True,
            hint=s("form.reference.hint"),
        ),
    ]
    blocks += _later_fields(lang, retention or Retention())
    if not channel_id:
        blocks.append(
            _input(
                CHANNEL_BLOCK,
                s("form.channel"),
                {
                    "type": "conversations_select",
                    "action_id": CHANNEL_ACTION,
                    "default_to_current_conversation": True,
                    "response_url_enabled": True,
                    "filter": {"include": ["public", "private", "im"], "exclude_bot_users": True},
                },
            )
        )
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": _plain(s("form.title")),
        "submit": _plain(s("form.submit")),
        "close": _plain(s("form.close")),
        "private_metadata": form_metadata(channel_id, response_url, seal),
        "blocks": blocks,
    }


def _later_fields(lang: str, retention: Retention) -> list[Block]:
    """How long to keep it, and (optionally) when to start it."""
    choices = keep_choices(lang, longest=retention.longest, default=retention.default)
    options = [{"text": _plain(label), "value": value or "default"} for value, label in choices]
    keep = _input(
        KEEP_BLOCK,
        t(lang, "form.keep.label"),
        {"type": "static_select", "action_id": KEEP_ACTION, "options": options, "initial_option": options[0]},
        hint=t(lang, "form.keep.hint"),
    )
    at = _input(
        AT_BLOCK,
        t(lang, "form.at.label"),
        {"type": "datetimepicker", "action_id": AT_ACTION},
        optional=True,
        hint=t(lang, "form.at.hint"),
    )
    return [keep, at]


def reject_form(request: BackupRequest, *, lang: str, seen: tuple[str, str] | None = None) -> dict[str, Any]:
    """Reject with an optional reason, in the language of the approver who clicked Reject. ``seen``
    is the message whose button opened it: the decision checks it shows this request."""

    def s(key: str) -> str:
        return t(lang, key)

    intro = t(
        lang,
        "reject.intro",
        name=f"`{escape(request.backup_name)}`",
        instance=inert(request.instance_name or request.instance_ref),
        requester=f"<@{request.user_id}>",
    )
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "title": _plain(s("reject.title")),
        "submit": _plain(s("reject.submit")),
        "close": _plain(s("reject.close")),
        "private_metadata": json.dumps(
            {"request_id": request.id, "channel_id": seen[0] if seen else "", "ts": seen[1] if seen else ""}
        ),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            _input(
                REASON_BLOCK,
                s("reject.reason"),
                {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
                optional=True,
            ),
        ],
    }


def break_glass_form(
    request: BackupRequest, *, lang: str, seen: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Start one's own pending request at once: the reason is required, and becomes public."""
    intro = t(
        lang,
        "break_glass.intro",
        name=f"`{escape(request.backup_name)}`",
        instance=inert(request.instance_name or request.instance_ref),
    )
    return {
        "type": "modal",
        "callback_id": BREAK_GLASS_CALLBACK,
        "title": _plain(t(lang, "break_glass.title")),
        "submit": _plain(t(lang, "break_glass.submit")),
        "close": _plain(t(lang, "break_glass.close")),
        "private_metadata": json.dumps(
            {"request_id": request.id, "channel_id": seen[0] if seen else "", "ts": seen[1] if seen else ""}
        ),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            _input(
                REASON_BLOCK,
                t(lang, "break_glass.reason"),
                {"type": "plain_text_input", "action_id": REASON_ACTION, "max_length": 256},
                hint=t(lang, "break_glass.hint"),
            ),
        ],
    }


def instance_options(
    instances: Sequence[Instance], query: str, *, lang: str, show_region: bool | None = None
) -> list[dict[str, Any]]:
    """Options for the instance select: ACTIVE instances only, filtered by what was typed
    (name, ``<region>/<name>`` or ID, case-insensitive), names first. ``show_region``: the bot
    serves several regions (``Settings.multi_region``), so each is shown as ``<region>/<name>`` —
    even while only one region's instances are cached (another could not be listed). None (callers
    that do not say): as the instances' own regions tell."""
    needle = query.strip().lower()
    several = len({i.region for i in instances}) > 1 if show_region is None else show_region

    def label(i: Instance) -> str:
        return f"{i.region}/{i.name}" if several and i.region else i.name

    matches = [
        i
        for i in instances
        if i.selectable and (not needle or needle in label(i).lower() or needle in i.id.lower())
    ]
    matches.sort(key=lambda i: (not i.name.lower().startswith(needle), label(i).lower()))
    options = []
    for instance in matches[:MAX_OPTIONS]:
        version = instance.datastore.version if instance.datastore and instance.datastore.version else "?"
        engine = t(lang, "option.engine", version=version)
        description = t(lang, "option.description", status=instance.status, engine=engine)
        options.append(
            {
                "text": _plain(label(instance)[:75]),
                "value": instance.id,
                "description": _plain(description[:75]),
            }
        )
    return options


def submitted_values(state: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The form's values by block id (selected option value, typed text or channel), from a view's
    ``state.values``. Anything that is not text where text belongs reads as empty."""
    values: dict[str, str] = {}
    for block_id, actions in state.items():
        for element in actions.values():
            kind = element.get("type")
            if kind in ("external_select", "static_select"):
                option = element.get("selected_option")
                raw = option.get("value") if isinstance(option, dict) else None
            elif kind == "conversations_select":
                raw = element.get("selected_conversation")
            elif kind == "datetimepicker":
                moment = element.get("selected_date_time")
                raw = f"@{moment}" if isinstance(moment, int) and not isinstance(moment, bool) else None
            else:
                raw = element.get("value")
            values[block_id] = raw if isinstance(raw, str) else ""
    return values


def picked_label(state: Mapping[str, Mapping[str, Mapping[str, Any]]], block_id: str) -> str:
    """The label of the option picked in a select (what the person saw), "" when there is none."""
    for element in state.get(block_id, {}).values():
        option = element.get("selected_option")
        text = option.get("text") if isinstance(option, dict) else None
        label = text.get("text") if isinstance(text, dict) else None
        if isinstance(label, str):
            return label[:100]
    return ""


def field_errors(errors: Mapping[str, str], *, lang: str) -> dict[str, str]:
    """``response_action: errors`` for the modal: each problem said in ``lang``, within Slack's limit."""
    return {block: localize(problem, lang)[:2000] for block, problem in errors.items()}


def notice(text: str, *, lang: str) -> dict[str, Any]:
    """A modal that only says something (e.g. a refusal to someone who used the shortcut)."""
    return {
        "type": "modal",
        "title": _plain(t(lang, "form.title")),
        "close": _plain(t(lang, "form.close")),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
    }
