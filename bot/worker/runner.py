"""The runner: claims due work from the :class:`~bot.store.scheduler.Scheduler` and runs the handler
of each work key's kind, under a lease kept alive by a heartbeat, then settles it. Told to stop, it
drains: claims nothing more, lets the handlers in flight finish for a while, and hands back the work
of those that did not (its lease released, so another worker takes it at once)."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping

from redis.exceptions import ClusterError, RedisError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.domain.backoff import backoff
from bot.logs import current_work
from bot.store.outcome import Outcome, TryLater
from bot.store.scheduler import Lease, Scheduler

logger = logging.getLogger("bot.scheduler")


Handler = Callable[[Lease], Awaitable[Outcome]]


def exponential_backoff(attempt: int) -> float:
    """After a handler failed: equal jitter from 1 s up to 5 min, so failures that happened together
    spread out, yet a retry is never immediate."""
    return backoff(attempt, base=1.0, cap=300.0, jitter=0.5)


def _again(lease: Lease, delay: float, *, failed: bool) -> Outcome:
    """The work again in ``delay`` seconds, after a failure (``failed``: attempts keep counting) or a
    wait that is nobody's failure. Background work stays in the background: a parent's update that
    failed or waits for Slack's pace still goes after every final reply due when it is."""
    return Outcome(done=False, retry_in=delay, failed=failed, background=lease.background)


DEFAULT_ATTEMPTS = 8
"""Failed tries (in a row) after which a kind of work is parked, unless it has a budget of its own."""

# Answers a settle may get while a cluster reshards or fails over; the settle is fenced by its token,
# so trying it again is safe.
_PASSING = (ClusterError, TryAgainError, RedisConnectionError)

# How long run_forever waits at most before trying Redis again after it failed to answer.
_REDIS_RETRY_CAP = 5.0
# Redis not reachable (down, restarting, a cluster between a primary's death and its replica's
# promotion): said in one line, not a traceback.
_UNREACHABLE = (*_PASSING, RedisTimeoutError, OSError)
# Floor for idle sleeps, so a clock edge never turns the loop into a busy spin.
_MIN_SLEEP = 0.005
# How long handing one piece of work back may take: past it, its lease runs out instead.
_HAND_BACK_WITHIN = 2.0


