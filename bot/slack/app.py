"""Build the Bolt ``AsyncApp`` and serve it over HTTP (``POST /slack/events``, ``GET /healthz``,
``GET /metrics``).

The app authorizes every request from a result computed once at start-up (one ``auth.test``), so no
listener ever waits on Slack before its ``ack()``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.observability import render_metrics
from bot.services import Services
from bot.slack.listeners import register_listeners

log = logging.getLogger("bot.slack.app")


async def identify_bot(services: Services) -> AuthorizeResult:
    token = services.settings.slack_bot_token
    assert token is not None
    me = await services.slack.auth_test()
    return AuthorizeResult(
        enterprise_id=me.get("enterprise_id"),
        team_id=me.get("team_id"),
        bot_token=token.get_secret_value(),
        bot_id=me.get("bot_id"),
        bot_user_id=me.get("user_id"),
    )


def build_app(services: Services, identity: AuthorizeResult, *, socket_mode: bool = False) -> AsyncApp:
    """The bot: a configured app with every listener registered."""
    app = configured_app(services, identity, socket_mode=socket_mode)
    register_listeners(app, services)
    return app


def configured_app(services: Services, identity: AuthorizeResult, *, socket_mode: bool = False) -> AsyncApp:
    """An app with the bot's configuration and no listeners (the benchmark's bare reference uses
    exactly this, so the two differ only by what the listeners do)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return identity

    secret = services.settings.slack_signing_secret
    app = AsyncApp(
        client=services.slack,
        signing_secret=secret.get_secret_value() if secret else None,
        authorize=authorize,
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=True,
        url_verification_enabled=True,
    )
    return app


def build_web(app: AsyncApp, services: Services) -> web.Application:
    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        try:
            await services.redis.ping()
        except Exception as exc:
            return web.json_response({"ok": False, "redis": f"unreachable: {type(exc).__name__}"}, status=503)
        return web.json_response({"ok": True, "redis": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        body = await render_metrics(services.redis, services.project_id)
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app
