"""Metrics in Prometheus text format, for the whole deployment.

Counters live in one Redis hash (:class:`~bot.store.counters.Counters`), shared by every web and
worker process, so ``GET /metrics`` on any web replica shows all of them; gauges (backups in flight,
approvals pending, scheduler lag) are read from Redis at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store import keys
from bot.store.counters import Counters
from bot.store.scheduler import Lease, Outcome


def work_counter(lease: Lease, outcome: Outcome) -> str:
    """The counter a settled work item increments (``backup_bot_work_total{kind,result}``)."""
    kind = lease.key.partition(":")[0]
    result = (
        "parked" if outcome.parked else "error" if outcome.failed else "done" if outcome.done else "later"
    )
    return f"work|{kind}|{result}"


def cloud_call_hook(counters: Counters) -> Any:
    """An httpx response hook counting TaurusDB/IAM calls by operation and status."""

    async def count(response: httpx.Response) -> None:
        await counters.add(f"cloud|{operation_of(response.request)}|{response.status_code}")

    return count


def operation_of(request: httpx.Request) -> str:
    path = request.url.path
    if path.endswith("/auth/tokens"):
        return "iam_token"
    if path.endswith("/backups/create"):
        return "create_backup"
    if path.endswith("/backups"):
        return "list_backups"
    if path.endswith("/jobs"):
        return "get_job"
    if "/instances" in path:
        return "list_instances"
    return "other"


# --- exposition ------------------------------------------------------------------------------------


class _Snapshot(Collector):
    def __init__(self, counters: Mapping[str, int], gauges: Mapping[str, float]) -> None:
        self._counters = counters
        self._gauges = gauges

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
            "TaurusDB and IAM calls by operation and HTTP status",
            labels=["operation", "status"],
        )
        for name, value in sorted(self._counters.items()):
            parts = name.split("|")
            if parts[0] == "event" and len(parts) == 2:
                events.add_metric([parts[1]], value)
            elif parts[0] == "work" and len(parts) == 3:
                work.add_metric(parts[1:], value)
            elif parts[0] == "cloud" and len(parts) == 3:
                cloud.add_metric(parts[1:], value)
        yield from (events, work, cloud)
        helps = {
            "backup_bot_backups_in_flight": "Backups being watched by the poller",
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


async def render_metrics(redis: aioredis.Redis, project_id: str) -> bytes:
    """The Prometheus text exposition for the whole deployment, read from Redis."""
    counters: dict[str, int] = {}
    in_flight = pending_work = parked = 0
    due: list[tuple[bytes, float]] = []
    up = 1.0
    try:
        counters = await Counters(redis).snapshot()
        in_flight = await redis.zcard(keys.in_flight(project_id))
        due = cast(
            list[tuple[bytes, float]], await redis.zrange(keys.scheduler_due("work"), 0, 0, withscores=True)
        )
        pending_work = await redis.zcard(keys.scheduler_due("work"))
        parked = await redis.zcard(keys.scheduler_parked("work"))
    except Exception:  # a scrape must answer even when Redis does not
        up = 0.0
    lag = max(0.0, time.time() - float(due[0][1])) if due else 0.0
    approvals_pending = counters.get("event|approval_requested", 0) - sum(
        counters.get(f"event|{k}", 0) for k in ("approved", "rejected", "expired")
    )
    gauges = {
        "backup_bot_backups_in_flight": float(in_flight),
        "backup_bot_approvals_pending": float(max(0, approvals_pending)),
        "backup_bot_scheduler_pending": float(pending_work),
        "backup_bot_work_parked": float(parked),
        "backup_bot_scheduler_lag_seconds": lag,
        "backup_bot_redis_up": up,
    }
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(counters, gauges))
    return generate_latest(registry)
