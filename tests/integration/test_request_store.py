from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.domain.request import BackupRequest, State
from bot.store import keys
from bot.store.requests import RequestStore, TransitionRefused


def _request(**overrides: object) -> BackupRequest:
    fields: dict[str, object] = {
        "channel_id": "C1",
        "user_id": "U1",
        "instance_ref": "orders-prod",
        "backup_name": "pre-change-42",
        "description": "before the <schema> change & more",
    }
    fields.update(overrides)
    return BackupRequest.model_validate(fields)


async def test_create_then_get_round_trips_every_field(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    request = _request()
    rid, created = await store.create(request)
    assert (rid, created) == (request.id, True)
    loaded = await store.get(rid)
    assert loaded == request


async def test_same_dedupe_key_returns_the_first_request(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    first, second = _request(), _request()
    results = await asyncio.gather(
        store.create(first, dedupe_key="trigger-1"), store.create(second, dedupe_key="trigger-1")
    )
    owners = {rid for rid, _ in results}
    assert len(owners) == 1
    assert sorted(created for _, created in results) == [False, True]
    assert await store.get(second.id if first.id in owners else first.id) is None


async def test_racing_transitions_have_exactly_one_winner(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    rid, _ = await store.create(_request(state=State.PENDING_APPROVAL))

    async def approve(who: str) -> str | None:
        try:
            await store.transition(rid, State.APPROVED, from_states=[State.PENDING_APPROVAL], decided_by=who)
        except TransitionRefused:
            return None
        return who

    winners = [w for w in await asyncio.gather(*(approve(f"U{i}") for i in range(20))) if w]
    assert len(winners) == 1
    stored = await store.get(rid)
    assert stored is not None
    assert stored.state is State.APPROVED and stored.decided_by == winners[0]


async def test_transition_outside_the_lifecycle_is_refused(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    rid, _ = await store.create(_request())
    with pytest.raises(TransitionRefused):
        await store.transition(rid, State.COMPLETED, from_states=[State.RECEIVED])
    with pytest.raises(TransitionRefused):
        await store.transition("r-missing", State.CREATING, from_states=[State.RECEIVED])
    stored = await store.get(rid)
    assert stored is not None and stored.state is State.RECEIVED


async def test_set_once_marks_a_field_for_one_caller_only(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    rid, _ = await store.create(_request())
    results = await asyncio.gather(*(store.set_once(rid, "parent_ts", f"1.{i}") for i in range(10)))
    assert results.count(True) == 1
    assert not await store.set_once("r-missing", "parent_ts", "1.0")


async def test_in_flight_index_is_ordered_and_backup_ids_resolve(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    a = _request(backup_id="b1", begin_time=datetime(2026, 1, 1, 10, tzinfo=UTC))
    b = _request(backup_id="b2", begin_time=datetime(2026, 1, 1, 11, tzinfo=UTC))
    for req in (a, b):
        await store.create(req)
    await store.track("p" * 32, b)
    await store.track("p" * 32, a)
    assert [rid for rid, _ in await store.in_flight("p" * 32)] == [a.id, b.id]
    found = await store.by_backup_id("b2")
    assert found is not None and found.id == b.id
    await store.untrack("p" * 32, a.id)
    assert await store.count_in_flight("p" * 32) == 1


async def test_a_finished_request_expires_and_a_live_one_does_not(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    rid, _ = await store.create(_request())
    await store.transition(rid, State.CREATING, from_states=[State.RECEIVED])
    assert await redis.ttl(keys.request(rid)) == -1
    await store.transition(rid, State.CREATE_FAILED, from_states=[State.CREATING], error_code="x")
    assert 0 < await redis.ttl(keys.request(rid)) <= 90 * 24 * 3600
