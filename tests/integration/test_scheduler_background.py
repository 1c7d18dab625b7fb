"""Background work against a real Redis server: once due, it waits until no other work is due.

A finished backup's final reply and its parent's update are two runs of one work item, the second
in the background (:meth:`Outcome.in_background`): when a thousand backups end together, every
final reply goes before any parent's update, across every worker."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.store import keys
from bot.store.outcome import Outcome, TryLater
from bot.store.scheduler import BACKGROUND, Lease, Scheduler
from bot.worker.runner import Runner


async def _in_background(scheduler: Scheduler, key: str, *, delay: float = 0.0) -> None:
    """``key`` scheduled, claimed and sent to the background, as a handler's outcome sends it."""
    await scheduler.schedule(key, {"key": key})
    [lease] = await scheduler.claim(limit=1)
    assert lease.key == key
    assert await scheduler.retry(lease, delay=delay, reset_attempts=True, background=True)


async def test_due_work_is_claimed_before_background_work_that_was_due_earlier(
    redis: aioredis.Redis,
) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-old")
    for n in range(3):
        await scheduler.schedule(f"request:r-new{n}", {})  # due after the background one
    first = await scheduler.claim(limit=2)
    assert [lease.key for lease in first] == ["request:r-new0", "request:r-new1"]
    rest = await scheduler.claim(limit=5)  # room left over goes to the background
    assert [lease.key for lease in rest] == ["request:r-new2", "request:r-old"]
    assert rest[1].payload == {"key": "request:r-old"} and rest[1].attempt == 1


