"""Build a production process and run it: open the Redis client, the Slack client and (for workers)
the TaurusDB client from :class:`~bot.config.Settings`, assemble the services, serve until SIGTERM,
close everything. One serve loop for every entry point (``web``, ``worker``, all-in-one, Socket Mode).

Nothing here starts a simulator or an embedded Redis: the caller passes the URLs to use
(:mod:`bot.__main__` asks :mod:`bot.local` for them in local setups).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.metrics import cloud_call_counter, register_projects
from bot.app.services import Services
from bot.cloud.factory import open_fleet
from bot.config import CloudAuth, ConfigError, Settings
from bot.domain.policy import Policy
from bot.domain.policy_file import PolicyError, load_policy
from bot.slack.after_ack import AfterAck
from bot.slack.app import build_app, identify_bot
from bot.slack.client import SLACK_TIMEOUT, build_web_client
from bot.slack.directory import SlackDirectory
from bot.slack.listeners import Front
from bot.slack.notifier import SlackNotifier
from bot.slack.respond import Responder
from bot.slack.socket_mode import SocketMode, Stopped, unless_stopped
from bot.slack.web import build_health_web, build_metrics_web, build_web
from bot.store.connection import open_redis, warm
from bot.store.counters import Counters
from bot.store.pacing import Pacing
from bot.worker.main import run_worker

log = logging.getLogger("bot")


def policy_from(settings: Settings) -> Policy:
    """The policy file, or the open default; a malformed file stops start-up naming line and problem."""
    if settings.policy_file is None:
        return Policy.open_default()
    try:
        return load_policy(settings.policy_file)
    except PolicyError as exc:
        raise ConfigError(f"invalid configuration:\n  BACKUP_POLICY_FILE: {exc}") from None


@dataclass
class Runtime:
    """A running process's parts: the services, and the Slack pieces the web side needs."""

    services: Services
    slack: AsyncWebClient
    responder: Responder
    after_ack: AfterAck = field(default_factory=AfterAck)  # the listeners' work after their answers

    @property
    def front(self) -> Front:
        return Front(self.services, self.responder, self.after_ack)


async def open_runtime(
    settings: Settings, *, redis_url: str, with_cloud: bool, cloud_endpoint: str | None = None
) -> Runtime:
    """Everything a process holds for its life. ``cloud_endpoint`` overrides the configured TaurusDB
    endpoint (local setups pass the simulator's URL)."""
    policy = policy_from(settings)
    redis = await open_redis(redis_url)  # a single server or a cluster, told apart here
    await warm(redis)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT))
    slack = build_web_client(settings, Pacing(redis), session=session)
    responder = Responder(session, api_url=settings.slack_api_url)
    fleet = None
    counters = Counters(redis)
    if with_cloud:
        if settings.cloud_auth is CloudAuth.NONE:
            endpoint = cloud_endpoint or settings.cloud_endpoint
            log.warning("NO CLOUD CREDENTIALS: talking to the TaurusDB simulator at %s", endpoint)
        fleet = await open_fleet(
            settings, endpoint_override=cloud_endpoint, call_hook=cloud_call_counter(counters)
        )
        await register_projects(redis, fleet)
    services = Services.assemble(
        settings,
        redis,
        policy,
        notifier=SlackNotifier(slack, responder),
        directory=SlackDirectory(slack),
        fleet=fleet,
    )
    services.closers.append(session.close)
    if fleet is not None:
        services.closers.append(fleet.aclose)
    return Runtime(services, slack, responder)


def settle_heap() -> None:
    """Once everything a process holds for its life is built: collect, then freeze what is left (the
    modules, the models' schemas, the clients) out of the collector's reach. Python's full
    collections otherwise walk all of it again every so often, a pause of tens of milliseconds in
    the middle of a burst of requests; after this they walk only what requests left behind."""
    gc.collect()
    gc.freeze()


