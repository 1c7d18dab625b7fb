"""Assemble a worker: the scheduler's runner with one handler per kind of work."""

from __future__ import annotations

import asyncio

from bot.services import Services
from bot.store.scheduler import Runner
from bot.worker.flow import RequestFlow
from bot.worker.lookups import Lookups
from bot.worker.poller import Poller
from bot.worker.slack_out import SlackOut


def build_runner(services: Services, *, concurrency: int = 16) -> Runner:
    assert services.cloud is not None, "a worker needs the cloud client"
    settings = services.settings
    slack = SlackOut(services.slack)
    flow = RequestFlow(
        store=services.store,
        scheduler=services.scheduler,
        cloud=services.cloud,
        slack=slack,
        project_id=services.project_id,
        poll_interval=settings.poll_interval,
    )
    poller = Poller(
        store=services.store,
        scheduler=services.scheduler,
        cloud=services.cloud,
        slack=slack,
        project_id=services.project_id,
        interval=settings.poll_interval,
        timeout=settings.poll_timeout,
    )
    lookups = Lookups(services.cloud)
    return Runner(
        services.scheduler,
        {"req": flow.advance, "poll": poller.tick, "lookup": lookups.answer},
        # A short lease kept alive by heartbeats: a killed worker's work is back within ~10 s, while
        # a slow create (ambiguity checks, retries) may take a minute without being cut off.
        lease_seconds=10.0,
        handler_timeout=120.0,
        heartbeat=True,
        concurrency=concurrency,
        idle_sleep=min(0.5, settings.poll_interval),
    )


async def run_worker(services: Services, stop: asyncio.Event) -> None:
    await build_runner(services).run_forever(stop)
