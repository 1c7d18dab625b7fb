"""What a poll tick reads and writes: the watched fields of many requests at once, and many requests
settled at once (each a compare-and-set, its next work scheduled only when it moved)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from bot.domain.request import BackupRequest, State
from bot.store import keys
from bot.store import requests as requests_module
from bot.store.requests import KEEP_FINISHED_SECONDS, RequestStore, TransitionRefused
from bot.store.scheduler import Scheduler
from bot.store.settle import Move, Settler

_WATCHED = (State.BUILDING, State.TIMED_OUT)


def _request(**overrides: object) -> BackupRequest:
    fields: dict[str, object] = {
        "state": State.BUILDING,
        "channel_id": "C1",
        "user_id": "U1",
        "instance_ref": "orders-prod",
        "backup_name": "pre-change-42",
    }
    fields.update(overrides)
    return BackupRequest.model_validate(fields)


def _move(request: BackupRequest, target: State = State.COMPLETED, **fields: object) -> Move:
    return Move(request.id, target, _WATCHED, f"req:{request.id}", {"request_id": request.id}, fields)


async def test_watched_fields_are_those_of_the_whole_request(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    began = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    full = _request(backup_id="b1", job_id="j1", progress=40, language="zh-cn", begin_time=began)
    bare = _request(language="")  # no backup, no job, no progress yet: the model's defaults
    for request in (full, bare):
        await store.create(request)
    got = await store.watched_many([full.id, "r-missing000", bare.id])
    assert got[1] is None
    first, last = got[0], got[2]
    assert first is not None and last is not None
    assert (first.id, first.state, first.backup_id, first.job_id, first.progress, first.language) == (
        full.id,
        State.BUILDING,
        "b1",
        "j1",
        40,
        "zh-cn",
    )
    assert first.started == began
    assert (last.backup_id, last.job_id, last.progress, last.language) == ("", "", None, "")
    assert last.started == bare.created_at  # no begin time: when the request was made
    assert await store.watched_many([]) == []


async def test_many_watched_requests_come_back_in_order_across_script_calls(
    redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requests_module, "WATCHED_AT_ONCE", 3)  # 8 requests asked: three calls
    store = RequestStore(redis)
    made = [_request(backup_id=f"b{i}", progress=i) for i in range(6)]
    for request in made:
        await store.create(request)
    gone = ["r-missing000", "r-missing001"]
    asked = [made[0].id, gone[0], *(r.id for r in made[1:4]), gone[1], *(r.id for r in made[4:])]
    got = await store.watched_many(asked)
    assert [w.id if w else None for w in got] == [None if rid in gone else rid for rid in asked]
    assert [(w.backup_id, w.progress) for w in got if w] == [(f"b{i}", i) for i in range(6)]


async def test_settling_moves_each_request_once_and_schedules_only_the_winners(redis: aioredis.Redis) -> None:
    store, scheduler = RequestStore(redis), Scheduler(redis)
    settler = Settler(redis, scheduler)
    requests = [_request() for _ in range(30)]
    for request in requests:
        await store.create(request)
    # One of them was moved by someone else first.
    await store.transition(requests[0].id, State.FAILED, from_states=_WATCHED, error_msg="elsewhere")
    moves = [_move(r, size_mb=12.5, progress=100) for r in requests]
    first, again = await asyncio.gather(settler.settle(moves), settler.settle(moves))
    assert first[0] is False and again[0] is False
    assert [a or b for a, b in zip(first[1:], again[1:], strict=True)] == [True] * 29
    assert [a and b for a, b in zip(first, again, strict=True)] == [False] * 30  # one winner each
    for request in requests[1:]:
        stored = await store.get(request.id)
        assert stored is not None
        assert (stored.state, stored.size_mb, stored.progress) == (State.COMPLETED, 12.5, 100)
        assert stored.updated_at > request.updated_at
        assert await scheduler.is_scheduled(f"req:{request.id}")
        assert 0 < await redis.ttl(keys.request(request.id)) <= KEEP_FINISHED_SECONDS
    loser = await store.get(requests[0].id)
    assert loser is not None and (loser.state, loser.error_msg) == (State.FAILED, "elsewhere")
    assert not await scheduler.is_scheduled(f"req:{requests[0].id}")


async def test_a_timeout_follows_the_lifecycle(redis: aioredis.Redis) -> None:
    store, scheduler = RequestStore(redis), Scheduler(redis)
    settler = Settler(redis, scheduler)
    building, timed_out, gone = _request(), _request(state=State.TIMED_OUT), _request()
    for request in (building, timed_out):
        await store.create(request)
    won = await settler.settle(
        [_move(building, State.TIMED_OUT), _move(timed_out, State.TIMED_OUT), _move(gone)]
    )
    assert won == [True, False, False]  # TIMED_OUT → TIMED_OUT is no move; a missing request is none
    # As transition() does: TIMED_OUT counts as finished for keeping the hash.
    assert 0 < await redis.ttl(keys.request(building.id)) <= KEEP_FINISHED_SECONDS
    assert await settler.settle([]) == []


async def test_transition_still_refuses_and_reports_what_it_found(redis: aioredis.Redis) -> None:
    store = RequestStore(redis)
    request = _request(state=State.COMPLETED)
    await store.create(request)
    try:
        await store.transition(request.id, State.FAILED, from_states=_WATCHED)
    except TransitionRefused as exc:
        assert exc.current == "COMPLETED"
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("a finished request moved")
