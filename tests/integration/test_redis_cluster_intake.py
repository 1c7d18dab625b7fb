"""An intake during a key-by-key reshard of the {bb} slot: the server refuses the script with
``TRYAGAIN`` while the slot is half moved (some of its keys there, others not); the intake tries
again, so a request typed meanwhile is recorded once instead of answered "try again"."""

from __future__ import annotations

import asyncio
import threading

import redis.asyncio as aioredis

from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.request import BackupRequest
from bot.local.redis_cluster import LocalCluster
from bot.store.intake import Intake
from bot.store.requests import RequestStore
from bot.store.scheduler import Scheduler
from tests.integration.test_redis_cluster_fixtures import BB_SLOT, other_primary

pytest_plugins = ["tests.integration.test_redis_cluster_fixtures"]  # the shared clusters


async def _record(intake: Intake, tag: str) -> tuple[BackupRequest, tuple[str, bool]]:
    request = BackupRequest(channel_id="C1", user_id="U1", instance_ref="orders-prod", backup_name=tag)
    entry = AuditEntry(actor="U1", action=AuditAction.REQUESTED, request_id=request.id)
    recorded = await intake.record(
        request,
        dedupe_key=tag,
        work_key=f"req:{request.id}",
        work_payload="{}",
        audit=entry,
        counter="event|requested",
    )
    return request, recorded


async def test_an_intake_while_the_slot_is_half_moved_is_recorded_once(
    cluster: LocalCluster, cluster_redis: aioredis.RedisCluster
) -> None:
    scheduler = Scheduler(cluster_redis)
    intake = Intake(cluster_redis, scheduler)
    await _record(intake, "before")  # the audit stream and the scheduler's keys exist now
    source, target = cluster.owner(BB_SLOT), other_primary(cluster)
    # The migration has begun and no key has moved yet: the request key does not exist on the
    # source, the audit stream does, so the script is refused with TRYAGAIN until the slot is stable.
    target.call("CLUSTER", "SETSLOT", BB_SLOT, "IMPORTING", source.node_id)
    source.call("CLUSTER", "SETSLOT", BB_SLOT, "MIGRATING", target.node_id)
    refused_for = 1.0  # longer than redis-py's own TRYAGAIN retries (~0.4 s)

    def called_off() -> None:
        threading.Event().wait(refused_for)
        for node in (source, target):
            node.call("CLUSTER", "SETSLOT", BB_SLOT, "STABLE")

    mover = threading.Thread(target=called_off)
    mover.start()
    try:
        request, recorded = await _record(intake, "during")
    finally:
        await asyncio.to_thread(mover.join)
    assert recorded == (request.id, True)
    assert (await RequestStore(cluster_redis).get(request.id)) is not None
    assert await scheduler.is_scheduled(f"req:{request.id}")
    assert cluster.owner(BB_SLOT) is source
