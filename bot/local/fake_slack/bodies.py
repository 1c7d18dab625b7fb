"""What Slack sends *to* the bot: signature headers, slash-command and interaction bodies, and the
trigger IDs they carry."""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.parse
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.local.fake_slack.identity import APP_ID, TEAM_DOMAIN, TEAM_ID

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
        "token": "fake-verification-token",
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
