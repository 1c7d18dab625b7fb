"""Build the Bolt ``AsyncApp``.

The app authorizes every request from a result computed once at start-up (one ``auth.test``), so no
listener ever waits on Slack before its ``ack()``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack.listeners import Front, register_listeners

log = logging.getLogger("bot.slack.app")


async def identify_bot(settings: Settings, client: AsyncWebClient) -> AuthorizeResult:
    token = settings.slack_bot_token
    assert token is not None
    me = await client.auth_test()
    return AuthorizeResult(
        enterprise_id=me.get("enterprise_id"),
        team_id=me.get("team_id"),
        bot_token=token.get_secret_value(),
        bot_id=me.get("bot_id"),
        bot_user_id=me.get("user_id"),
    )


def build_app(
    front: Front, client: AsyncWebClient, identity: AuthorizeResult, *, socket_mode: bool = False
) -> AsyncApp:
    """The bot: a configured app with every listener registered."""
    app = configured_app(front.services.settings, client, identity, socket_mode=socket_mode)
    register_listeners(app, front)
    return app


def configured_app(
    settings: Settings, client: AsyncWebClient, identity: AuthorizeResult, *, socket_mode: bool = False
) -> AsyncApp:
    """An app with the bot's configuration and no listeners (the benchmark's bare reference uses
    exactly this, so the two differ only by what the listeners do)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return identity

    secret = settings.slack_signing_secret
    return AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        authorize=authorize,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
    )
