"""What Slack sends *to* the bot: signature headers, slash-command and interaction bodies, Events API
envelopes (``app_home_opened``), clicks on a Home view, and the trigger IDs they carry."""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.local.fake_slack.identity import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    dm_channel_id,
)

_UNSET_RESPONSE_URL = "https://hooks.slack.invalid/commands/T1/0/unset"  # .invalid never resolves
_trigger_counter = itertools.count(1)


def new_trigger_id() -> str:
    """A unique trigger ID shaped like Slack's (it carries its issue time in milliseconds)."""
    return f"{next(_trigger_counter)}.{int(time.time() * 1000)}.{secrets.token_hex(16)}"


def sign_request(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers Slack would send."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


def _slack_escape(text: str) -> str:
    # Slack's own escaping of what a user typed (``&`` first); the fake stands for Slack, so it
    # does not borrow the bot's.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slash_command_body(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    *,
    command: str = "/backup",
    user_name: str = "user1",
    channel_name: str = "general",
    slack_escape: bool = True,
) -> bytes:
    """A slash command's form body as Slack posts it.

    ``text`` is what the user typed: Slack's ``&``/``<``/``>`` escaping is applied unless
    ``slack_escape`` is false (then pass Slack's own markup, e.g. ``<@U123>``, as it would arrive).
    Without ``response_url`` the body carries an unresolvable one; use ``FakeSlack.response_url()``.
    """
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": _slack_escape(text) if slack_escape else text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or _UNSET_RESPONSE_URL,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urllib.parse.urlencode(fields).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interaction's body as Slack posts it: ``payload=<urlencoded JSON>``."""
    return urllib.parse.urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


# --- interactions -----------------------------------------------------------------------------------


def interaction_envelope(
    kind: str, *, user_id: str, user_name: str, team_id: str = TEAM_ID
) -> dict[str, Any]:
    """What every interaction payload of ``kind`` (``block_actions``, ``view_submission`` …) carries."""
    return {
        "type": kind,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _elements(view: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(block ID, element) for every interactive element of the view's blocks."""
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping):
            continue
        found = block.get("elements") if block.get("type") == "actions" else [block.get("accessory")]
        for element in found or []:
            if isinstance(element, Mapping) and element.get("action_id"):
                yield str(block.get("block_id") or ""), element


def home_block_actions(
    user_id: str,
    view: Mapping[str, Any],
    action_id: str,
    *,
    value: str | None = None,
    choice: Mapping[str, Any] | None = None,
    user_name: str | None = None,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """The ``block_actions`` payload of ``user_id`` pressing ``action_id`` (with ``value``, when
    several share it) on their Home ``view`` as published; ``choice`` adds what a menu picked
    (``{"selected_option": …}``). Like Slack's: ``container.type`` is ``view``, the view is in the
    payload, and there is no channel, message or response_url.

    Raises ``LookupError`` when the view holds no such element: a person cannot press it.
    """
    pressed = next(
        (
            (block_id, element)
            for block_id, element in _elements(view)
            if element.get("action_id") == action_id and (value is None or element.get("value") == value)
        ),
        None,
    )
    if pressed is None:
        raise LookupError(f"the Home view has no element {action_id!r}" + (f" = {value!r}" if value else ""))
    block_id, element = pressed
    action: dict[str, Any] = {
        "type": element.get("type"),
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("text", "value", "style"):
        if key in element:
            action[key] = element[key]
    action.update(choice or {})
    envelope = interaction_envelope(
        "block_actions", user_id=user_id, user_name=user_name or user_id.lower(), team_id=team_id
    )
    return envelope | {
        "container": {"type": "view", "view_id": str(view.get("id", ""))},
        "trigger_id": trigger_id or new_trigger_id(),
        "view": dict(view),
        "actions": [action],
    }


# --- the Events API -----------------------------------------------------------------------------------


def event_envelope(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The ``event_callback`` envelope Slack posts (as JSON) to the bot's Events API URL."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_home_opened_event(
    user_id: str, *, channel: str | None = None, tab: str = "home", view: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``app_home_opened`` event: ``user_id`` opened the app's ``tab`` (``home`` or ``messages``);
    ``view`` is their current Home view, which Slack sends once one was published."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel or dm_channel_id(user_id),
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = dict(view)
    return event


def app_home_opened_body(
    user_id: str,
    *,
    channel: str | None = None,
    tab: str = "home",
    view: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
) -> bytes:
    """An ``app_home_opened`` Events API body as Slack posts it (JSON); sign it with :func:`sign_request`."""
    event = app_home_opened_event(user_id, channel=channel, tab=tab, view=view)
    envelope = event_envelope(
        event,
        team_id=team_id,
        enterprise_id=enterprise_id,
        api_app_id=api_app_id,
        event_id=event_id,
        event_time=event_time,
    )
    return json.dumps(envelope, separators=(",", ":")).encode()