def stop_event() -> asyncio.Event:
    """Set by SIGINT or SIGTERM, at any moment from now on: every wait of a serve loop races it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


# An HTTP request still running when we stop may finish within this (Slack wants its ack in 3 s).
SHUTDOWN_TIMEOUT = 3.0


async def _site(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    await web.TCPSite(runner, host=host, port=port).start()
    return runner


@contextlib.asynccontextmanager
async def _serving(
    stop: asyncio.Event, runtime: Runtime, *sites: web.Application | None
) -> AsyncIterator[None]:
    """Serve the sites (``$PORT`` first, then ``$METRICS_PORT``) and keep Redis's clock in sync while
    the block runs."""
    settings = runtime.services.settings
    ports = [settings.port, settings.metrics_port]
    runners = [
        await _site(app, port) for app, port in zip(sites, ports, strict=False) if app is not None and port
    ]
    clock = asyncio.create_task(runtime.services.clock.keep_synced(stop))
    try:
        yield
    finally:
        clock.cancel()
        await asyncio.gather(clock, return_exceptions=True)
        for runner in reversed(runners):
            await runner.cleanup()
        # what listeners still do after their answers (a modal opened, a reply sent) may finish too
        await runtime.after_ack.drain(SHUTDOWN_TIMEOUT)


def _metrics_site(runtime: Runtime) -> web.Application | None:
    return build_metrics_web(runtime.services) if runtime.services.settings.metrics_port else None


async def serve_http(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.services.settings
    if settings.slack_signing_secret is None:
        raise ConfigError("invalid configuration:\n  SLACK_SIGNING_SECRET: required in HTTP mode")
    try:
        identity = await unless_stopped(stop, identify_bot(settings, runtime.slack))
        await unless_stopped(stop, runtime.services.clock.sync())
    except Stopped:
        return
    app = build_app(runtime.front, runtime.slack, identity)
    log.info("listening for Slack on :%d/slack/events", settings.port)
    async with _serving(stop, runtime, build_web(app, runtime.services), _metrics_site(runtime)):
        await stop.wait()


async def serve_socket_mode(runtime: Runtime, stop: asyncio.Event) -> None:
    """Socket Mode; ``/healthz`` on ``$PORT`` from the start (nothing of Slack's reaches it, but
    platforms probe it, also while we connect). A token Slack refuses stops us with a ConfigError."""
    settings = runtime.services.settings
    token = settings.slack_app_token
    assert token is not None
    async with _serving(stop, runtime, build_health_web(runtime.services), _metrics_site(runtime)):
        log.info("connecting to Slack over Socket Mode; /healthz on :%d", settings.port)
        try:
            identity = await unless_stopped(stop, identify_bot(settings, runtime.slack))
            await unless_stopped(stop, runtime.services.clock.sync())
        except Stopped:
            return
        app = build_app(runtime.front, runtime.slack, identity, socket_mode=True)
        await SocketMode(app, token.get_secret_value()).run(stop)


async def serve_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    await run_worker(runtime.services, stop)


async def serve_all_in_one(runtime: Runtime, stop: asyncio.Event) -> None:
    front = serve_socket_mode if runtime.services.settings.slack_app_token else serve_http

    async def part(body: Body) -> None:
        try:
            await body(runtime, stop)
        finally:
            stop.set()  # one half giving up (a refused token, say) stops the other, which drains

    results = await asyncio.gather(part(front), part(serve_worker), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


Body = Callable[[Runtime, asyncio.Event], Awaitable[None]]


async def serve(
    body: Body,
    settings: Settings,
    *,
    redis_url: str,
    with_cloud: bool,
    cloud_endpoint: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Open the runtime, run ``body`` until SIGINT/SIGTERM (or ``stop``, when the caller made it
    earlier with :func:`stop_event`), close everything."""
    stop = stop or stop_event()
    if stop.is_set():
        return
    runtime = await open_runtime(
        settings, redis_url=redis_url, with_cloud=with_cloud, cloud_endpoint=cloud_endpoint
    )
    settle_heap()
    try:
        await body(runtime, stop)
    finally:
        await runtime.services.close()
