"""The audit trail against a real Redis: order, limits, per-request history, trimming; the Slack line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis.asyncio as aioredis

from bot.domain.audit import BOT_ACTOR, DETAIL_MAX, AuditAction, AuditEntry
from bot.slack.render.audit import audit_line
from bot.store import keys
from bot.store.audit import AuditLog


def _entry(action: AuditAction = AuditAction.REQUESTED, **fields: object) -> AuditEntry:
    data: dict[str, object] = {
        "actor": "U0ALICE",
        "action": action,
        "request_id": "r-abc",
        "instance_id": "a" * 32 + "in07",
        "instance_name": "orders-prod",
        "backup_name": "pre-change-42",
    }
    data.update(fields)
    return AuditEntry.model_validate(data)


async def test_append_returns_stream_ids_and_latest_is_newest_first(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    ids = [await log.append(_entry(detail=f"step {i}")) for i in range(5)]
    assert len(set(ids)) == 5
    assert all("-" in stream_id for stream_id in ids)
    latest = await log.latest(3)
    assert [e.detail for e in latest] == ["step 4", "step 3", "step 2"]
    assert [e.detail for e in await log.latest(100)] == [f"step {i}" for i in reversed(range(5))]
    assert await log.latest(0) == []
    assert await log.latest(-1) == []


async def test_round_trip_keeps_every_field(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    entry = _entry(
        AuditAction.BACKUP_STARTED,
        actor=BOT_ACTOR,
        backup_id="b" * 32 + "br07",
        cloud_request_id="req-123",
        detail="job 42 <accepted> & running",
        at=datetime(2026, 11, 27, 16, 30, 5, 123456, tzinfo=UTC),
    )
    await log.append(entry)
    assert await log.latest(1) == [entry]
    assert await log.for_request("r-abc") == [entry]


async def test_empty_log(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    assert await log.latest(10) == []
    assert await log.for_request("r-none") == []


async def test_for_request_returns_only_that_request_in_order(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    flow = [
        AuditAction.REQUESTED,
        AuditAction.APPROVAL_REQUESTED,
        AuditAction.APPROVED,
        AuditAction.COMPLETED,
    ]
    for action in flow:
        await log.append(_entry(action, request_id="r-one"))
        await log.append(_entry(AuditAction.REQUESTED, request_id="r-two"))
    await log.append(_entry(AuditAction.REFUSED, request_id=""))  # not tied to a request
    assert [e.action for e in await log.for_request("r-one")] == flow
    assert len(await log.for_request("r-two")) == 4
    assert (await log.latest(1))[0].action is AuditAction.REFUSED
    ttl = await redis.ttl(keys.audit_request("r-one"))
    assert 0 < ttl <= 90 * 24 * 3600


async def test_for_request_survives_stream_trimming(redis: aioredis.Redis) -> None:
    log = AuditLog(redis, maxlen=10)
    await log.append(_entry(AuditAction.REQUESTED, request_id="r-old"))
    for i in range(500):
        await log.append(_entry(AuditAction.COMPLETED, request_id=f"r-{i}"))
    assert [e.action for e in await log.for_request("r-old")] == [AuditAction.REQUESTED]


async def test_trimming_keeps_the_stream_bounded(redis: aioredis.Redis) -> None:
    maxlen = 50
    log = AuditLog(redis, maxlen=maxlen)
    for batch in range(10):
        await asyncio.gather(*(log.append(_entry(detail=f"{batch}-{i}")) for i in range(100)))
    config = await redis.config_get("stream-node-max-entries")
    node_size = int(next(iter(config.values())) or 100)
    length = await redis.xlen(keys.audit_stream())
    # "~" trims whole radix-tree nodes only, so up to one node more than maxlen may remain.
    assert maxlen <= length <= maxlen + node_size
    newest = await log.latest(1)
    assert newest[0].detail == "9-99"


async def test_unreadable_entries_are_skipped(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    await log.append(_entry(detail="good"))
    await redis.xadd(keys.audit_stream(), {"actor": "U1", "action": "teleported"})
    await redis.rpush(keys.audit_request("r-abc"), b"{not json")
    assert [e.detail for e in await log.latest(5)] == ["good"]
    assert [e.detail for e in await log.for_request("r-abc")] == ["good"]


def test_constructor_rejects_nonsense(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError):
        AuditLog(redis, maxlen=0)


# --- the model ----------------------------------------------------------------------------------------


def test_times_are_utc() -> None:
    naive = _entry(at=datetime(2026, 1, 2, 3, 4, 5))
    assert naive.at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    shanghai = _entry(at=datetime(2026, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8))))
    assert shanghai.at.utcoffset() == timedelta(0) and shanghai.at.hour == 3
    assert _entry().at.tzinfo is not None


def test_long_details_are_cut_not_refused() -> None:
    assert len(_entry(detail="x" * 5000).detail) == DETAIL_MAX


def test_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError):
        _entry(action="teleported")  # type: ignore[arg-type]


# --- the audit channel line ---------------------------------------------------------------------------


def test_audit_line_is_one_escaped_line() -> None:
    entry = _entry(
        AuditAction.REJECTED,
        actor="U0CAROL",
        detail="not now <!channel> & <@U0BOSS>\nsecond line",
        instance_name="orders-<!here>",
        backup_name="name`with`ticks",
    )
    line = audit_line(entry)
    assert "\n" not in line
    assert "<!channel>" not in line and "<!here>" not in line and "<@U0BOSS>" not in line
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; second line" in line
    assert line.startswith(":x: *Rejected* by <@U0CAROL> · request `r-abc` · instance `orders-&lt;!here&gt;`")
    assert "backup `nameˋwithˋticks`" in line
    assert "<!date^" in line  # the time, shown in each reader's time zone


def test_audit_line_for_bot_steps_and_free_text_actors() -> None:
    line = audit_line(_entry(AuditAction.COMPLETED, actor=BOT_ACTOR, backup_id="b1", cloud_request_id="c1"))
    assert line.startswith(":large_green_circle: *Backup completed* · ")
    assert "backup ID `b1`" in line and "cloud request `c1`" in line
    assert " by " not in line
    odd = audit_line(_entry(actor="<!everyone>"))
    assert "<!everyone>" not in odd and "by &lt;!everyone&gt;" in odd


def test_audit_line_for_every_action() -> None:
    for action in AuditAction:
        line = audit_line(_entry(action, instance_name="", request_id="", detail="x" * 1000))
        assert line and "\n" not in line
        assert len(line) < 500
