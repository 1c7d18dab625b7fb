"""The durable scheduler: delayed, leased, fenced work in Redis, and the runner worker processes use.

Data model (key names in :mod:`bot.store.keys`, all under one hash tag):

- a sorted set of work keys scored by due time (Redis server time, so worker clocks never matter);
- a hash of JSON payloads, and two hashes of lease metadata: the current fencing token and the
  number of claims so far (the attempt).

Claiming moves a due key's score to *now + lease*: while the lease runs nobody else can claim it, and if
the worker dies the key simply becomes due again. Each claim stamps a fresh token; settling (complete,
retry, extend) happens only if the token still matches, so a worker that lost its lease cannot
overwrite the state of the worker that took over. Every transition is one Lua script.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import math
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.store import keys
from bot.store.codec import as_text

logger = logging.getLogger("bot.scheduler")

# The work key being handled in this task (``req:r-…``), for log lines and metrics.
current_work: contextvars.ContextVar[str] = contextvars.ContextVar("current_work", default="")

# Every script gets the same KEYS: due (zset), payloads, tokens, attempts (hashes).
# A script returning a number to Redis truncates it to an integer, so fractional seconds go back as text.
NOW_FUNCTION = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# schedule_work(k, key, payload, delay) with k = the five scheduler keys (due, payloads, tokens,
# attempts, rerun). Already scheduled → 0, nothing changes. Leased (a handler is running it now) → 0
# and a "run again" mark: whatever prompted this call may have happened after the handler looked, so
# it runs once more as soon as it settles (see _COMPLETE and _RETRY). Shared with the intake script
# (bot/store/intake.py), which schedules a new request's work in the same atomic step.
SCHEDULE_FUNCTION = """
local function schedule_work(k, key, payload, delay)
  if redis.call('ZSCORE', k[1], key) then
    if redis.call('HEXISTS', k[3], key) == 1 then
      redis.call('HSET', k[5], key, '1')
    end
    return 0
  end
  redis.call('HSET', k[2], key, payload)
  redis.call('HDEL', k[3], key)
  redis.call('HDEL', k[4], key)
  redis.call('HDEL', k[5], key)
  redis.call('ZADD', k[1], now() + delay, key)
  return 1
end
"""

# ARGV: work key, payload JSON, delay seconds.
_SCHEDULE = (
    NOW_FUNCTION
    + SCHEDULE_FUNCTION
    + """
return schedule_work(KEYS, ARGV[1], ARGV[2], tonumber(ARGV[3]))
"""
)

# ARGV: limit, lease seconds, token prefix (random per call). Returns [key, payload, token, attempt]*.
_CLAIM = (
    NOW_FUNCTION
    + """
local t = now()
local due = redis.call('ZRANGE', KEYS[1], '-inf', t, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
local lease_end = t + tonumber(ARGV[2])
local out = {}
for i, key in ipairs(due) do
  local payload = redis.call('HGET', KEYS[2], key)
  if payload then
    local token = ARGV[3] .. '.' .. i
    redis.call('ZADD', KEYS[1], lease_end, key)
    redis.call('HSET', KEYS[3], key, token)
    local attempt = redis.call('HINCRBY', KEYS[4], key, 1)
    table.insert(out, key)
    table.insert(out, payload)
    table.insert(out, token)
    table.insert(out, attempt)
  else
    -- Only a hand edit can leave a key without its payload; it could never be handled, and left in
    -- place it would be "due now" forever and keep idle workers awake.
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[3], key)
    redis.call('HDEL', KEYS[4], key)
  end
end
return out
"""
)

# ARGV: work key, token. A "run again" mark turns completion into an immediate, fresh reschedule.
_COMPLETE = (
    NOW_FUNCTION
    + """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], now(), ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
"""
)

# ARGV: work key, token, delay seconds, reset (1 = the handler chose to run again later, so the attempt
# count starts over; 0 = a failure, so it keeps counting and drives backoff)[, new payload JSON].
# A "run again" mark makes the work due at once.
_RETRY = (
    NOW_FUNCTION
    + """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
