"""The durable scheduler and its runner against a real Redis server."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.app import work
from bot.store import keys
from bot.store.outcome import Outcome
from bot.store.scheduler import Lease, Scheduler
from bot.worker.handlers import _typed
from bot.worker.runner import Runner, exponential_backoff

# --- Scheduler ------------------------------------------------------------------------------------


async def test_scheduling_the_same_key_twice_is_a_no_op(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    assert await scheduler.schedule("create:r-1", {"n": 1})
    assert not await scheduler.schedule("create:r-1", {"n": 2}, delay=60)
    assert await scheduler.pending() == 1
    [lease] = await scheduler.claim()
    assert lease.payload == {"n": 1}  # the second payload did not replace the first
    assert lease.attempt == 1


async def test_a_leased_key_is_not_scheduled_twice_but_runs_again_after_it_settles(
    redis: aioredis.Redis,
) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("req:r1", {"n": 1})
    [lease] = await scheduler.claim()
    # Something changed while the handler ran: the key is not duplicated...
    assert not await scheduler.schedule("req:r1", {"n": 2})
    assert await scheduler.claim() == []
    # ...but completing it makes it due again at once, as a fresh first attempt.
    assert await scheduler.complete(lease)
    [again] = await scheduler.claim()
    assert (again.key, again.attempt, again.payload) == ("req:r1", 1, {"n": 1})
    assert await scheduler.complete(again)
    assert await scheduler.pending() == 0
    assert await scheduler.schedule("req:r1", {"n": 3})  # once done, the key is free again


async def test_a_rerun_mark_cuts_a_retry_delay_short(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("req:r1", {})
    [lease] = await scheduler.claim()
    await scheduler.schedule("req:r1", {})
    assert await scheduler.retry(lease, delay=3600)
    [again] = await scheduler.claim()
    assert again.key == "req:r1"


async def test_a_chosen_reschedule_resets_attempts_and_a_failure_does_not(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("poll:p", {})
    [first] = await scheduler.claim()
    assert await scheduler.retry(first, delay=0)  # a failure: counting goes on
    [second] = await scheduler.claim()
    assert second.attempt == 2
    assert await scheduler.retry(second, delay=0, reset_attempts=True)  # the handler chose "later"
    [third] = await scheduler.claim()
    assert third.attempt == 1


async def test_all_keys_share_the_hash_tag(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {})
    await scheduler.claim()
    stored = {k.decode() if isinstance(k, bytes) else k for k in await redis.keys("*")}
    assert stored
    assert all(name.startswith(keys.HASH_TAG + ":") for name in stored)


async def test_delay_is_respected(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("notify:r-1", {"text": "hi"}, delay=0.2)
    assert await scheduler.claim() == []
    assert await scheduler.is_scheduled("notify:r-1")
    due_in = await scheduler.next_due_in()
    assert due_in is not None
    assert 0 < due_in <= 0.2
    await asyncio.sleep(due_in + 0.05)
    assert await scheduler.next_due_in() == 0
    [lease] = await scheduler.claim()
    assert (lease.key, lease.payload) == ("notify:r-1", {"text": "hi"})


async def test_empty_scheduler(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    assert await scheduler.next_due_in() is None
    assert await scheduler.pending() == 0
    assert not await scheduler.is_scheduled("create:r-1")
    assert await scheduler.claim() == []


async def test_claim_respects_limit_and_takes_earliest_first(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    for i in range(5):
        await scheduler.schedule(f"k:{i}", {"i": i}, delay=0.01 * (4 - i))  # k:4 is due first
    await asyncio.sleep(0.1)
    first = await scheduler.claim(limit=2)
    assert [lease.key for lease in first] == ["k:4", "k:3"]
    rest = await scheduler.claim(limit=10)
    assert [lease.key for lease in rest] == ["k:2", "k:1", "k:0"]
    assert len({lease.token for lease in first + rest}) == 5


async def test_claim_is_exclusive_under_concurrent_claimers(redis_url: str, redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    for i in range(150):
        await scheduler.schedule(f"create:r-{i}", {"i": i})
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(20)]
    try:
        schedulers = [Scheduler(client) for client in clients]
        batches = await asyncio.gather(*(s.claim(limit=10) for s in schedulers))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    claimed = Counter(lease.key for batch in batches for lease in batch)
    assert len(claimed) == 150
    assert set(claimed.values()) == {1}


async def test_an_expired_lease_comes_back_with_a_new_token(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {"n": 1})
    [first] = await scheduler.claim(lease_seconds=0.2)
    assert await scheduler.claim(lease_seconds=0.2) == []  # leased: nobody else gets it
    await asyncio.sleep(0.3)  # the worker "died"
    [second] = await scheduler.claim(lease_seconds=5)
    assert second.key == "create:r-1"
    assert second.payload == {"n": 1}
    assert second.attempt == 2
    assert second.token != first.token


async def test_stale_tokens_change_nothing(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {"n": 1})
    [stale] = await scheduler.claim(lease_seconds=0.1)
    await asyncio.sleep(0.2)
    [current] = await scheduler.claim(lease_seconds=5)
    before = await _dump(redis)

    assert not await scheduler.complete(stale)
    assert not await scheduler.retry(stale, delay=0, payload={"n": 99})
    assert not await scheduler.extend(stale, lease_seconds=100)
    assert await _dump(redis) == before

    forged = Lease(current.key, current.payload, "not-a-token", current.attempt)
    assert not await scheduler.complete(forged)
    assert await scheduler.complete(current)
    assert await scheduler.pending() == 0
    assert await redis.keys("*") == []  # nothing left behind


async def test_settling_twice_fails_the_second_time(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {})
    [lease] = await scheduler.claim()
    assert await scheduler.retry(lease, delay=60)
    assert not await scheduler.complete(lease)  # retry cleared the token
    assert not await scheduler.retry(lease, delay=0)
    assert await scheduler.is_scheduled("create:r-1")


async def test_retry_reschedules_and_replaces_the_payload(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("poll:p", {"round": 1})
    [lease] = await scheduler.claim()
    assert await scheduler.retry(lease, delay=0.15, payload={"round": 2})
    assert await scheduler.claim() == []
    await asyncio.sleep(0.2)
    [again] = await scheduler.claim()
    assert again.payload == {"round": 2}
    assert again.attempt == 2
    assert await scheduler.retry(again, delay=0)  # without a payload the current one is kept
    [third] = await scheduler.claim()
    assert (third.payload, third.attempt) == ({"round": 2}, 3)


async def test_extend_keeps_the_lease(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {})
    [lease] = await scheduler.claim(lease_seconds=0.2)
    assert await scheduler.extend(lease, lease_seconds=5)
    await asyncio.sleep(0.3)
    assert await scheduler.claim() == []
    due_in = await scheduler.next_due_in()
    assert due_in is not None
    assert due_in > 4
    assert await scheduler.complete(lease)


async def test_namespaces_are_independent(redis: aioredis.Redis) -> None:
    work, other = Scheduler(redis), Scheduler(redis, namespace="other")
    await work.schedule("create:r-1", {})
    assert await other.schedule("create:r-1", {})
    assert await other.pending() == 1
    [lease] = await work.claim()
    assert not await other.complete(lease)


async def test_bad_arguments_are_refused_before_touching_redis(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    with pytest.raises(ValueError):
        await scheduler.schedule("k:1", {}, delay=-1)
    with pytest.raises(ValueError):
        await scheduler.schedule("k:1", {}, delay=float("nan"))
    with pytest.raises(TypeError):
        await scheduler.schedule("k:1", {"x": object()})
    with pytest.raises(ValueError):
        await scheduler.claim(limit=0)
    with pytest.raises(ValueError):
        Scheduler(redis, namespace="{x}")
    assert await redis.keys("*") == []


async def test_works_with_a_decoding_client(redis_url: str, redis: aioredis.Redis) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        scheduler = Scheduler(client)
        await scheduler.schedule("create:r-é", {"name": "nœud"})
        [lease] = await scheduler.claim()
        assert (lease.key, lease.payload) == ("create:r-é", {"name": "nœud"})
        assert await scheduler.complete(lease)
    finally:
        await client.aclose()


UNREADABLE = {
    "req:r-notjson001": b"{not json",
    "req:r-alist00001": b"[1, 2]",
    "req:r-astring001": b'"req"',
    "req:r-anull00001": b"null",
    "req:r-notutf8001": b'{"request_id": "\xff\xfe"}',
    "req:r-toodeep001": b"[" * 100_000,
}


async def _unreadable(redis: aioredis.Redis) -> None:
    """Store payloads no version of the bot wrote, as a hand edit or another program could."""
    await redis.hset(keys.scheduler_payloads("work"), mapping=UNREADABLE)
    await redis.zadd(keys.scheduler_due("work"), dict.fromkeys(UNREADABLE, 0))


async def test_a_payload_that_is_no_json_object_is_claimed_as_unreadable(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _unreadable(redis)
    await scheduler.schedule("req:r-readable01", {"request_id": "r-readable01"})
    leases = {lease.key: lease for lease in await scheduler.claim(limit=20)}
    assert set(leases) == {*UNREADABLE, "req:r-readable01"}  # one bad payload costs no other work
    good = leases.pop("req:r-readable01")
    assert (good.payload, good.unreadable) == ({"request_id": "r-readable01"}, "")
    for key, lease in leases.items():
        assert lease.payload == {} and lease.unreadable, key
        with pytest.raises(work.PoisonWork, match="payload"):
            work.read(lease)


async def test_unreadable_work_is_parked_on_its_first_claim_and_the_rest_runs(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await _unreadable(redis)
    await scheduler.schedule("req:r-readable01", {"request_id": "r-readable01"})
    ran: list[str] = []

    async def advance(item: work.AdvanceRequest, _: Lease) -> Outcome:
        ran.append(item.request_id)
        return Outcome.finished()

    runner = Runner(scheduler, {"req": _typed(work.AdvanceRequest, advance)}, concurrency=20)
    assert await runner.run_once() == len(UNREADABLE) + 1
    assert ran == ["r-readable01"]
    parked = dict(await scheduler.parked())
    assert set(parked) == set(UNREADABLE)
    assert all(d["attempts"] == 1 and "unreadable" in d["reason"] for d in parked.values()), parked
    assert await scheduler.pending() == 0
    # A restarted worker finds nothing left to claim (and nothing to die on).
    assert await Runner(scheduler, {"req": _typed(work.AdvanceRequest, advance)}).run_once() == 0


async def _dump(redis: aioredis.Redis) -> dict[bytes | str, Any]:
    """Every scheduler key's full content, to show that nothing changed."""
    dump: dict[bytes | str, Any] = {}
    for name in await redis.keys("*"):
        if await redis.type(name) == b"zset":
            dump[name] = await redis.zrange(name, 0, -1, withscores=True)
        else:
            dump[name] = await redis.hgetall(name)
    return dump


