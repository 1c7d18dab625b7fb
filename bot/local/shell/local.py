"""Start and stop everything local mode runs in one process, and report what the bot is busy with.

:func:`local_stack` starts, in order: the fake Slack (in process, on a free loopback port), Redis
(``REDIS_URL`` if set, else an embedded server keeping its data with AOF in the local folder), the
TaurusDB simulator (unless cloud credentials or ``TAURUSDB_ENDPOINT`` are set; its state is kept in
the local folder too), then the production pieces built the production way: ``open_runtime``,
``build_app`` served by ``build_web`` on a loopback port, and the worker's ``run_worker``. It stops
them in reverse order on the way out, whatever happened.

Settings are built from the environment contract (``load_settings`` with the variables' own names),
so the bot under the shell has no local-mode special case: it sees a Slack API URL, a signing secret,
a TaurusDB endpoint and a policy file, as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.app.services import Services
from bot.bootstrap import open_runtime
from bot.config import CloudAuth, Settings, load_settings
from bot.domain.request import State
from bot.local.fake_slack import FakeSlack, sign_request
from bot.local.setup import embedded_redis, simulator
from bot.local.simulator import SimulatorConfig
from bot.slack.app import build_app, identify_bot
from bot.slack.web import build_web
from bot.store import keys
from bot.worker.main import run_worker

log = logging.getLogger("bot.local.shell")

LOCAL_BOT_TOKEN = "xoxb-local-shell"
LOCAL_REGIONS = ("ap-southeast-3", "cn-north-4")
WORKER_STOP_TIMEOUT = 20.0
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
_REQUEST_PREFIX = keys.request("")


@dataclass(frozen=True)
class LocalOptions:
    local_dir: Path
    policy_file: Path
    settings: Settings | None = None  # the environment's; None: read it now
    backup_seconds: float = 4.0
    job_invisible_seconds: float = 1.0
    poll_interval: float = 1.0


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to something Slack sent it (its ``ack``)."""

    status: int
    body: str

    def json(self) -> dict[str, Any] | None:
        if not self.body.strip().startswith("{"):
            return None
        try:
            data = json.loads(self.body)
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Activity:
    """What the bot is busy with, read from Redis."""

    unfinished: list[tuple[str, State]]
    """Requests neither in a final state nor waiting for a person."""
    waiting_for_people: list[str]
    running: int
    """Scheduled work being handled right now."""
    due_now: bool
    """Scheduled work waiting for a free worker."""

    @property
    def idle(self) -> bool:
        """Nothing running and nothing due now (requests may still be in flight, waiting to poll)."""
        return self.running == 0 and not self.due_now

    @property
    def settled(self) -> bool:
        """Every request finished or waiting for a person, and nothing left to do now."""
        return self.idle and not self.unfinished


@dataclass
class LocalStack:
    settings: Settings
    services: Services
    fake: FakeSlack
    events_url: str
    http: aiohttp.ClientSession
    notes: list[str] = field(default_factory=list)
    """What runs where, for the banner."""
    earlier: list[tuple[str, State]] = field(default_factory=list)
    """Requests an earlier session left unfinished (found at start-up)."""
    _final: set[str] = field(default_factory=set)

    async def send(self, body: bytes, content_type: str = FORM) -> Reply:
        """POST ``body`` to the bot's ``/slack/events`` the way Slack does: signed, form-encoded
        (commands, interactions) or JSON (Events API envelopes)."""
        secret = self.settings.slack_signing_secret
        assert secret is not None
        headers = {"Content-Type": content_type, **sign_request(secret.get_secret_value(), body)}
        async with self.http.post(self.events_url, data=body, headers=headers) as response:
            return Reply(response.status, await response.text())

    async def activity(self) -> Activity:
        redis = self.services.redis
        unfinished: list[tuple[str, State]] = []
        waiting: list[str] = []
        async for raw in redis.scan_iter(match=keys.request("*"), count=500):
            request_id = (raw.decode() if isinstance(raw, bytes) else str(raw))[len(_REQUEST_PREFIX) :]
            if request_id in self._final:
                continue
            request = await self.services.store.get(request_id)
            if request is None:
                continue
            if request.state is State.PENDING_APPROVAL:
                waiting.append(request_id)
            elif not request.state.final:
                unfinished.append((request_id, request.state))
            elif request.state is not State.TIMED_OUT:  # a timed-out backup may still finish
                self._final.add(request_id)
        running = await self.services.scheduler.running()
        due_in = await self.services.scheduler.next_due_in()
        return Activity(
            unfinished=sorted(unfinished),
            waiting_for_people=sorted(waiting),
            running=running,
            due_now=due_in is not None and due_in <= 0.05,
        )


