"""The web process's HTTP server: ``POST /slack/events`` (Bolt) and ``GET /healthz`` on ``$PORT``;
``GET /metrics`` on ``$METRICS_PORT`` when set, or on ``$PORT`` behind ``Authorization: Bearer
$METRICS_TOKEN`` when that is set, and nowhere else.

The public port tells an anonymous caller nothing: ``/healthz`` says ok or not (a bounded write and
read of the bot's own key), a request Slack did not sign gets 401, a malformed one 400, never a
traceback. A client that hangs up mid-request is not an error of ours.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type

from bot.app.metrics import render_metrics
from bot.app.services import Services
from bot.store.connection import probe

log = logging.getLogger("bot.slack.web")

HEALTH_WITHIN = 0.8  # seconds: /healthz answers within about a second whatever Redis does
_MALFORMED = web.json_response({"ok": False, "error": "malformed request"}, status=400)
_UNSIGNED = web.json_response({"ok": False, "error": "invalid request"}, status=401)
# What a client hanging up looks like from here.
_HUNG_UP = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, asyncio.IncompleteReadError)


def _copy(response: web.Response) -> web.Response:
    return web.Response(body=response.body, status=response.status, content_type="application/json")


async def health(services: Services) -> web.Response:
    try:
        await probe(services.redis, within=HEALTH_WITHIN)
    except (TimeoutError, RedisError, OSError):
        return web.json_response({"ok": False}, status=503)
    return web.json_response({"ok": True})


def metrics_handler(
    services: Services, *, token: str | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def metrics(request: web.Request) -> web.StreamResponse:
        if token is not None:
            given = request.headers.get("Authorization", "")
            # (bytes that are not UTF-8 arrive as surrogates: compared as the bytes they were)
            if not hmac.compare_digest(given.encode(errors="surrogateescape"), f"Bearer {token}".encode()):
                return web.json_response({"ok": False}, status=401, headers={"WWW-Authenticate": "Bearer"})
        body = await render_metrics(services.redis)
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    return metrics


def form_fields(raw: str) -> dict[str, str]:
    """``dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))``, field for field (a property test
    holds it to that), in half the time: a field is unquoted only when it holds a ``+`` or a ``%``,
    and parse_qsl's generic checks are left out. A slash command's form is read on every request."""
    fields: dict[str, str] = {}
    for piece in raw.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = urllib.parse.unquote(name)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = urllib.parse.unquote(value)
        fields[name] = value
    return fields


def read_body(raw: str, content_type: str | None) -> Any:
    """A request body as Slack meant it: JSON (events), or a form whose ``payload`` field holds the
    JSON (interactions), or a plain form (slash commands). Bolt's own reader takes any form that
    merely *contains* the word "payload" for an interaction and reads ``/backup create db payload-x``
    as nothing at all; this one looks for the field."""
    if content_type == "application/json" or raw.startswith("{"):
        return json.loads(raw) if raw else {}
    fields = form_fields(raw)
    if "payload" in fields:
        return json.loads(fields["payload"])
    return fields


def bolt_request_of(raw: str, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest | None:
    """The request as Bolt will see it, or None (logged) when Bolt's own code could not read it:
    a body that is not a JSON object (a form's ``payload`` field included), or an object whose
    fields are not of the shapes Bolt's context builder and built-in middleware assume. Those run
    before the guard (:mod:`bot.slack.guard`), which checks everything the bot itself reads."""
    normalized = build_normalized_headers(dict(headers))
    try:
        body = read_body(raw, extract_content_type(normalized))
    except (ValueError, RecursionError) as exc:
        log.info("refused a body that does not parse (%s)", type(exc).__name__)
        return None
    if not isinstance(body, dict):
        log.info("refused a body that is JSON but not an object (%s)", type(body).__name__)
        return None
    if not isinstance(body.get("event", {}), dict):
        log.info("refused an event that is not an object")
        return None
    try:
        # The body is read once, here (Bolt would read it again, and misread some: see read_body);
        # the raw text stays for the signature check.
        bolt_request = AsyncBoltRequest(body="", query=query, headers=normalized)
        bolt_request.raw_body = raw
        bolt_request.body = body
        bolt_request.context = build_async_context(AsyncBoltContext(), body)
        return bolt_request
    except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
        # Bolt reads team, user, channel, enterprise, authorizations and response_urls off the top
        # of any body to build its context; a forged body may give them any shape.
        log.info("refused a body Bolt cannot read (%s)", type(exc).__name__)
        return None


def build_web(app: AsyncApp, services: Services) -> web.Application:
    """The public server (``$PORT``)."""
    settings = services.settings

    async def slack_events(request: web.Request) -> web.StreamResponse:
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12 or not signature.isascii():
            return _copy(_UNSIGNED)  # (a signature that is not ASCII could not even be compared)
        try:
            raw = await request.text()
        except _HUNG_UP:
            log.debug("a client hung up before its request was read")
            return _copy(_MALFORMED)
        except UnicodeDecodeError:
            log.info("refused a request whose body is not text")
            return _copy(_MALFORMED)
        bolt_request = bolt_request_of(raw, request.query_string, request.headers)
        if bolt_request is None:
            return _copy(_MALFORMED)
        try:
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))
        except _HUNG_UP:
            log.debug("a client hung up before its answer was sent")
            return _copy(_MALFORMED)

    async def healthz(_: web.Request) -> web.Response:
        return await health(services)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    if settings.metrics_token is not None and settings.metrics_port is None:
        web_app.router.add_get(
            "/metrics", metrics_handler(services, token=settings.metrics_token.get_secret_value())
        )
    return web_app


def build_health_web(services: Services) -> web.Application:
    """``$PORT`` in Socket Mode: ``/healthz`` (and ``/metrics`` behind ``$METRICS_TOKEN``), no Slack."""
    token = services.settings.metrics_token

    async def healthz(_: web.Request) -> web.Response:
        return await health(services)

    web_app = web.Application()
    web_app.router.add_get("/healthz", healthz)
    if token is not None and services.settings.metrics_port is None:
        web_app.router.add_get("/metrics", metrics_handler(services, token=token.get_secret_value()))
    return web_app


def build_metrics_web(services: Services) -> web.Application:
    """The metrics server (``$METRICS_PORT``): ``/metrics`` (and ``/healthz``) for Prometheus and
    the platform, on a port that is not published to Slack."""
    token = services.settings.metrics_token

    async def healthz(_: web.Request) -> web.Response:
        return await health(services)

    web_app = web.Application()
    web_app.router.add_get(
        "/metrics", metrics_handler(services, token=token.get_secret_value() if token else None)
    )
    web_app.router.add_get("/healthz", healthz)
    return web_app