local delay = tonumber(ARGV[3])
if redis.call('HDEL', KEYS[5], ARGV[1]) == 1 then
  delay = 0
end
redis.call('ZADD', KEYS[1], now() + delay, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[4], ARGV[1])
end
if #ARGV >= 5 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
end
return 1
"""
)

# ARGV: work key, token, lease seconds.
_EXTEND = (
    NOW_FUNCTION
    + """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now() + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# No ARGV. Seconds until the earliest due key (0 when overdue), or nil when nothing is scheduled.
_NEXT_DUE_IN = (
    NOW_FUNCTION
    + """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then
  return false
end
local wait = tonumber(first[2]) - now()
if wait < 0 then
  wait = 0
end
return string.format('%.6f', wait)
"""
)


def _seconds(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Lease:
    """One claimed piece of work. Settle it with the scheduler before ``lease_seconds`` run out."""

    key: str  # work key, e.g. "create:r-abc123"; the part before the first ":" picks the handler
    payload: dict[str, Any]
    token: str  # fencing token, fresh per claim
    attempt: int  # 1 on the first claim, +1 on every later claim (after a retry or an expired lease)


class Scheduler:
    """Durable delayed work in Redis: schedule, claim under a lease, settle with the lease's token."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "work") -> None:
        if not namespace or "{" in namespace or "}" in namespace:
            raise ValueError("namespace must be non-empty and must not contain braces (the hash tag)")
        self._redis = redis
        self._keys = [
            keys.scheduler_due(namespace),
            keys.scheduler_payloads(namespace),
            keys.scheduler_tokens(namespace),
            keys.scheduler_attempts(namespace),
            keys.scheduler_rerun(namespace),
        ]
        self._schedule = redis.register_script(_SCHEDULE)
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)
        self._retry = redis.register_script(_RETRY)
        self._extend = redis.register_script(_EXTEND)
        self._next_due_in = redis.register_script(_NEXT_DUE_IN)
        # Set when this process scheduled something that may be due now: a runner in the same
        # process wakes at once instead of finishing its idle sleep.
        self.local_work = asyncio.Event()

    async def schedule(self, key: str, payload: dict[str, Any], *, delay: float = 0.0) -> bool:
        """Schedule ``key`` to be due in ``delay`` seconds. False, changing nothing, if it already is
        scheduled or leased: scheduling the same work twice is a no-op."""
        data = json.dumps(payload)
        added = await self._schedule(keys=self._keys, args=[key, data, _seconds("delay", delay)])
        if delay == 0:
            self.local_work.set()  # also when leased: it may run again as soon as it settles
        return bool(added)

    async def claim(self, *, limit: int = 10, lease_seconds: float = 30.0) -> list[Lease]:
        """Lease up to ``limit`` due keys (earliest first) for ``lease_seconds``."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if _seconds("lease_seconds", lease_seconds) == 0:
            raise ValueError("lease_seconds must be positive")
        flat = await self._claim(keys=self._keys, args=[limit, lease_seconds, secrets.token_hex(12)])
        leases = []
        for i in range(0, len(flat), 4):
            key, payload, token, attempt = flat[i : i + 4]
            leases.append(Lease(as_text(key), json.loads(payload), as_text(token), int(attempt)))
        return leases

    async def complete(self, lease: Lease) -> bool:
        """Forget the work for good, if ``lease`` is still the current lease — unless it was scheduled
        again while leased: then it is due again at once, as a fresh first attempt."""
        return bool(await self._complete(keys=self._keys, args=[lease.key, lease.token]))

    async def retry(
        self,
        lease: Lease,
        *,
        delay: float,
        payload: dict[str, Any] | None = None,
        reset_attempts: bool = False,
    ) -> bool:
        """Make the work due again in ``delay`` seconds (with a new payload if given), if ``lease`` is
        still the current lease. The next claim gets ``attempt + 1``, or 1 with ``reset_attempts``
        (the handler chose to come back later; nothing failed)."""
        args: list[str | float] = [lease.key, lease.token, _seconds("delay", delay), int(reset_attempts)]
        if payload is not None:
            args.append(json.dumps(payload))
        return bool(await self._retry(keys=self._keys, args=args))

    async def extend(self, lease: Lease, *, lease_seconds: float) -> bool:
        """Heartbeat: the lease now ends ``lease_seconds`` from now, if ``lease`` is still current."""
        args: list[str | float] = [lease.key, lease.token, _seconds("lease_seconds", lease_seconds)]
        return bool(await self._extend(keys=self._keys, args=args))

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest key is due (0 if one is due now); None when nothing is scheduled.
        Leased keys count too: their lease end is when they come back if their worker died."""
        wait = await self._next_due_in(keys=self._keys)
        return None if wait is None else float(wait)

    async def pending(self) -> int:
        """How many keys are scheduled (leased ones included)."""
        return await self._redis.zcard(self._keys[0])

    @property
    def keys(self) -> list[str]:
        """The five keys every scheduler script takes (for scripts that schedule as one step)."""
        return list(self._keys)

    async def running(self) -> int:
        """How many keys are leased right now (a handler holds them)."""
        return int(await self._redis.hlen(self._keys[2]))

    async def is_scheduled(self, key: str) -> bool:
        return await self._redis.zscore(self._keys[0], key) is not None


# --- the runner ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a handler decided: finished (forget the work) or run again later, maybe with a new payload."""

    done: bool = True
    retry_in: float | None = None
    payload: dict[str, Any] | None = None
    failed: bool = False  # set by the runner when the handler raised or timed out: attempts keep counting

    def __post_init__(self) -> None:
        if self.done and (self.retry_in is not None or self.payload is not None):
            raise ValueError("a finished outcome takes no retry_in or payload")
        if not self.done:
            if self.retry_in is None:
                raise ValueError("an outcome that is not done needs retry_in")
            _seconds("retry_in", self.retry_in)

    @classmethod
    def finished(cls) -> Outcome:
        return cls()

    @classmethod
    def later(cls, seconds: float, payload: dict[str, Any] | None = None) -> Outcome:
        return cls(done=False, retry_in=seconds, payload=payload)


Handler = Callable[[Lease], Awaitable[Outcome]]


def exponential_backoff(attempt: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """``base * 2**(attempt-1)`` seconds, capped, with half of it random ("equal jitter"): failures
    that happened together spread out, yet a retry is never immediate."""
    ceiling = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


# How long run_forever waits at most before trying Redis again after it failed to answer.
_REDIS_RETRY_CAP = 5.0
# Floor for idle sleeps, so a clock edge never turns the loop into a busy spin.
_MIN_SLEEP = 0.005


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
    ) -> None:
        if handler_timeout <= 0 or (not heartbeat and handler_timeout >= lease_seconds):
            raise ValueError("handler_timeout must be positive and shorter than lease_seconds")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if idle_sleep <= 0:
            raise ValueError("idle_sleep must be positive")
        self._scheduler = scheduler
        self._handlers = dict(handlers)
        self._lease_seconds = lease_seconds
        self._handler_timeout = handler_timeout
        self._concurrency = concurrency
        self._idle_sleep = idle_sleep
        self._error_backoff = error_backoff
        self._heartbeat = heartbeat
        self._on_settled = on_settled  # e.g. metrics; must not raise
        self._running: set[str] = set()  # work keys with a handler running in this process

    async def run_once(self) -> int:
        """Claim up to ``concurrency`` due keys, run their handlers concurrently, settle each.
        Returns how many were handled."""
        leases = await self._scheduler.claim(limit=self._concurrency, lease_seconds=self._lease_seconds)
        handled = await asyncio.gather(*(self._process(lease) for lease in leases))
        return sum(handled)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then let the handlers in flight finish and settle, and return.

        Unlike looping :meth:`run_once`, a free slot is refilled as soon as a handler finishes, so one
        slow handler does not hold back the rest of the batch. Redis errors are logged and retried.
        """
        in_flight: set[asyncio.Task[bool]] = set()
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
                try:
                    leases = await self._scheduler.claim(limit=free, lease_seconds=self._lease_seconds)
                    for lease in leases:
                        task = asyncio.create_task(self._process(lease), name=f"scheduler:{lease.key}")
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    # A full batch means more may be due: claim again at once.
                    pause = await self._idle_time() if len(leases) < free else 0.0
                    failures = 0
                except (RedisError, OSError):
                    failures += 1
                    pause = min(_REDIS_RETRY_CAP, self._idle_sleep * 2 ** min(failures, 16))
                    logger.exception("cannot claim work from Redis; trying again in %.1fs", pause)
                if pause > 0:
                    woken = asyncio.create_task(self._scheduler.local_work.wait())
                    await asyncio.wait({stopping, woken}, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
        finally:
            # Only reached with tasks still running if we were cancelled: their leases will run out
            # and the work comes back to whichever worker is alive.
            stopping.cancel()
            for task in in_flight:
                task.cancel()
            await asyncio.gather(stopping, *in_flight, return_exceptions=True)

    async def _idle_time(self) -> float:
        due_in = await self._scheduler.next_due_in()
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
            outcome = await (self._run_with_heartbeat(lease) if self._heartbeat else self._run_handler(lease))
            await self._settle(lease, outcome)
            # Settling may have made work due now (a rerun mark, a retry in 0 s): look again.
            self._scheduler.local_work.set()
            if self._on_settled is not None:
                await self._on_settled(lease, outcome)
        finally:
            current_work.reset(token)
            self._running.discard(lease.key)
        return True

    async def _run_with_heartbeat(self, lease: Lease) -> Outcome:
        handler = asyncio.create_task(self._run_handler(lease))
        beat = self._lease_seconds / 3
        while True:
            done, _ = await asyncio.wait({handler}, timeout=beat)
            if done:
                return handler.result()
            try:
                kept = await self._scheduler.extend(lease, lease_seconds=self._lease_seconds)
            except (RedisError, OSError):
                logger.warning("could not extend the lease on %s; trying again", lease.key)
                continue
            if not kept:
                logger.error("lost the lease on %s while its handler ran; cancelling it", lease.key)
                handler.cancel()
                await asyncio.gather(handler, return_exceptions=True)
                return Outcome(done=False, retry_in=0.0, failed=True)

    async def _run_handler(self, lease: Lease) -> Outcome:
        prefix = lease.key.partition(":")[0]
        handler = self._handlers.get(prefix)
        if handler is None:
            # Retry rather than drop: a newer worker that knows this kind of work may be running.
            delay = self._error_backoff(lease.attempt)
            logger.error("no handler for %s (attempt %d); retrying in %.1fs", lease.key, lease.attempt, delay)
            return Outcome(done=False, retry_in=delay, failed=True)
        deadline = asyncio.timeout(self._handler_timeout)
        try:
            async with deadline:
                outcome = await handler(lease)
            if not isinstance(outcome, Outcome):
                raise TypeError(f"handler {prefix!r} returned {outcome!r}, not an Outcome")
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
            return Outcome(done=False, retry_in=delay, failed=True)
        except Exception:
            delay = self._error_backoff(lease.attempt)
            logger.exception(
                "handler for %s failed (attempt %d); retrying in %.1fs", lease.key, lease.attempt, delay
            )
            return Outcome(done=False, retry_in=delay, failed=True)
        return outcome

    async def _settle(self, lease: Lease, outcome: Outcome) -> None:
        try:
            if outcome.done:
                settled = await self._scheduler.complete(lease)
            else:
                delay = outcome.retry_in if outcome.retry_in is not None else 0.0
                settled = await self._scheduler.retry(
                    lease, delay=delay, payload=outcome.payload, reset_attempts=not outcome.failed
                )
        except (RedisError, OSError):
            logger.exception("could not settle %s; it will run again when its lease runs out", lease.key)
            return
        if not settled:
            logger.warning(
                "lost the lease on %s (attempt %d) before settling; its new owner's state is kept",
                lease.key,
                lease.attempt,
            )
