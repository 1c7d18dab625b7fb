"""The interaction payloads Slack sends when a person clicks, picks, types or submits. Pure builders.

Shapes follow Slack's documented payloads for ``block_actions``, ``block_suggestion``,
``view_submission``, ``view_closed`` and global ``shortcut``; the shell wraps each in
:func:`bot.local.fake_slack.interaction_body` and signs it like Slack does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot.local.fake_slack import interaction_envelope
from bot.local.shell.render import Control
from bot.local.shell.users import DemoUser

Payload = dict[str, Any]


def action_ts() -> str:
    return f"{time.time():.6f}"


def _common(kind: str, user: DemoUser) -> Payload:
    return interaction_envelope(kind, user_id=user.id, user_name=user.name)


def action(control: Control, choice: Mapping[str, Any] | None = None) -> Payload:
    """The ``actions[0]`` entry for pressing ``control``; ``choice`` adds what was picked
    (``selected_option``, ``selected_user``, ``selected_date``…)."""
    entry: Payload = {
        "type": control.kind,
        "action_id": control.action_id,
        "block_id": control.block_id,
        "action_ts": action_ts(),
    }
    element = control.element
    if control.kind == "button":
        entry["text"] = element.get("text", {"type": "plain_text", "text": control.label})
        if control.value is not None:
            entry["value"] = control.value
        if element.get("style"):
            entry["style"] = element["style"]
    elif element.get("placeholder"):
        entry["placeholder"] = element["placeholder"]
    entry.update(choice or {})
    return entry


def block_actions_in_message(
    *,
    user: DemoUser,
    control: Control,
    channel: str,
    channel_name: str,
    message: Mapping[str, Any],
    ephemeral: bool,
    response_url: str,
    trigger_id: str,
    choice: Mapping[str, Any] | None = None,
) -> Payload:
    """Pressing ``control`` in ``message`` (as it stands, with its ``ts``) in ``channel``."""
    container: Payload = {
        "type": "message",
        "message_ts": str(message.get("ts", "")),
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    payload = _common("block_actions", user) | {
        "container": container,
        "trigger_id": trigger_id,
        "channel": {"id": channel, "name": channel_name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action(control, choice)],
    }
    if not ephemeral:
        payload["message"] = dict(message)
    return payload


def block_actions_in_view(
    *,
    user: DemoUser,
    control: Control,
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    trigger_id: str,
    choice: Mapping[str, Any] | None = None,
) -> Payload:
    """Pressing ``control`` inside an open modal."""
    return _common("block_actions", user) | {
        "container": {"type": "view", "view_id": view.get("id", "")},
        "trigger_id": trigger_id,
        "view": _with_state(view, values),
        "actions": [action(control, choice)],
    }


def block_suggestion(
    *, user: DemoUser, view: Mapping[str, Any], action_id: str, block_id: str, query: str
) -> Payload:
    """An ``external_select`` asking the app for options matching what was typed so far."""
    return _common("block_suggestion", user) | {
        "container": {"type": "view", "view_id": view.get("id", "")},
        "action_id": action_id,
        "block_id": block_id,
        "value": query,
        "view": _with_state(view, {}),
    }


def view_submission(
    *,
    user: DemoUser,
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    trigger_id: str,
    response_urls: Sequence[Mapping[str, Any]] = (),
) -> Payload:
    """Submitting a modal with its inputs as ``view.state.values[block_id][action_id]``;
    ``response_urls`` answer conversation pickers that have ``response_url_enabled``."""
    return _common("view_submission", user) | {
        "trigger_id": trigger_id,
        "view": _with_state(view, values),
        "response_urls": [dict(item) for item in response_urls],
    }


def response_url_entry(*, block_id: str, action_id: str, channel_id: str, response_url: str) -> Payload:
    return {
        "block_id": block_id,
        "action_id": action_id,
        "channel_id": channel_id,
        "response_url": response_url,
    }


def view_closed(*, user: DemoUser, view: Mapping[str, Any]) -> Payload:
    return _common("view_closed", user) | {"view": _with_state(view, {}), "is_cleared": False}


def global_shortcut(*, user: DemoUser, callback_id: str, trigger_id: str) -> Payload:
    return _common("shortcut", user) | {
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "action_ts": action_ts(),
    }


def _with_state(view: Mapping[str, Any], values: Mapping[str, Any]) -> Payload:
    return {**view, "state": {"values": dict(values)}}
