"""Entry points.

python -m bot              all-in-one: Socket Mode when SLACK_APP_TOKEN is set, HTTP otherwise,
                           with the worker in the same process; local shell mode with no Slack
                           credentials at all
python -m bot web          HTTP only (Procfile ``web``): POST /slack/events, GET /healthz on $PORT
python -m bot worker       scheduler consumer, poller and notifier (Procfile ``worker``)
python -m bot simulator    the TaurusDB + IAM simulator (``--port N``, ``--host``)
python -m bot shell        the local Slack shell (same as ``python -m bot`` without Slack credentials)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot.config import ConfigError, Settings, load_settings
from bot.local.embedded_redis import EmbeddedRedis
from bot.observability import configure_logging
from bot.services import Services, open_services

log = logging.getLogger("bot")

LOCAL_DIR = Path(os.environ.get("BACKUP_BOT_LOCAL_DIR", ".local"))


def _configure_logging() -> None:
    """JSON lines for the deployed processes (set LOG_FORMAT=text for plain lines)."""
    configure_logging(
        os.environ.get("LOG_LEVEL", "INFO"), as_json=os.environ.get("LOG_FORMAT", "json") != "text"
    )


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.asynccontextmanager
async def _redis_url(settings: Settings, *, embedded_ok: bool) -> AsyncIterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    if not embedded_ok:
        raise ConfigError(
            "invalid configuration:\n  REDIS_URL: required for separate web and worker processes"
        )
    server = EmbeddedRedis(LOCAL_DIR / "redis", appendonly=True)
    await asyncio.to_thread(server.start)
    log.warning(
        "REDIS_URL is not set: using an embedded server at %s (data in %s)", server.url, server.data_dir
    )
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


async def _serve_http(services: Services, stop: asyncio.Event) -> None:
    from bot.slack.app import build_app, build_web, identify_bot

    if services.settings.slack_signing_secret is None:
        raise ConfigError("invalid configuration:\n  SLACK_SIGNING_SECRET: required in HTTP mode")
    app = build_app(services, await identify_bot(services))
    runner = web.AppRunner(build_web(app, services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host="0.0.0.0", port=services.settings.port)
    await site.start()
    log.info("listening for Slack on :%d/slack/events", services.settings.port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def _serve_socket_mode(services: Services, stop: asyncio.Event) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.slack.app import build_app, identify_bot

    token = services.settings.slack_app_token
    assert token is not None
    app = build_app(services, await identify_bot(services), socket_mode=True)
    handler = AsyncSocketModeHandler(app, token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected to Slack over Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


Body = Callable[[Services, asyncio.Event], Awaitable[None]]


async def _serve(body: Body, *, with_cloud: bool, embedded_redis_ok: bool) -> None:
    """Load settings, open the services, run ``body`` until SIGINT/SIGTERM, close everything."""
    settings = load_settings()
    stop = _stop_event()
    async with _redis_url(settings, embedded_ok=embedded_redis_ok) as url:
        services = await open_services(settings, redis_url=url, with_cloud=with_cloud)
        try:
            await body(services, stop)
        finally:
            await services.close()


async def _worker_body(services: Services, stop: asyncio.Event) -> None:
    from bot.worker.main import run_worker

    await run_worker(services, stop)


async def _all_in_one_body(services: Services, stop: asyncio.Event) -> None:
    front = _serve_socket_mode if services.settings.slack_app_token else _serve_http
    await asyncio.gather(front(services, stop), _worker_body(services, stop))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "simulator":
        from bot.local.simulator.cli import main as simulator_main

        return simulator_main(args[1:])
    _configure_logging()
    try:
        if command == "web":
            asyncio.run(_serve(_serve_http, with_cloud=False, embedded_redis_ok=False))
        elif command == "worker":
            asyncio.run(_serve(_worker_body, with_cloud=True, embedded_redis_ok=False))
        elif command == "shell" or (command == "" and not os.environ.get("SLACK_BOT_TOKEN")):
            from bot.local.shell import main as shell_main

            return shell_main(args[1:] if command == "shell" else [])
        elif command == "":
            asyncio.run(_serve(_all_in_one_body, with_cloud=True, embedded_redis_ok=True))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 78  # EX_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
