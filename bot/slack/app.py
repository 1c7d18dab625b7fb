"""Build the Bolt ``AsyncApp``.

The app authorizes every request from a result computed once at start-up (one ``auth.test``), so no
listener ever waits on Slack before its ``ack()``; the same answer says which workspace (or
Enterprise org) the bot is installed in, and the guard middleware takes requests from it alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from bot.logs import pinned
from bot.slack.guard import Guard, Workspace
from bot.slack.listeners import Front, register_listeners

log = logging.getLogger("bot.slack.app")

# auth.test answers about the bot token that no retry can change.
TOKEN_REFUSALS = {
    "invalid_auth": "Slack does not know it (revoked, regenerated, or another app's)",
    "not_authed": "no token reached Slack",
    "token_revoked": "it was revoked",
    "token_expired": "it expired",
    "account_inactive": "the app or its workspace is no longer active",
    "not_allowed_token_type": "it is not a bot token (xoxb-…)",
}


@dataclass(frozen=True)
class Identity:
    """Who the bot is (its token's ``auth.test``) and the workspace it takes requests from."""

    authorized: AuthorizeResult
    workspace: Workspace


async def identify_bot(settings: Settings, client: AsyncWebClient) -> Identity:
    token = settings.slack_bot_token
    assert token is not None
    try:
        me = await client.auth_test()
    except SlackApiError as exc:
        data = exc.response.data
        code = str(data.get("error") or "") if isinstance(data, dict) else ""
        if code in TOKEN_REFUSALS:  # no retry can change these: stop, as a bad setting does
            raise ConfigError(
                f"invalid configuration:\n  SLACK_BOT_TOKEN: Slack refused it ({code}): "
                f"{TOKEN_REFUSALS[code]}. Copy the Bot User OAuth Token from the app's OAuth & "
                "Permissions page"
            ) from None
        raise
    team_id, enterprise_id = str(me.get("team_id") or ""), str(me.get("enterprise_id") or "")
    authorized = AuthorizeResult(
        enterprise_id=enterprise_id or None,
        team_id=team_id or None,
        bot_token=token.get_secret_value(),
        bot_id=me.get("bot_id"),
        bot_user_id=me.get("user_id"),
    )
    return Identity(
        authorized, Workspace(team_id, enterprise_id, org_wide=bool(me.get("is_enterprise_install")))
    )


def build_app(
    front: Front, client: AsyncWebClient, identity: Identity, *, socket_mode: bool = False
) -> AsyncApp:
    """The bot: a configured app, its guard (well-formed requests from our workspace only) and every
    listener."""
    app = configured_app(front.services.settings, client, identity, socket_mode=socket_mode)
    app.middleware(Guard(identity.workspace))
    register_listeners(app, front)
    return app


def configured_app(
    settings: Settings, client: AsyncWebClient, identity: Identity, *, socket_mode: bool = False
) -> AsyncApp:
    """An app with the bot's configuration and no listeners (the benchmark's bare reference uses
    exactly this, so the two differ only by what the listeners do)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return identity.authorized

    secret = settings.slack_signing_secret
    return AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        authorize=authorize,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
        # Bolt answers with what ack() set once the listener returns; the bot's listeners return at
        # their ack() and go on in a task of their own (bot.slack.after_ack)
        process_before_response=True,
        logger=pinned("slack_bolt.AsyncApp"),  # its debug lines are built only when they are logged
    )
