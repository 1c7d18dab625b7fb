"""Assemble a worker: the runner with one handler per kind of work."""

from __future__ import annotations

import asyncio

from bot.app.metrics import work_counter
from bot.app.parking import on_parked
from bot.app.services import Services
from bot.app.work import SyncGroups, schedule
from bot.store.outcome import Outcome
from bot.store.scheduler import Lease
from bot.worker.handlers import ATTEMPTS, handlers
from bot.worker.runner import Runner

# Handlers running at once. Most of a handler's time is spent waiting (Redis, Slack, the cloud), so
# 16 left the CPU idle while 1,000 backups that ended in the same second queued for their final
# replies (p99 finish → reply 2.6 s at 16, 1.9 s at 32, one 1 s poll interval included); the Redis
# pool (64 connections) leaves room for the poller and heartbeats beside 32.
CONCURRENCY = 32
# Of them, handlers of background work (a parent's update after its final reply) at once: a burst
# of it leaves the poll tick and newly due replies most of the loop (1,000 ending at once, one
# worker: p99 finish → reply 1.3–1.8 s and a tick ≤ 0.25 s at 16; 1.5–2.5 s and 0.22–0.28 s uncapped).
BACKGROUND_AT_ONCE = 16


def build_runner(services: Services, *, concurrency: int = CONCURRENCY) -> Runner:
    async def count(lease: Lease, outcome: Outcome) -> None:
        await services.counters.add(work_counter(lease, outcome))

    async def parked(lease: Lease, reason: str) -> None:
        await on_parked(services, lease, reason)

    return Runner(
        services.scheduler,
        handlers(services),
        # A short lease kept alive by heartbeats: a killed worker's work is back within ~10 s, while
        # a slow create (ambiguity checks, retries) may take a minute without being cut off.
        lease_seconds=10.0,
        handler_timeout=120.0,
        heartbeat=True,
        on_settled=count,
        attempts={kind.value: budget for kind, budget in ATTEMPTS.items()},
        on_parked=parked,
        concurrency=concurrency,
        background_at_once=min(concurrency, BACKGROUND_AT_ONCE),
        idle_sleep=min(0.5, services.settings.poll_interval),
    )


async def run_worker(services: Services, stop: asyncio.Event) -> None:
    await schedule(services.scheduler, SyncGroups())  # a no-op when another worker already keeps it
    await build_runner(services).run_forever(stop)