# --- Runner ---------------------------------------------------------------------------------------


def _quick_backoff(attempt: int) -> float:
    return 0.05


async def test_runner_dispatches_by_prefix(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    seen: list[tuple[str, str, dict[str, Any]]] = []

    async def create(lease: Lease) -> Outcome:
        seen.append(("create", lease.key, lease.payload))
        return Outcome.finished()

    async def notify(lease: Lease) -> Outcome:
        seen.append(("notify", lease.key, lease.payload))
        return Outcome.finished()

    await scheduler.schedule("create:r-1", {"a": 1})
    await scheduler.schedule("notify:final:r-1", {"b": 2})
    runner = Runner(scheduler, {"create": create, "notify": notify})
    assert await runner.run_once() == 2
    assert sorted(seen) == [("create", "create:r-1", {"a": 1}), ("notify", "notify:final:r-1", {"b": 2})]
    assert await scheduler.pending() == 0
    assert await runner.run_once() == 0


async def test_runner_reschedules_on_later(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    rounds: list[int] = []

    async def poll(lease: Lease) -> Outcome:
        rounds.append(lease.payload["round"])
        return Outcome.later(0.05, {"round": lease.payload["round"] + 1})

    await scheduler.schedule("poll:p", {"round": 1})
    runner = Runner(scheduler, {"poll": poll})
    assert await runner.run_once() == 1
    assert await runner.run_once() == 0  # not due yet
    await asyncio.sleep(0.1)
    assert await runner.run_once() == 1
    assert rounds == [1, 2]
    assert await scheduler.is_scheduled("poll:p")


async def test_runner_retries_a_failing_handler_with_backoff(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(redis)
    attempts: list[int] = []
    backoffs: list[int] = []

    async def create(lease: Lease) -> Outcome:
        attempts.append(lease.attempt)
        if lease.attempt < 3:
            raise RuntimeError("cloud says no")
        return Outcome.finished()

    def backoff(attempt: int) -> float:
        backoffs.append(attempt)
        return 0.1

    await scheduler.schedule("create:r-1", {})
    runner = Runner(scheduler, {"create": create}, error_backoff=backoff)
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        assert await runner.run_once() == 1
        assert await runner.run_once() == 0  # backing off
        due_in = await scheduler.next_due_in()
        assert due_in is not None
        assert due_in > 0
        for _ in range(2):
            await asyncio.sleep(0.15)
            assert await runner.run_once() == 1
    assert attempts == [1, 2, 3]
    assert backoffs == [1, 2]
    assert await scheduler.pending() == 0
    failures = [r for r in caplog.records if r.name == "bot.scheduler"]
    assert len(failures) == 2
    assert failures[0].exc_info is not None
    assert "create:r-1" in failures[0].getMessage()


async def test_runner_times_out_a_hung_handler_and_retries_it(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(redis)
    attempts: list[int] = []

    async def create(lease: Lease) -> Outcome:
        attempts.append(lease.attempt)
        if lease.attempt == 1:
            await asyncio.Event().wait()  # hangs forever
        return Outcome.finished()

    await scheduler.schedule("create:r-1", {})
    runner = Runner(
        scheduler, {"create": create}, lease_seconds=5, handler_timeout=0.1, error_backoff=_quick_backoff
    )
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        assert await asyncio.wait_for(runner.run_once(), 2) == 1
    assert any("timed out" in r.getMessage() for r in caplog.records)
    # Retried after the backoff, not after the 5 s lease.
    await asyncio.sleep(0.1)
    assert await runner.run_once() == 1
    assert attempts == [1, 2]
    assert await scheduler.pending() == 0


async def test_runner_retries_work_without_a_handler(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("mystery:1", {})
    runner = Runner(scheduler, {}, error_backoff=_quick_backoff)
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        assert await runner.run_once() == 1
    assert await scheduler.is_scheduled("mystery:1")
    assert any("no handler" in r.getMessage() for r in caplog.records)


async def _expire_lease(redis: aioredis.Redis, key: str) -> None:
    """Make a leased key due now, as if its lease had run out (cheaper than waiting for it)."""
    await redis.zadd(keys.scheduler_due("work"), {key: 0}, xx=True)


async def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_owner(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {"owner": "nobody"})
    taken_over: list[Lease] = []

    async def slow(lease: Lease) -> Outcome:
        # Meanwhile the lease runs out and another worker claims the work.
        await _expire_lease(redis, lease.key)
        taken_over.extend(await Scheduler(redis).claim(lease_seconds=5))
        return Outcome.later(0, {"owner": "stale"})

    runner = Runner(scheduler, {"create": slow})
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        assert await runner.run_once() == 1
    assert any("lost the lease" in r.getMessage() for r in caplog.records)
    # The stale settle was refused: the new owner's lease and the original payload are intact.
    [current] = taken_over
    assert current.attempt == 2
    assert await scheduler.claim() == []
    assert await scheduler.retry(current, delay=0)
    [after] = await scheduler.claim()
    assert after.payload == {"owner": "nobody"}


async def test_a_runner_never_runs_a_key_it_is_still_running(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    await scheduler.schedule("create:r-1", {})
    expired, release = asyncio.Event(), asyncio.Event()
    attempts: list[int] = []

    async def create(lease: Lease) -> Outcome:
        attempts.append(lease.attempt)
        await _expire_lease(redis, lease.key)  # the lease runs out while this still runs
        expired.set()
        await release.wait()
        return Outcome.finished()

    runner = Runner(scheduler, {"create": create})
    first = asyncio.create_task(runner.run_once())
    await asyncio.wait_for(expired.wait(), 1)
    assert await runner.run_once() == 0  # claimed attempt 2, but did not run it
    release.set()
    assert await first == 1
    assert attempts == [1]


async def test_work_due_again_at_once_runs_while_the_last_run_is_still_being_counted(
    redis: aioredis.Redis,
) -> None:
    """A key scheduled again while it ran is due the moment it settles; a claim made while the
    settled run's bookkeeping (``on_settled``) still goes on runs it, instead of skipping it as
    "still running here" and leaving it to wait out its lease."""
    scheduler = Scheduler(redis)
    counting, second_run = asyncio.Event(), asyncio.Event()
    runs: list[int] = []

    async def poll(lease: Lease) -> Outcome:
        runs.append(lease.attempt)
        if len(runs) == 1:
            await scheduler.schedule(lease.key, {})  # marked to run once more
        else:
            second_run.set()
        return Outcome.finished()

    async def count(lease: Lease, outcome: Outcome) -> None:
        if len(runs) == 1:
            counting.set()
            await second_run.wait()  # the first run's bookkeeping outlasts the second run's claim

    await scheduler.schedule("poll:p", {})
    runner = Runner(scheduler, {"poll": poll}, on_settled=count, lease_seconds=30)
    first = asyncio.create_task(runner.run_once())
    await asyncio.wait_for(counting.wait(), 2)
    assert await runner.run_once() == 1  # claimed and run now, not in 30 s
    assert runs == [1, 1]
    await asyncio.wait_for(first, 2)
    assert await scheduler.pending() == 0


async def test_two_runners_handle_each_key_exactly_once(redis_url: str, redis: aioredis.Redis) -> None:
    count = 200
    scheduler = Scheduler(redis)
    for i in range(count):
        await scheduler.schedule(f"notify:{i}", {"i": i})
    handled: Counter[str] = Counter()
    running: set[str] = set()
    all_done = asyncio.Event()

    async def notify(lease: Lease) -> Outcome:
        assert lease.key not in running  # never twice at once
        running.add(lease.key)
        await asyncio.sleep(0.001)
        running.discard(lease.key)
        handled[lease.key] += 1
        if len(handled) == count:
            all_done.set()
        return Outcome.finished()

    clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
    stop = asyncio.Event()
    try:
        runners = [Runner(Scheduler(c), {"notify": notify}, concurrency=8, idle_sleep=0.05) for c in clients]
        workers = [asyncio.create_task(r.run_forever(stop)) for r in runners]
        await asyncio.wait_for(all_done.wait(), 3)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), 2)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert len(handled) == count
    assert set(handled.values()) == {1}
    assert await scheduler.pending() == 0


async def test_run_forever_stops_promptly_when_idle(redis: aioredis.Redis) -> None:
    runner = Runner(Scheduler(redis), {}, idle_sleep=30)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run_forever(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 1)


async def test_run_forever_finishes_in_flight_work_on_stop(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    started, finished = asyncio.Event(), asyncio.Event()

    async def create(lease: Lease) -> Outcome:
        started.set()
        await asyncio.sleep(0.2)
        finished.set()
        return Outcome.finished()

    await scheduler.schedule("create:r-1", {})
    await scheduler.schedule("create:r-2", {}, delay=0.3)  # due only after the stop
    stop = asyncio.Event()
    task = asyncio.create_task(Runner(scheduler, {"create": create}, idle_sleep=0.05).run_forever(stop))
    await asyncio.wait_for(started.wait(), 1)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert finished.is_set()
    assert not await scheduler.is_scheduled("create:r-1")  # settled before returning
    assert await scheduler.is_scheduled("create:r-2")  # nothing new was claimed after the stop
    await asyncio.sleep(0.35)
    [lease] = await scheduler.claim()
    assert lease.attempt == 1


async def test_run_forever_sleeps_until_the_next_due_item(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    done = asyncio.Event()

    async def notify(lease: Lease) -> Outcome:
        done.set()
        return Outcome.finished()

    await scheduler.schedule("notify:r-1", {}, delay=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(Runner(scheduler, {"notify": notify}, idle_sleep=30).run_forever(stop))
    try:
        # idle_sleep is 30 s, yet the item is handled soon after it is due.
        await asyncio.wait_for(done.wait(), 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 1)


async def test_run_forever_refills_a_slot_while_a_slow_handler_runs(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    release, fast_done = asyncio.Event(), asyncio.Event()

    async def work(lease: Lease) -> Outcome:
        if lease.key == "create:slow":
            await release.wait()
        else:
            fast_done.set()
        return Outcome.finished()

    await scheduler.schedule("create:slow", {})
    await scheduler.schedule("create:fast", {}, delay=0.1)
    stop = asyncio.Event()
    runner = Runner(scheduler, {"create": work}, concurrency=2, idle_sleep=0.05)
    task = asyncio.create_task(runner.run_forever(stop))
    try:
        await asyncio.wait_for(fast_done.wait(), 2)
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(task, 1)
    assert await scheduler.pending() == 0


def test_outcome_rules() -> None:
    assert Outcome.finished() == Outcome()
    assert Outcome.later(3, {"a": 1}) == Outcome(done=False, retry_in=3, payload={"a": 1})
    with pytest.raises(ValueError):
        Outcome(done=False)
    with pytest.raises(ValueError):
        Outcome(retry_in=1)
    with pytest.raises(ValueError):
        Outcome.later(-1)


async def test_runner_refuses_a_timeout_as_long_as_the_lease(redis: aioredis.Redis) -> None:
    with pytest.raises(ValueError):
        Runner(Scheduler(redis), {}, lease_seconds=10, handler_timeout=10)


def test_exponential_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempt in range(1, 12):
        ceiling = min(300.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= exponential_backoff(attempt) <= ceiling
    assert exponential_backoff(10_000) <= 300
    assert len({exponential_backoff(8) for _ in range(20)}) > 1


async def test_run_forever_survives_redis_errors(
    redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    class FlakyScheduler(Scheduler):
        failures = 2

        async def claim(
            self, *, limit: int = 10, lease_seconds: float = 30.0, background: int | None = None
        ) -> list[Lease]:
            if self.failures:
                self.failures -= 1
                raise RedisConnectionError("Redis went away")
            return await super().claim(limit=limit, lease_seconds=lease_seconds, background=background)

    scheduler = FlakyScheduler(redis)
    done = asyncio.Event()

    async def notify(lease: Lease) -> Outcome:
        done.set()
        return Outcome.finished()

    await scheduler.schedule("notify:r-1", {})
    stop = asyncio.Event()
    runner = Runner(scheduler, {"notify": notify}, idle_sleep=0.02)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        task = asyncio.create_task(runner.run_forever(stop))
        try:
            await asyncio.wait_for(done.wait(), 2)
        finally:
            stop.set()
            await asyncio.wait_for(task, 1)
    said = [r for r in caplog.records if "cannot reach Redis to claim work" in r.getMessage()]
    assert len(said) == 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in said)  # one line, no traceback


async def test_heartbeat_keeps_a_long_handler_leased_and_unique(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    runs: list[str] = []

    async def slow(lease: Lease) -> Outcome:
        runs.append(lease.token)
        await asyncio.sleep(1.0)  # three lease lengths
        return Outcome.finished()

    first = Runner(scheduler, {"slow": slow}, lease_seconds=0.3, handler_timeout=5.0, heartbeat=True)
    second = Runner(scheduler, {"slow": slow}, lease_seconds=0.3, handler_timeout=5.0, heartbeat=True)
    await scheduler.schedule("slow:1", {})
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run_forever(stop)) for r in (first, second)]
    for _ in range(100):
        await asyncio.sleep(0.05)
        if await scheduler.pending() == 0:
            break
    stop.set()
    await asyncio.gather(*tasks)
    assert len(runs) == 1, "the lease lapsed while the handler was still running"
    assert await scheduler.pending() == 0


async def test_a_lost_lease_cancels_the_handler(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    cancelled = asyncio.Event()

    async def stuck(lease: Lease) -> Outcome:
        await redis.hset(keys.scheduler_tokens("work"), lease.key, "stolen")  # another worker took over
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return Outcome.finished()

    runner = Runner(scheduler, {"stuck": stuck}, lease_seconds=0.3, handler_timeout=5.0, heartbeat=True)
    await scheduler.schedule("stuck:1", {})
    assert await runner.run_once() == 1
    assert cancelled.is_set()


async def test_work_scheduled_in_this_process_wakes_an_idle_runner(redis: aioredis.Redis) -> None:
    scheduler = Scheduler(redis)
    handled = asyncio.Event()

    async def notify(lease: Lease) -> Outcome:
        handled.set()
        return Outcome.finished()

    stop = asyncio.Event()
    task = asyncio.create_task(Runner(scheduler, {"notify": notify}, idle_sleep=30).run_forever(stop))
    await asyncio.sleep(0.1)  # the runner is now in its 30 s idle sleep
    await scheduler.schedule("notify:r-1", {})
    await asyncio.wait_for(handled.wait(), 5)  # not 30
    stop.set()
    await task