class Runner:
    """Claims due work and runs the handler named by the work key's prefix (``"create:…"`` → "create").

    Without ``heartbeat``, ``handler_timeout`` must be shorter than ``lease_seconds``: a handler is cut
    off before its lease ends, so no other worker can claim the same key while it still runs. With
    ``heartbeat``, the runner extends the lease every third of ``lease_seconds`` while the handler
    runs, so the lease can be short (a dead worker's work comes back quickly) and the handler long;
    if an extension is refused (the lease was lost), the handler is cancelled.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        handlers: Mapping[str, Handler],
        *,
        lease_seconds: float = 30.0,
        handler_timeout: float = 20.0,
        concurrency: int = 8,
        idle_sleep: float = 0.5,
        error_backoff: Callable[[int], float] = exponential_backoff,
        heartbeat: bool = False,
        on_settled: Callable[[Lease, Outcome], Awaitable[None]] | None = None,
        attempts: Mapping[str, int] | None = None,
        on_parked: Callable[[Lease, str], Awaitable[None]] | None = None,
        drain_seconds: float = 5.0,
        background_at_once: int | None = None,
    ) -> None:
        if handler_timeout <= 0 or (not heartbeat and handler_timeout >= lease_seconds):
            raise ValueError("handler_timeout must be positive and shorter than lease_seconds")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if background_at_once is not None and background_at_once < 1:
            raise ValueError("background_at_once must be at least 1 (or None)")
        if idle_sleep <= 0:
            raise ValueError("idle_sleep must be positive")
        if drain_seconds < 0:
            raise ValueError("drain_seconds must not be negative")
        self._scheduler = scheduler
        self._handlers = dict(handlers)
        self._lease_seconds = lease_seconds
        self._handler_timeout = handler_timeout
        self._concurrency = concurrency
        self._idle_sleep = idle_sleep
        self._error_backoff = error_backoff
        self._heartbeat = heartbeat
        self._on_settled = on_settled  # e.g. metrics; must not raise
        self._attempts = dict(attempts or {})  # kind → failed tries in a row before the work is parked
        self._on_parked = on_parked  # tell whoever waits for the work; must not raise
        self._drain_seconds = drain_seconds  # how long stopping waits for the handlers in flight
        self._running: set[str] = set()  # work keys with a handler running in this process
        # Handlers of background work at once (None: as many as ``concurrency``): the rest of the
        # slots, and of the loop's time, stay free for work that comes due meanwhile.
        self._background_most = concurrency if background_at_once is None else background_at_once

    async def run_once(self) -> int:
        """Claim up to ``concurrency`` due keys, run their handlers concurrently, settle each.
        Returns how many were handled."""
        leases = await self._scheduler.claim(limit=self._concurrency, lease_seconds=self._lease_seconds)
        handled = await asyncio.gather(*(self._process(lease) for lease in leases))
        return sum(handled)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then drain: give the handlers in flight ``drain_seconds`` to
        finish and settle, cancel the rest and hand their work back (:meth:`Scheduler.release`), and
        return.

        Unlike looping :meth:`run_once`, a free slot is refilled as soon as a handler finishes, so one
        slow handler does not hold back the rest of the batch. Redis errors are logged and retried.
        """
        in_flight: set[asyncio.Task[bool]] = set()
        background: set[asyncio.Task[bool]] = set()  # those of in_flight running background work
        stopping = asyncio.create_task(stop.wait())
        failures = 0
        try:
            while not stop.is_set():
                free = self._concurrency - len(in_flight)
                if free == 0:
                    await asyncio.wait({stopping, *in_flight}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                # Cleared before claiming: work scheduled from here on wakes the pause below.
                self._scheduler.local_work.clear()
                room = max(0, self._background_most - len(background))
                try:
                    leases = await self._scheduler.claim(
                        limit=free, lease_seconds=self._lease_seconds, background=room
                    )
                    for lease in leases:
                        task = asyncio.create_task(self._process(lease), name=f"scheduler:{lease.key}")
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                        if lease.background:
                            background.add(task)
                            task.add_done_callback(functools.partial(self._room_freed, background))
                    # A full batch means more may be due: claim again at once. With no room for
                    # background work, only other work wakes it early (or a handler settling).
                    pause = await self._idle_time(background=room > 0) if len(leases) < free else 0.0
                    failures = 0
                except (RedisError, OSError) as exc:
                    failures += 1
                    pause = backoff(failures, base=self._idle_sleep * 2, cap=_REDIS_RETRY_CAP, jitter=0.0)
                    if isinstance(exc, _UNREACHABLE):  # Redis is down or failing over: not our bug
                        logger.warning(
                            "cannot reach Redis to claim work (%s); trying again in %.1fs", exc, pause
                        )
                    else:
                        logger.exception("cannot claim work from Redis; trying again in %.1fs", pause)
                if pause > 0:
                    woken = asyncio.create_task(self._scheduler.local_work.wait())
                    await asyncio.wait({stopping, woken}, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
            if in_flight:
                await self._drain(in_flight)
        finally:
            # Only reached with tasks still running if we were cancelled: each hands its work back
            # as it is cancelled (see _process).
            stopping.cancel()
            for task in in_flight:
                task.cancel()
            await asyncio.gather(stopping, *in_flight, return_exceptions=True)

    async def _drain(self, in_flight: set[asyncio.Task[bool]]) -> None:
        _, unfinished = await asyncio.wait(set(in_flight), timeout=self._drain_seconds)
        if not unfinished:
            return
        logger.warning(
            "stopping: %d handler(s) still running after %.1fs; handing their work back",
            len(unfinished),
            self._drain_seconds,
        )
        for task in unfinished:
            task.cancel()
        # Each hands its work back as it ends (see _process), within a bound of its own.
        await asyncio.wait(unfinished, timeout=_HAND_BACK_WITHIN + 1.0)

    async def _hand_back(self, lease: Lease) -> None:
        """Release ``lease`` (fenced by its token: a no-op once settled), within a bound."""
        try:
            async with asyncio.timeout(_HAND_BACK_WITHIN):
                released = await self._scheduler.release(lease)
        except (TimeoutError, RedisError, OSError) as exc:
            logger.warning("could not hand %s back (%s); it returns when its lease runs out", lease.key, exc)
            return
        if released:
            logger.info("handed %s back unfinished (attempt %d)", lease.key, lease.attempt)

    def _room_freed(self, background: set[asyncio.Task[bool]], task: asyncio.Task[bool]) -> None:
        """A background handler's task ended: one more may start, so a pause that left background
        work out ends now (the settle's wake-up came while this task still counted)."""
        background.discard(task)
        self._scheduler.local_work.set()

    async def _idle_time(self, *, background: bool = True) -> float:
        due_in = await self._scheduler.next_due_in(background=background)
        if due_in is None:
            return self._idle_sleep
        return max(_MIN_SLEEP, min(self._idle_sleep, due_in))

    async def _process(self, lease: Lease) -> bool:
        if lease.key in self._running:
            # An earlier lease of this key ran out while its handler here was still busy (a blocked
            # event loop can do that). Never run a key twice at once: this lease will run out too.
            logger.warning("%s is still running here; skipping attempt %d", lease.key, lease.attempt)
            return False
        self._running.add(lease.key)
        token = current_work.set(lease.key)
        try:
            try:
                outcome = await (
                    self._run_with_heartbeat(lease) if self._heartbeat else self._run_handler(lease)
                )
                await self._settle(lease, outcome)
            except asyncio.CancelledError:
                # Stopping (see _drain): another worker may take the work now. Once settled, the
                # token no longer matches and this changes nothing.
                await self._hand_back(lease)
                raise
            finally:
                # Settled or handed back: the key's next run may start here from now on, even while
                # this one is still being counted (a claim in the meantime must not be skipped and
                # left to wait out its lease).
                self._running.discard(lease.key)
            # Settling may have made work due now (a rerun mark, a retry in 0 s): look again.
            self._scheduler.local_work.set()
            if self._on_settled is not None:
                await self._on_settled(lease, outcome)
        finally:
            current_work.reset(token)
        return True

    async def _run_with_heartbeat(self, lease: Lease) -> Outcome:
        handler = asyncio.create_task(self._run_handler(lease))
        beat = self._lease_seconds / 3
        held_until = lease.held_until  # by the monotonic clock: the lease surely lasts until then
        try:
            while True:
                done, _ = await asyncio.wait({handler}, timeout=beat)
                if done:
                    return handler.result()
                sent = time.monotonic()
                try:
                    # An answer that comes after the lease may have ended is no answer.
                    within = held_until - sent - beat / 2
                    async with asyncio.timeout(max(0.0, within) if within < math.inf else None):
                        kept = await self._scheduler.extend(lease, lease_seconds=self._lease_seconds)
                except (RedisError, OSError, TimeoutError):
                    if time.monotonic() + beat < held_until:
                        logger.warning("could not extend the lease on %s; trying again", lease.key)
                        continue
                    # Redis cannot be reached and the lease may end before the next beat: another
                    # worker may take the work then, so this one must not go on doing it.
                    logger.error("could not extend the lease on %s before it ends; cancelling it", lease.key)
                    kept = False
                else:
                    held_until = sent + self._lease_seconds if kept else held_until
                if not kept:
                    logger.error("lost the lease on %s while its handler ran; cancelling it", lease.key)
                    handler.cancel()
                    await asyncio.gather(handler, return_exceptions=True)
                    return Outcome(done=False, retry_in=0.0, failed=True)
        finally:
            # Cancelled ourselves (stopping): the handler must not run on once its work is handed back.
            if not handler.done():
                handler.cancel()
                await asyncio.gather(handler, return_exceptions=True)

    def _budget(self, lease: Lease) -> int:
        return self._attempts.get(lease.key.partition(":")[0], DEFAULT_ATTEMPTS)

    async def _run_handler(self, lease: Lease) -> Outcome:
        if lease.attempt > self._budget(lease):
            # Tried (or claimed by workers that died) as often as this kind of work may be.
            return Outcome.give_up(f"no success in {lease.attempt - 1} tries")
        outcome = await self._call_handler(lease)
        if outcome.failed and not outcome.parked and lease.attempt >= self._budget(lease):
            return Outcome.give_up(f"failed {lease.attempt} times in a row")
        return outcome

    async def _call_handler(self, lease: Lease) -> Outcome:
        prefix = lease.key.partition(":")[0]
        handler = self._handlers.get(prefix)
        if handler is None:
            # Retry rather than drop: a newer worker that knows this kind of work may be running.
            delay = self._error_backoff(lease.attempt)
            logger.error("no handler for %s (attempt %d); retrying in %.1fs", lease.key, lease.attempt, delay)
            return _again(lease, delay, failed=True)
        deadline = asyncio.timeout(self._handler_timeout)
        try:
            async with deadline:
                outcome = await handler(lease)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"handler {prefix!r} returned {outcome!r}, not an Outcome")
        except TryLater as exc:
            logger.info("%s waits %.1fs: %s", lease.key, exc.retry_in, exc)
            return _again(lease, max(0.05, exc.retry_in), failed=False)
        except TimeoutError:
            delay = self._error_backoff(lease.attempt)
            if deadline.expired():
                logger.error(
                    "handler for %s timed out after %.1fs (attempt %d); retrying in %.1fs",
                    lease.key,
                    self._handler_timeout,
                    lease.attempt,
                    delay,
                )
            else:
                logger.exception(
                    "handler for %s failed (attempt %d); retrying in %.1fs", lease.key, lease.attempt, delay
                )
            return _again(lease, delay, failed=True)
        except Exception as exc:
            delay = self._error_backoff(lease.attempt)
            if isinstance(exc, _UNREACHABLE):
                logger.warning(
                    "%s: cannot reach Redis (%s; attempt %d); retrying in %.1fs",
                    lease.key,
                    exc,
                    lease.attempt,
                    delay,
                )
            else:
                logger.exception(
                    "handler for %s failed (attempt %d); retrying in %.1fs", lease.key, lease.attempt, delay
                )
            return _again(lease, delay, failed=True)
        return outcome

    async def _settle(self, lease: Lease, outcome: Outcome) -> None:
        settled = False
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._lease_seconds / 2
        for attempt in range(1, 100):
            try:
                settled = await self._settle_once(lease, outcome)
                break
            except _PASSING as exc:
                # A reshard or failover: settling later than the lease would run the work twice.
                wait = backoff(attempt, base=0.05, cap=1.0, jitter=0.5)
                if loop.time() + wait > give_up_at:
                    logger.error(
                        "could not settle %s (%s); it will run again when its lease runs out", lease.key, exc
                    )
                    return
                await asyncio.sleep(wait)
            except (RedisError, OSError):
                logger.exception("could not settle %s; it will run again when its lease runs out", lease.key)
                return
        if settled and outcome.parked:
            logger.error("parked %s after %d tries: %s", lease.key, lease.attempt, outcome.parked)
            if self._on_parked is not None:
                await self._on_parked(lease, outcome.parked)
        if not settled:
            logger.warning(
                "lost the lease on %s (attempt %d) before settling; its new owner's state is kept",
                lease.key,
                lease.attempt,
            )

    async def _settle_once(self, lease: Lease, outcome: Outcome) -> bool:
        if outcome.parked:
            return await self._scheduler.park(lease, reason=outcome.parked)
        if outcome.done:
            return await self._scheduler.complete(lease)
        delay = outcome.retry_in if outcome.retry_in is not None else 0.0
        return await self._scheduler.retry(
            lease,
            delay=delay,
            payload=outcome.payload,
            reset_attempts=not outcome.failed,
            background=outcome.background,
        )
