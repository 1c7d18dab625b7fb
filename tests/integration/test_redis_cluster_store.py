"""The bot's stores, unchanged, on a real Redis Cluster reached through a node that does not own {bb}."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.domain.audit import AuditAction, AuditEntry
from bot.domain.request import State
from bot.store import keys
from bot.store.audit import AuditLog
from bot.store.counters import Counters
from bot.store.groups import GroupCache
from bot.store.intake import Intake
from bot.store.requests import RequestStore, TransitionRefused
from bot.store.scheduler import Scheduler
from tests.integration.test_request_store import _request

pytest_plugins = ["tests.integration.test_redis_cluster_fixtures"]  # the shared clusters

PROJECT = "p" * 32


async def test_the_scheduler_schedules_claims_retries_and_completes(
    cluster_redis: aioredis.RedisCluster,
) -> None:
    scheduler = Scheduler(cluster_redis)
    assert await scheduler.schedule("create:r-1", {"n": 1})
    assert not await scheduler.schedule("create:r-1", {"n": 2})
    [lease] = await scheduler.claim()
    assert (lease.key, lease.payload, lease.attempt) == ("create:r-1", {"n": 1}, 1)
    assert await scheduler.extend(lease, lease_seconds=30)
    assert await scheduler.retry(lease, delay=0, payload={"n": 3})
    assert not await scheduler.complete(lease)  # that lease is spent: its token no longer matches
    [again] = await scheduler.claim()
    assert (again.payload, again.attempt) == ({"n": 3}, 2)
    assert await scheduler.running() == 1
    assert await scheduler.complete(again)
    assert await scheduler.pending() == 0
    assert await scheduler.next_due_in() is None


async def test_requests_are_created_once_and_move_by_compare_and_set(
    cluster_redis: aioredis.RedisCluster,
) -> None:
    store = RequestStore(cluster_redis)
    request = _request(state=State.PENDING_APPROVAL)
    assert await store.create(request, dedupe_key="trigger-1") == (request.id, True)
    assert await store.create(_request(), dedupe_key="trigger-1") == (request.id, False)
    approved = await store.transition(request.id, State.APPROVED, from_states=[State.PENDING_APPROVAL])
    assert approved.state is State.APPROVED
    with pytest.raises(TransitionRefused) as refused:
        await store.transition(request.id, State.REJECTED, from_states=[State.PENDING_APPROVAL])
    assert refused.value.current == State.APPROVED
    assert await store.set_once(request.id, "parent_ts", "1.2")
    assert not await store.set_once(request.id, "parent_ts", "3.4")
    await store.update(request.id, progress=40)
    loaded = await store.get(request.id)
    assert loaded is not None and (loaded.parent_ts, loaded.progress) == ("1.2", 40)


async def test_tracking_a_building_backup_uses_one_multi(cluster_redis: aioredis.RedisCluster) -> None:
    store = RequestStore(cluster_redis)
    request = _request(backup_id="b-1")
    await store.create(request)
    await store.track(PROJECT, request)  # pipeline(transaction=True): MULTI/EXEC on the {bb} node
    assert [rid for rid, _ in await store.in_flight(PROJECT)] == [request.id]
    found = await store.by_backup_id("b-1")
    assert found is not None and found.id == request.id
    await store.untrack(PROJECT, request.id)
    assert await store.count_in_flight(PROJECT) == 0


async def test_intake_records_everything_in_one_script_of_ten_keys(
    cluster_redis: aioredis.RedisCluster,
) -> None:
    scheduler = Scheduler(cluster_redis)
    intake = Intake(cluster_redis, scheduler)
    request = _request()
    entry = AuditEntry(actor="U1", action=AuditAction.REQUESTED, request_id=request.id)
    recorded = await intake.record(
        request,
        dedupe_key="t-1",
        work_key=f"req:{request.id}",
        work_payload="{}",
        audit=entry,
        counter="event|requested",
    )
    assert recorded == (request.id, True)
    assert await scheduler.is_scheduled(f"req:{request.id}")
    audit = AuditLog(cluster_redis)
    assert [e.action for e in await audit.for_request(request.id)] == [AuditAction.REQUESTED]
    assert (await Counters(cluster_redis).snapshot())["event|requested"] == 1


async def test_the_audit_trail_appends_and_reads_back(cluster_redis: aioredis.RedisCluster) -> None:
    audit = AuditLog(cluster_redis, maxlen=50)
    for action in (AuditAction.REQUESTED, AuditAction.APPROVED, AuditAction.COMPLETED):
        await audit.append(AuditEntry(actor="bot", action=action, request_id="r-1"))  # MULTI, 4 commands
    assert [e.action for e in await audit.latest(2)] == [AuditAction.COMPLETED, AuditAction.APPROVED]
    assert len(await audit.for_request("r-1")) == 3


async def test_the_group_cache_swaps_and_reads_with_pipelines(cluster_redis: aioredis.RedisCluster) -> None:
    groups = GroupCache(cluster_redis)
    assert await groups.groups_of("U1", ["dba"]) is None
    await groups.replace({"dba": ["U1", "U2"], "ops": ["U3"]}, {"dba": "S1", "ops": "S2"})
    assert await groups.groups_of("U1", ["dba", "ops"]) == frozenset({"dba"})
    assert await groups.subteam_ids() == {"dba": "S1", "ops": "S2"}


async def test_scan_iter_finds_the_requests_on_whichever_node_holds_them(
    cluster_redis: aioredis.RedisCluster,
) -> None:
    store = RequestStore(cluster_redis)
    ids = {(await store.create(_request()))[0] for _ in range(30)}
    found = {key.decode() async for key in cluster_redis.scan_iter(match=keys.request("*"), count=500)}
    assert found == {keys.request(rid) for rid in ids}