def settings_overrides(settings: Settings, options: LocalOptions, *, signing_secret: str) -> dict[str, Any]:
    """The environment contract as local mode sets it. Slack always points at the fake; the policy
    and poll interval are demo values unless the environment (``settings``) sets its own."""
    overrides: dict[str, Any] = {
        "SLACK_BOT_TOKEN": LOCAL_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_APP_TOKEN": None,
    }
    if settings.policy_file is None:
        overrides["BACKUP_POLICY_FILE"] = str(options.policy_file)
    if "poll_interval" not in settings.model_fields_set:
        overrides["BACKUP_POLL_INTERVAL"] = str(options.poll_interval)
    return overrides


def wants_simulator(settings: Settings) -> bool:
    """No cloud credentials and no endpoint of its own: local mode brings the simulator."""
    return settings.cloud_auth is CloudAuth.NONE and not settings.taurusdb_endpoint


@contextlib.asynccontextmanager
async def local_stack(options: LocalOptions, fake: FakeSlack) -> AsyncIterator[LocalStack]:
    """Everything running, for the life of the ``async with``. ``fake`` is started here (observers
    that hook its aiohttp app must be in place before)."""
    environment = options.settings or load_settings()
    options.local_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        await fake.start()
        stack.push_async_callback(fake.stop)
        overrides = settings_overrides(environment, options, signing_secret=secrets.token_hex(16))
        overrides["SLACK_API_URL"] = fake.url
        settings = load_settings(**overrides)
        notes = [f"Slack     a fake Slack in this process ({fake.url})"]

        if settings.redis_url:
            redis_url = settings.redis_url
            notes.append("Redis     REDIS_URL (shared with anything else using that server)")
        else:
            data_dir = (options.local_dir / "redis").resolve()
            redis_url = await stack.enter_async_context(embedded_redis(data_dir))
            notes.append(f"Redis     embedded, data kept in {data_dir} (AOF on)")

        if wants_simulator(settings):
            # Two regions unless the environment names its own: a newcomer sees how a fleet reads
            # (<region>/<name>, and a name present in both regions refused with both choices).
            regions = list(settings.regions) if "huaweicloud_region" in environment.model_fields_set else []
            regions = regions or list(LOCAL_REGIONS)
            config = SimulatorConfig(
                backup_seconds=options.backup_seconds,
                job_invisible_seconds=options.job_invisible_seconds,
                state_file=options.local_dir / "simulator.json",
                regions=regions,
            )
            url = await stack.enter_async_context(simulator(config))
            overrides["HUAWEICLOUD_REGION"] = ",".join(regions)
            settings = load_settings(**overrides, TAURUSDB_ENDPOINT=url)
            notes.append(
                f"TaurusDB  the built-in simulator at {url}, regions {', '.join(regions)}: no cloud "
                f"account, backups take {options.backup_seconds:g} s"
            )
        elif settings.cloud_auth is CloudAuth.NONE:
            notes.append(f"TaurusDB  {settings.cloud_endpoint} (TAURUSDB_ENDPOINT, no credentials)")
        else:
            notes.append(
                f"TaurusDB  {settings.cloud_endpoint} with {settings.cloud_auth.value} credentials: "
                "backups made here are REAL"
            )

        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=True)
        services = runtime.services
        stack.push_async_callback(services.close)

        app = build_app(runtime.front, runtime.slack, await identify_bot(settings, runtime.slack))
        runner = web.AppRunner(build_web(app, services), access_log=None)
        await runner.setup()
        stack.push_async_callback(runtime.after_ack.drain, WORKER_STOP_TIMEOUT)  # after the site stops
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, host="127.0.0.1", port=0)
        await site.start()
        host, port = runner.addresses[0][:2]
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        stack.push_async_callback(http.close)

        local = LocalStack(
            settings=settings,
            services=services,
            fake=fake,
            events_url=f"http://{host}:{port}/slack/events",
            http=http,
            notes=notes,
        )
        local.earlier = (await local.activity()).unfinished

        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(services, stop), name="local-worker")
        stack.push_async_callback(_stop_worker, worker, stop)
        yield local


async def _stop_worker(worker: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Let handlers in flight finish (bounded), then make sure the worker is gone."""
    stop.set()
    done, _ = await asyncio.wait({worker}, timeout=WORKER_STOP_TIMEOUT)
    if not done:
        log.warning("the worker did not stop within %.0f s; cancelling it", WORKER_STOP_TIMEOUT)
        worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
