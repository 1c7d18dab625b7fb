"""Stopping a worker hands its unfinished work back: ``Scheduler.release`` against a real Redis, and
the runner's drain (finish what finishes in time, release the rest, run nothing on after that)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.store.outcome import Outcome
from bot.store.scheduler import Lease, Scheduler
from bot.worker.runner import Handler, Runner

# --- Scheduler.release ----------------------------------------------------------------------------


async def test_released_work_is_due_at_once_with_the_same_attempt_number(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {"n": 1})
    [first] = await scheduler.claim(lease_seconds=600)
    assert await scheduler.retry(first, delay=0)  # one failed try: the next claim is attempt 2
    [second] = await scheduler.claim(lease_seconds=600)
    assert second.attempt == 2
    assert await scheduler.claim() == []  # leased for ten minutes

    assert await scheduler.release(second)
    assert await scheduler.running() == 0
    [again] = await scheduler.claim()  # due now, not in ten minutes
    assert again.key == "create:r-1" and again.payload == {"n": 1}
    assert again.attempt == 2  # handing back counted no attempt
    assert again.token != second.token


async def test_release_is_fenced_by_the_lease_token(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-2", {"n": 1})
    [old] = await scheduler.claim(lease_seconds=0.05)
    await asyncio.sleep(0.1)  # the lease runs out and another worker claims the work
    [current] = await scheduler.claim(lease_seconds=600)
    assert not await scheduler.release(old)
    assert await scheduler.claim() == []  # the new owner's lease stands
    assert await scheduler.complete(current)
    assert not await scheduler.release(current)  # settled work is not brought back
    assert await scheduler.pending() == 0


async def test_release_drops_a_run_again_mark(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("req:r-3", {"n": 1})
    [lease] = await scheduler.claim()
    assert not await scheduler.schedule("req:r-3", {"n": 1})  # marks it to run once more
    assert await scheduler.release(lease)
    [again] = await scheduler.claim()  # this run starts after whatever set the mark
    assert await scheduler.complete(again)
    assert await scheduler.pending() == 0  # so it is not run yet again


# --- Runner drain ---------------------------------------------------------------------------------


class Handlers:
    """``slow:…`` work waits for ``release_slow``; ``fast:…`` work waits for ``release_fast``."""

    def __init__(self) -> None:
        self.started: dict[str, asyncio.Event] = {}
        self.release_fast = asyncio.Event()
        self.release_slow = asyncio.Event()
        self.finished: list[str] = []
        self.cancelled: list[str] = []

    def table(self) -> dict[str, Handler]:
        return {"slow": self.slow, "fast": self.fast}

    async def _wait(self, lease: Lease, gate: asyncio.Event) -> Outcome:
        self.started.setdefault(lease.key, asyncio.Event()).set()
        try:
            await gate.wait()
        except asyncio.CancelledError:
            self.cancelled.append(lease.key)
            raise
        self.finished.append(lease.key)
        return Outcome.finished()

    async def slow(self, lease: Lease) -> Outcome:
        return await self._wait(lease, self.release_slow)

    async def fast(self, lease: Lease) -> Outcome:
        return await self._wait(lease, self.release_fast)

    async def wait_started(self, *keys: str) -> None:
        for key in keys:
            await self.started.setdefault(key, asyncio.Event()).wait()


@pytest.mark.parametrize("heartbeat", [False, True], ids=["lease", "heartbeat"])
async def test_stopping_finishes_what_finishes_and_hands_back_the_rest(
    redis: aioredis.Redis, heartbeat: bool
) -> None:
    scheduler = Scheduler(redis)
    handlers = Handlers()
    runner = Runner(
        scheduler,
        handlers.table(),
        lease_seconds=600.0,
        handler_timeout=300.0,
        heartbeat=heartbeat,
        idle_sleep=0.05,
        drain_seconds=0.5,
    )
    await scheduler.schedule("slow:a", {})
    await scheduler.schedule("fast:b", {})
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run_forever(stop))
    await handlers.wait_started("slow:a", "fast:b")

    stop.set()
    await scheduler.schedule("fast:c", {})  # due while draining: not claimed any more
    await asyncio.sleep(0)
    handlers.release_fast.set()  # b finishes within the drain; a does not
    async with asyncio.timeout(10):
        await running

    assert handlers.finished == ["fast:b"]
    assert handlers.cancelled == ["slow:a"]
    assert "fast:c" not in handlers.started
    # a is due again now, as the attempt it was, for whichever worker claims next
    leases = {lease.key: lease for lease in await scheduler.claim(limit=10)}
    assert set(leases) == {"slow:a", "fast:c"}
    assert leases["slow:a"].attempt == 1
    handlers.release_slow.set()
    await asyncio.sleep(0.05)
    assert handlers.finished == ["fast:b"]  # the cancelled handler did not run on


async def test_a_drain_with_nothing_in_flight_returns_at_once(redis: aioredis.Redis) -> None:
    runner = Runner(Scheduler(redis), {}, idle_sleep=60.0, drain_seconds=30.0)
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run_forever(stop))
    await asyncio.sleep(0.05)
    stop.set()
    async with asyncio.timeout(5):  # far below both the idle sleep and the drain bound
        await running


def test_a_negative_drain_is_refused(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="drain_seconds"):
        Runner(Scheduler(redis), {}, drain_seconds=-1)
