from __future__ import annotations

import json
import logging

import httpx
import redis.asyncio as aioredis

from bot.app.metrics import operation_of, render_metrics, work_counter
from bot.logs import JsonFormatter, current_work
from bot.store.counters import Counters
from bot.store.scheduler import Lease, Outcome


def test_json_log_lines_carry_the_request_being_worked_on() -> None:
    record = logging.LogRecord("bot.worker.flow", logging.INFO, __file__, 1, "created %s", ("b1",), None)
    token = current_work.set("req:r-abc")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_work.reset(token)
    assert line["message"] == "created b1"
    assert line["request_id"] == "r-abc" and line["work"] == "req:r-abc"
    assert line["level"] == "INFO" and line["logger"] == "bot.worker.flow"


def test_cloud_calls_are_named_by_operation() -> None:
    base = "https://gaussdb.example/v3/" + "p" * 32
    assert operation_of(httpx.Request("POST", base + "/backups/create")) == "create_backup"
    assert operation_of(httpx.Request("GET", base + "/backups?backup_id=x")) == "list_backups"
    assert operation_of(httpx.Request("GET", base + "/jobs?id=x")) == "get_job"
    assert operation_of(httpx.Request("GET", base + "/instances")) == "list_instances"
    assert operation_of(httpx.Request("POST", "https://iam.example/v3/auth/tokens")) == "iam_token"


async def test_metrics_render_counters_and_gauges_from_redis(redis: aioredis.Redis) -> None:
    counters = Counters(redis)
    await counters.add("event|requested", 3)
    await counters.add("event|approval_requested", 2)
    await counters.add("event|approved")
    await counters.add("cloud|create_backup|201")
    await counters.add(work_counter(Lease("poll:p", {}, "t", 1), Outcome.later(1.0)))
    text = (await render_metrics(redis, "p" * 32)).decode()
    assert 'backup_bot_events_total{kind="requested"} 3.0' in text
    assert 'backup_bot_cloud_calls_total{operation="create_backup",status="201"} 1.0' in text
    assert 'backup_bot_work_total{kind="poll",result="later"} 1.0' in text
    assert "backup_bot_approvals_pending 1.0" in text
    assert "backup_bot_redis_up 1.0" in text
