from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from bot.app.metrics import cloud_call_counter, render_metrics, work_counter
from bot.cloud.calls import CloudCall
from bot.logs import JsonFormatter, current_work
from bot.store.counters import Counters
from bot.store.outcome import Outcome
from bot.store.projects import ProjectRegistry
from bot.store.scheduler import Lease


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


async def test_cloud_calls_are_counted_by_region_operation_and_status(redis: aioredis.Redis) -> None:
    counters = Counters(redis)
    count = cloud_call_counter(counters)
    await count(CloudCall("cn-north-4", "p" * 32, "create_backup", 201))
    await count(CloudCall("", "", "iam_projects", 200))  # no region: IAM at start-up
    snapshot = await counters.snapshot()
    assert snapshot == {"cloud|cn-north-4|create_backup|201": 1, "cloud|-|iam_projects|200": 1}


async def test_metrics_render_counters_and_gauges_from_redis(redis: aioredis.Redis) -> None:
    counters = Counters(redis)
    await counters.add("event|requested", 3)
    await counters.add("event|approval_requested", 2)
    await counters.add("event|approved")
    await counters.add("cloud|ap-southeast-3|create_backup|201")
    await ProjectRegistry(redis).record({"p" * 32: "ap-southeast-3"})
    await redis.zadd("{bb}:inflight:" + "p" * 32, {"r-1": 1.0})
    await counters.add(work_counter(Lease("poll:p", {}, "t", 1), Outcome.later(1.0)))
    text = (await render_metrics(redis)).decode()
    assert 'backup_bot_events_total{kind="requested"} 3.0' in text
    labels = 'operation="create_backup",region="ap-southeast-3",status="201"'
    assert f"backup_bot_cloud_calls_total{{{labels}}} 1.0" in text
    assert 'backup_bot_backups_in_flight{region="ap-southeast-3"} 1.0' in text
    assert 'backup_bot_work_total{kind="poll",result="later"} 1.0' in text
    assert "backup_bot_approvals_pending 1.0" in text
    assert "backup_bot_redis_up 1.0" in text