async def test_background_work_runs_while_other_work_waits_for_later(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("poll:p", {}, delay=60)
    await _in_background(scheduler, "request:r-1")
    assert await scheduler.next_due_in() == 0
    [lease] = await scheduler.claim()
    assert lease.key == "request:r-1"
    assert await scheduler.complete(lease)
    assert await scheduler.pending() == 1


async def test_background_work_keeps_its_delay(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1", delay=1.0)
    await scheduler.schedule("poll:p", {}, delay=60)
    assert await scheduler.claim() == []  # nothing else is due, and it is not due yet
    wait = await scheduler.next_due_in()
    assert wait is not None and 0 < wait <= 1.0  # its own due time, not 60 s and not 317 years
    await asyncio.sleep(wait + 0.05)
    assert [lease.key for lease in await scheduler.claim()] == ["request:r-1"]


async def test_next_due_in_sees_background_work_alone(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1", delay=5)
    wait = await scheduler.next_due_in()
    assert wait is not None and 4 < wait <= 5


async def test_a_background_key_is_still_scheduled_once(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1")
    assert await scheduler.is_scheduled("request:r-1")
    assert not await scheduler.schedule("request:r-1", {"n": 2})
    assert await scheduler.pending() == 1
    [lease] = await scheduler.claim()
    assert lease.payload == {"key": "request:r-1"}


async def test_scheduling_earlier_brings_background_work_to_the_foreground(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1")
    assert await scheduler.schedule("request:r-1", {}, earlier=True)  # e.g. someone clicked again
    await scheduler.schedule("request:r-2", {})  # due after it: taken first were it still background
    score = await redis.zscore(keys.scheduler_due("work"), "request:r-1")
    assert score is not None and score < BACKGROUND
    assert [lease.key for lease in await scheduler.claim(limit=1)] == ["request:r-1"]


async def test_work_scheduled_again_while_leased_comes_back_in_the_foreground(
    redis: aioredis.Redis,
) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("request:r-1", {})
    [lease] = await scheduler.claim()
    await scheduler.schedule("request:r-1", {})  # a decision arrived while it ran: a rerun mark
    assert await scheduler.retry(lease, delay=0, background=True)
    score = await redis.zscore(keys.scheduler_due("work"), "request:r-1")
    assert score is not None and score < BACKGROUND


async def test_a_background_lease_is_fenced_and_extended_like_any_other(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1")
    [lease] = await scheduler.claim(lease_seconds=0.2)
    assert lease.attempt == 1
    assert await scheduler.extend(lease, lease_seconds=30)
    stale = Lease(lease.key, lease.payload, "not-the-token", lease.attempt)
    assert not await scheduler.complete(stale)
    await asyncio.sleep(0.3)
    assert await scheduler.claim() == []  # extended: still leased
    assert await scheduler.complete(lease)
    assert await scheduler.pending() == 0


async def test_background_work_handed_back_or_lost_comes_back_in_the_foreground(
    redis: aioredis.Redis,
) -> None:
    """A stopping worker's release, or a lease that runs out (a dead worker), makes background work
    due now like any other: it is then claimed before work due later, and parked like any other."""
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-released")
    await _in_background(scheduler, "request:r-lost")
    held = await scheduler.claim(limit=2, lease_seconds=0.2)
    assert [(lease.key, lease.background) for lease in held] == [
        ("request:r-released", True),
        ("request:r-lost", True),
    ]
    assert await scheduler.release(held[0])
    await asyncio.sleep(0.3)  # r-lost's lease runs out
    await scheduler.schedule("poll:p", {})  # due after both of them
    again = {lease.key: lease for lease in await scheduler.claim(limit=2)}
    assert sorted(again) == ["request:r-lost", "request:r-released"]  # both before poll:p
    assert not any(lease.background for lease in again.values())
    # a release is no failed try; a lease that ran out is
    assert again["request:r-released"].attempt == 1 and again["request:r-lost"].attempt == 2
    assert await scheduler.park(again["request:r-lost"], reason="gave up")
    assert [key for key, _ in await scheduler.parked()] == ["request:r-lost"]


async def test_background_work_that_fails_or_must_wait_stays_in_the_background(
    redis: aioredis.Redis,
) -> None:
    """A parent's update that waits for Slack's pace (TryLater) or fails is tried again in the
    background: once due, it still goes after every other due work."""
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "parent:paced")
    await _in_background(scheduler, "parent:broken")

    async def paced(lease: Lease) -> Outcome:
        raise TryLater("chat.update's turn is later", retry_in=0.05)

    async def broken(lease: Lease) -> Outcome:
        raise RuntimeError("Slack said no")

    runner = Runner(scheduler, {"parent": lambda lease: (paced if "paced" in lease.key else broken)(lease)})
    assert await runner.run_once() == 2
    due = keys.scheduler_due("work")
    for key in ("parent:paced", "parent:broken"):
        score = await redis.zscore(due, key)
        assert score is not None and score >= BACKGROUND, key
    await asyncio.sleep(0.1)  # the paced one is due again, in the background
    await scheduler.schedule("reply:r-1", {})  # due after it
    [first, second] = await scheduler.claim(limit=2)
    assert (first.key, first.background) == ("reply:r-1", False)
    assert (second.key, second.background, second.attempt) == ("parent:paced", True, 1)
    assert await redis.hget(keys.scheduler_attempts("work"), "parent:broken") == b"1"  # it counts


async def test_scheduling_earlier_never_puts_background_work_off(redis: aioredis.Redis) -> None:
    """``earlier`` brings background work into the foreground at the earlier of its own due time
    and the one asked for: work due now stays due now (not in an hour), work due in ten minutes
    comes forward to one."""
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:now")
    await _in_background(scheduler, "request:later", delay=600)
    assert await scheduler.schedule("request:now", {}, delay=3600, earlier=True)
    assert await scheduler.schedule("request:later", {}, delay=60, earlier=True)
    [lease] = await scheduler.claim()
    assert (lease.key, lease.background) == ("request:now", False)
    later = await redis.zscore(keys.scheduler_due("work"), "request:later")
    assert later is not None and later < BACKGROUND
    assert 59 < later - (await redis.time())[0] <= 61


async def test_a_runner_at_its_background_bound_goes_on_as_soon_as_a_handler_ends(
    redis: aioredis.Redis,
) -> None:
    """The settle wakes the runner while the settled handler still counts against the bound (here
    the on_settled hook's Redis call keeps it counting): its end must wake the runner again, or each
    background item would wait out the runner's idle sleep (5 s here)."""
    scheduler = Scheduler(redis)
    for n in range(6):
        await _in_background(scheduler, f"parent:{n}")
    done: list[str] = []
    all_done = asyncio.Event()

    async def parent(lease: Lease) -> Outcome:
        done.append(lease.key)
        if len(done) == 6:
            all_done.set()
        return Outcome.finished()

    async def settled(lease: Lease, outcome: Outcome) -> None:
        await redis.hincrby("{bb}:test:settled", lease.key, 1)

    runner = Runner(
        scheduler, {"parent": parent}, concurrency=4, background_at_once=1, idle_sleep=5.0, on_settled=settled
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    try:
        await asyncio.wait_for(all_done.wait(), 3)  # one idle sleep per item would take 25 s
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert sorted(done) == [f"parent:{n}" for n in range(6)]


def test_a_finished_outcome_takes_no_background() -> None:
    assert Outcome.in_background() == Outcome(done=False, retry_in=0.0, background=True)
    with pytest.raises(ValueError):
        Outcome(background=True)


async def test_the_runner_runs_background_work_after_all_other_due_work(redis: aioredis.Redis) -> None:
    """Two runs per item, the second in the background: with one handler at a time, every first run
    comes before any second run, even those of items that became due after the first item's second
    run did (in due order, item:a's second run would come first)."""
    scheduler = Scheduler(redis)
    runs: list[str] = []

    async def handler(lease: Lease) -> Outcome:
        second = lease.payload.get("second", False)
        runs.append(f"{lease.key}:{'second' if second else 'first'}")
        if second:
            return Outcome.finished()
        return Outcome(done=False, retry_in=0.0, payload={"second": True}, background=True)

    async def settled(lease: Lease, outcome: Outcome) -> None:
        if lease.key == "item:a" and outcome.background:
            for name in "bcd":  # more work arrives once item:a's second run is due
                await scheduler.schedule(f"item:{name}", {})

    await scheduler.schedule("item:a", {})
    runner = Runner(scheduler, {"item": handler}, concurrency=1, idle_sleep=0.05, on_settled=settled)
    for _ in range(8):
        assert await runner.run_once() == 1
    assert await runner.run_once() == 0
    assert runs == [
        "item:a:first",
        "item:b:first",
        "item:c:first",
        "item:d:first",
        "item:a:second",
        "item:b:second",
        "item:c:second",
        "item:d:second",
    ]


async def test_earliest_due_and_the_lag_metric_count_background_work(redis: aioredis.Redis) -> None:
    """Background work waiting past its due time is late too: with no worker up, the lag shows it."""
    from bot.app.metrics import render_metrics

    scheduler = Scheduler(redis)
    assert await scheduler.earliest_due() is None
    await _in_background(scheduler, "request:r-1")
    await scheduler.schedule("poll:p", {}, delay=60)
    due = await scheduler.earliest_due()
    seconds, micros = await redis.time()
    assert due is not None and abs(due - (seconds + micros / 1e6)) < 1  # its own time, not 317 years on
    await asyncio.sleep(1.1)
    text = (await render_metrics(redis)).decode()
    [lag] = [line for line in text.splitlines() if line.startswith("backup_bot_scheduler_lag_seconds ")]
    assert float(lag.split()[1]) >= 1.0


async def test_a_claim_takes_at_most_the_background_work_it_is_given_room_for(
    redis: aioredis.Redis,
) -> None:
    scheduler = Scheduler(redis)
    for n in range(3):
        await _in_background(scheduler, f"request:r-{n}")
    await scheduler.schedule("poll:p", {})
    leases = await scheduler.claim(limit=10, background=1)
    assert [(lease.key, lease.background) for lease in leases] == [
        ("poll:p", False),
        ("request:r-0", True),
    ]
    assert await scheduler.claim(limit=10, background=0) == []
    assert await scheduler.next_due_in(background=False) is not None  # the leases still count
    assert [lease.key for lease in await scheduler.claim(limit=10)] == ["request:r-1", "request:r-2"]


async def test_next_due_in_can_leave_background_work_out(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _in_background(scheduler, "request:r-1")
    assert await scheduler.next_due_in(background=False) is None
    await scheduler.schedule("poll:p", {}, delay=30)
    wait = await scheduler.next_due_in(background=False)
    assert wait is not None and 29 < wait <= 30
    assert await scheduler.next_due_in() == 0


async def test_the_runner_bounds_background_handlers_and_keeps_slots_for_other_work(
    redis: aioredis.Redis,
) -> None:
    """Four background items, one background handler at a time out of four slots: they run one by
    one, work that comes due meanwhile runs beside them (the first one waits for it: were there no
    slot for it, that one would give up after 5 s and the test fail), and the runner does not spin
    on the background work it has no room for."""
    claims = 0

    class Counting(Scheduler):
        async def claim(
            self, *, limit: int = 10, lease_seconds: float = 30.0, background: int | None = None
        ) -> list[Lease]:
            nonlocal claims
            claims += 1
            return await super().claim(limit=limit, lease_seconds=lease_seconds, background=background)

    scheduler = Counting(redis)
    for n in range(4):
        await _in_background(scheduler, f"parent:{n}")
    running, most, order = 0, 0, []
    first_started, urgent_done, parents_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def parent(lease: Lease) -> Outcome:
        nonlocal running, most
        running += 1
        most = max(most, running)
        order.append(lease.key)
        if not first_started.is_set():
            first_started.set()
            await asyncio.wait_for(urgent_done.wait(), 5)  # holds its slot until the urgent one ran
        else:
            await asyncio.sleep(0.15)
        running -= 1
        if sum(key.startswith("parent:") for key in order) == 4 and not running:
            parents_done.set()
        return Outcome.finished()

    async def reply(lease: Lease) -> Outcome:
        order.append(lease.key)
        urgent_done.set()
        return Outcome.finished()

    runner = Runner(
        scheduler,
        {"parent": parent, "reply": reply},
        concurrency=4,
        background_at_once=1,
        idle_sleep=0.5,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    try:
        await asyncio.wait_for(first_started.wait(), 5)
        await scheduler.schedule("reply:r-1", {})  # due while a background handler runs
        await asyncio.wait_for(parents_done.wait(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert most == 1
    assert order[:2] == ["parent:0", "reply:r-1"] and sorted(order[2:]) == [
        "parent:1",
        "parent:2",
        "parent:3",
    ]
    # Three 0.15 s background runs one after another: a runner that claimed again at once whenever
    # it had no room (measured: 79 claims) instead of waiting for a handler to settle makes far more.
    assert claims < 20, f"{claims} claims: the runner spun on work it had no room for"


def test_the_runner_refuses_no_room_for_background_work(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError):
        Runner(Scheduler(redis), {}, background_at_once=0)
