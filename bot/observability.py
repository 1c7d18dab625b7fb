"""Logs and metrics.

- JSON log lines (one object per line) with the work key being handled (``req:r-…``), so every line
  about a request can be found by its ID; secrets never reach a log (they are ``SecretStr``).
- Counters live in one Redis hash, shared by every web and worker process: ``GET /metrics`` on any
  web replica shows the whole deployment in Prometheus text format, though workers serve no HTTP.
  Gauges (backups in flight, approvals pending, scheduler lag) are read from Redis at scrape time.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store import keys
from bot.store.codec import as_text
from bot.store.scheduler import Lease, Outcome, current_work

log = logging.getLogger("bot.observability")

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if work := current_work.get():
            entry["work"] = work
            if work.startswith(("req:", "expire:")):
                entry["request_id"] = work.split(":", 1)[1]
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, as_json: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# --- counters --------------------------------------------------------------------------------------


class Counters:
    """Increment shared counters; a failure to count never fails the work being counted."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def add(self, name: str, amount: int = 1) -> None:
        try:
            await self._redis.hincrby(keys.METRICS, name, amount)
        except Exception:  # metrics are best effort
            log.debug("could not count %s", name, exc_info=True)

    async def snapshot(self) -> dict[str, int]:
        raw = await self._redis.hgetall(keys.METRICS)
        return {as_text(k): int(v) for k, v in raw.items()}

    async def on_settled(self, lease: Lease, outcome: Outcome) -> None:
        kind = lease.key.partition(":")[0]
        result = "error" if outcome.failed else ("done" if outcome.done else "later")
        await self.add(f"work|{kind}|{result}")

    def cloud_hook(self) -> Any:
        """An httpx response hook counting TaurusDB/IAM calls by operation and status."""

        async def count(response: httpx.Response) -> None:
            await self.add(f"cloud|{operation_of(response.request)}|{response.status_code}")

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
    in_flight = pending_work = 0
    due: list[tuple[bytes, float]] = []
    up = 1.0
    try:
        counters = await Counters(redis).snapshot()
        in_flight = await redis.zcard(keys.in_flight(project_id))
        due = cast(
            list[tuple[bytes, float]], await redis.zrange(keys.scheduler_due("work"), 0, 0, withscores=True)
        )
        pending_work = await redis.zcard(keys.scheduler_due("work"))
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
        "backup_bot_scheduler_lag_seconds": lag,
        "backup_bot_redis_up": up,
    }
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(counters, gauges))
    return generate_latest(registry)
