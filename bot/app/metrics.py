"""Metrics in Prometheus text format, for the whole deployment.

Counters live in one Redis hash (:class:`~bot.store.counters.Counters`), shared by every web and
worker process, so ``/metrics`` on any web replica shows all of them; gauges (backups in flight per
region, approvals pending, scheduler lag, parked work) are read from Redis at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.cloud.calls import CallHook, CloudCall
from bot.cloud.fleet import Fleet
from bot.store import keys
from bot.store.connection import RedisClient
from bot.store.counters import Counters
from bot.store.outcome import Outcome
from bot.store.projects import ProjectRegistry
from bot.store.scheduler import Lease, Scheduler

_CLOSED_APPROVALS = ("approved", "rejected", "expired", "cancelled", "break_glass")


def work_counter(lease: Lease, outcome: Outcome) -> str:
    """The counter a settled work item increments (``backup_bot_work_total{kind,result}``)."""
    kind = lease.key.partition(":")[0]
    result = (
        "parked" if outcome.parked else "error" if outcome.failed else "done" if outcome.done else "later"
    )
    return f"work|{kind}|{result}"


def cloud_call_counter(counters: Counters) -> CallHook:
    """Count every answered TaurusDB and IAM call by region, operation and HTTP status."""

    async def count(call: CloudCall) -> None:
        await counters.add(f"cloud|{call.region or '-'}|{call.operation}|{call.status}")

    return count


async def register_projects(redis: RedisClient, fleet: Fleet) -> None:
    """Say which region each project is, so any web replica can label what workers track."""
    await ProjectRegistry(redis).record({p.project_id: p.region for p in fleet.projects})


class _Snapshot(Collector):
    def __init__(
        self, counters: Mapping[str, int], gauges: Mapping[str, float], in_flight: Mapping[str, int]
    ) -> None:
        self._counters = counters
        self._gauges = gauges
        self._in_flight = in_flight

    def collect(self) -> Any:
        events = CounterMetricFamily(
            "backup_bot_events", "Requests, decisions and results, by kind", labels=["kind"]
        )
        work = CounterMetricFamily(
            "backup_bot_work",
            "Scheduled work handled, by kind and result (poll = poll ticks)",
            labels=["kind", "result"],
        )
        cloud = CounterMetricFamily(
            "backup_bot_cloud_calls",
            "TaurusDB and IAM calls by region, operation and HTTP status",
            labels=["region", "operation", "status"],
        )
        for name, value in sorted(self._counters.items()):
            parts = name.split("|")
            if parts[0] == "event" and len(parts) == 2:
                events.add_metric([parts[1]], value)
            elif parts[0] == "work" and len(parts) == 3:
                work.add_metric(parts[1:], value)
            elif parts[0] == "cloud" and len(parts) == 4:
                cloud.add_metric(parts[1:], value)
        yield from (events, work, cloud)
        flying = GaugeMetricFamily(
            "backup_bot_backups_in_flight",
            "Backups being watched by the poller, by region",
            labels=["region"],
        )
        for region, count in sorted(self._in_flight.items()):
            flying.add_metric([region], float(count))
        yield flying
        helps = {
            "backup_bot_approvals_pending": "Requests waiting for an approver",
            "backup_bot_scheduler_pending": "Work items scheduled or running",
            "backup_bot_work_parked": "Work given up on after its attempt budget (see the log)",
            "backup_bot_scheduler_lag_seconds": "How long the most overdue work item has waited",
            "backup_bot_redis_up": "1 when Redis answered this scrape",
        }
        for name, reading in self._gauges.items():
            gauge = GaugeMetricFamily(name, helps.get(name, name))
            gauge.add_metric([], reading)
            yield gauge


async def render_metrics(redis: RedisClient) -> bytes:
    """The Prometheus text exposition for the whole deployment, read from Redis."""
    counters: dict[str, int] = {}
    in_flight: dict[str, int] = {}
    pending_work = parked = 0
    due: float | None = None
    up = 1.0
    try:
        counters = await Counters(redis).snapshot()
        for project_id, region in (await ProjectRegistry(redis).all()).items():
            in_flight[region] = int(await redis.zcard(keys.in_flight(project_id)))
        due = await Scheduler(redis).earliest_due()
        pending_work = await redis.zcard(keys.scheduler_due("work"))
        parked = await redis.zcard(keys.scheduler_parked("work"))
    except Exception:  # a scrape must answer even when Redis does not
        up = 0.0
    lag = max(0.0, time.time() - due) if due is not None else 0.0
    approvals_pending = counters.get("event|approval_requested", 0) - sum(
        counters.get(f"event|{k}", 0) for k in _CLOSED_APPROVALS
    )
    gauges = {
        "backup_bot_approvals_pending": float(max(0, approvals_pending)),
        "backup_bot_scheduler_pending": float(pending_work),
        "backup_bot_work_parked": float(parked),
        "backup_bot_scheduler_lag_seconds": lag,
        "backup_bot_redis_up": up,
    }
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(counters, gauges, in_flight))
    return generate_latest(registry)
