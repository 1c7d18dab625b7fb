"""The web process's HTTP server: ``POST /slack/events`` (Bolt), ``GET /healthz``, ``GET /metrics``."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.app.metrics import render_metrics
from bot.app.services import Services


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
