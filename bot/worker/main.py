"""Assemble a worker: the scheduler's runner with one handler per kind of work."""

from __future__ import annotations

import asyncio

from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.store.scheduler import Runner
from bot.worker.flow import RequestFlow
from bot.worker.housekeeping import Housekeeping, groups_key
from bot.worker.lookups import Lookups
from bot.worker.poller import Poller
from bot.worker.slack_out import SlackOut


def build_runner(services: Services, *, concurrency: int = 16) -> Runner:
    assert services.cloud is not None, "a worker needs the cloud client"
    settings = services.settings
    slack = SlackOut(services.slack)
    languages = UserLanguages.of(services)
    flow = RequestFlow(services, slack, services.cloud, languages)
    poller = Poller(
        store=services.store,
        scheduler=services.scheduler,
        cloud=services.cloud,
        slack=slack,
        project_id=services.project_id,
        interval=settings.poll_interval,
        timeout=settings.poll_timeout,
    )
    chores = Housekeeping(services, services.cloud)
    return Runner(
        services.scheduler,
        {
            "req": flow.advance,
            "expire": flow.expire,
            "poll": poller.tick,
            "lookup": Lookups(services.cloud, languages).answer,
            "locale": languages.fill,
            "instances": chores.refresh_instances,
            "groups": chores.sync_groups,
            "auditpost": chores.post_audit,
        },
        # A short lease kept alive by heartbeats: a killed worker's work is back within ~10 s, while
        # a slow create (ambiguity checks, retries) may take a minute without being cut off.
        lease_seconds=10.0,
        handler_timeout=120.0,
        heartbeat=True,
        on_settled=services.counters.on_settled,
        concurrency=concurrency,
        idle_sleep=min(0.5, settings.poll_interval),
    )


async def run_worker(services: Services, stop: asyncio.Event) -> None:
    await services.scheduler.schedule(groups_key(), {})  # no-op when another worker already keeps it
    await build_runner(services).run_forever(stop)
