from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.request import BackupRequest
from bot.store.audit import AuditLog
from bot.store.intake import Intake
from bot.store.requests import RequestStore
from bot.store.scheduler import Scheduler


def _request() -> BackupRequest:
    return BackupRequest(
        channel_id="C1", user_id="U1", instance_ref="orders-prod", backup_name="pre-change-1"
    )


def _audit(request: BackupRequest) -> AuditEntry:
    return AuditEntry(
        actor="U1", action=AuditAction.REQUESTED, request_id=request.id, backup_name="pre-change-1"
    )


async def test_one_step_records_the_request_its_work_its_audit_entry_and_a_count(
    redis: aioredis.Redis,
) -> None:
    scheduler = Scheduler(redis)
    intake = Intake(redis, scheduler)
    request = _request()
    owner, recorded = await intake.record(
        request,
        dedupe_key="trigger:1",
        work_key=f"req:{request.id}",
        work_payload=f'{{"request_id": "{request.id}"}}',
        audit=_audit(request),
        counter="event|requested",
    )
    assert (owner, recorded) == (request.id, True)
    assert await RequestStore(redis).get(request.id) == request
    [lease] = await scheduler.claim()
    assert lease.key == f"req:{request.id}" and lease.payload == {"request_id": request.id}
    [entry] = await AuditLog(redis).latest(5)
    assert entry.action is AuditAction.REQUESTED and entry.request_id == request.id
    assert [e.action for e in await AuditLog(redis).for_request(request.id)] == [AuditAction.REQUESTED]
    assert await redis.hget("{bb}:metrics", "event|requested") == b"1"


async def test_a_repeat_with_the_same_key_records_nothing(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    intake = Intake(redis, scheduler)
    first, second = _request(), _request()
    results = await asyncio.gather(
        *(
            intake.record(
                r,
                dedupe_key="trigger:1",
                work_key=f"req:{r.id}",
                work_payload="{}",
                audit=_audit(r),
                counter="event|requested",
            )
            for r in (first, second)
        )
    )
    assert sorted(recorded for _, recorded in results) == [False, True]
    assert {owner for owner, _ in results} == {results[0][0]}
    assert await scheduler.pending() == 1
    assert len(await AuditLog(redis).latest(5)) == 1
    assert await redis.hget("{bb}:metrics", "event|requested") == b"1"
