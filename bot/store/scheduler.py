"""The durable scheduler: delayed, leased, fenced work in Redis (the runner is :mod:`bot.worker.runner`).

Data model (key names in :mod:`bot.store.keys`, all under one hash tag):

- a sorted set of work keys scored by due time (Redis server time, so worker clocks never matter);
- a hash of JSON payloads, and two hashes of lease metadata: the current fencing token and the
  number of claims so far (the attempt).

Claiming moves a due key's score to *now + lease*: while the lease runs nobody else can claim it, and if
the worker dies the key simply becomes due again. Each claim stamps a fresh token; settling (complete,
retry, extend) happens only if the token still matches, so a worker that lost its lease cannot
overwrite the state of the worker that took over. Every transition is one Lua script.

Background work (a retry with ``background``, e.g. a finished backup's parent update after its final
reply) waits in the same sorted set, scored :data:`BACKGROUND` past its due time. A claim takes due
work first and background work, oldest first, only with the room left: when a thousand backups end
together, every worker posts every waiting final reply before any parent's update. It is leased,
fenced and settled like any other work; scheduling it again (a rerun mark, ``earlier``) brings it
back to the foreground.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

from bot.store import keys
from bot.store import scheduler_scripts as scripts
from bot.store.codec import as_text
from bot.store.connection import RedisClient
from bot.store.outcome import checked_seconds as _seconds

# Background work waits in the same sorted set, scored this much past its due time (317 years: past
# any due time or lease end, and a double still tells 2 µs apart there). A claim takes it
# only when no other work is due.
BACKGROUND = 1e10


def _decoded(raw: bytes | str) -> tuple[dict[str, Any], str]:
    """A stored payload as an object, or ``({}, why)`` when it is none (a hand edit, another program's
    key): claiming still leases it, so that its handler can park it instead of every claim failing."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # (UnicodeDecodeError is a ValueError)
        return {}, f"the payload is not JSON ({type(exc).__name__})"
    if not isinstance(data, dict):
        return {}, f"the payload is a JSON {type(data).__name__}, not an object"
    return data, ""


def _parked_detail(raw: bytes | str | None) -> dict[str, Any]:
    # Its payload may be bytes that are not UTF-8 (that may be why it was parked): shown replaced.
    if raw is None:
        return {}
    return _decoded(raw.decode(errors="replace") if isinstance(raw, bytes) else raw)[0]


@dataclass(frozen=True)
class Lease:
    """One claimed piece of work. Settle it with the scheduler before ``lease_seconds`` run out."""

    key: str  # work key, e.g. "create:r-abc123"; the part before the first ":" picks the handler
    payload: dict[str, Any]
    token: str  # fencing token, fresh per claim
    attempt: int  # 1 on the first claim, +1 on every later claim (after a retry or an expired lease)
    unreadable: str = ""  # why the stored payload is no JSON object (then ``payload`` is empty)
    background: bool = False  # claimed as background work (see Scheduler.retry)
    # By this process's monotonic clock, a time the lease surely lasts until (the claim was sent,
    # plus its lease_seconds): a worker that cannot reach Redis to extend it stops before then.
    held_until: float = math.inf


@dataclass(frozen=True, slots=True)
class Fence:
    """What a script checks to act only while a lease is still current: the scheduler's due set (a
    leased key's score is its lease's end) and lease tokens, the work key, the lease's token."""

    due: str
    tokens: str
    key: str
    token: str


class Scheduler:
    """Durable delayed work in Redis: schedule, claim under a lease, settle with the lease's token."""

    def __init__(self, redis: RedisClient, *, namespace: str = "work") -> None:
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
        self._schedule = redis.register_script(scripts.SCHEDULE)
        self._claim = redis.register_script(scripts.CLAIM)
        self._complete = redis.register_script(scripts.COMPLETE)
        self._retry = redis.register_script(scripts.RETRY)
        self._extend = redis.register_script(scripts.EXTEND)
        self._next_due_in = redis.register_script(scripts.NEXT_DUE_IN)
        self._park = redis.register_script(scripts.PARK)
        self._release = redis.register_script(scripts.RELEASE)
        self._parked_keys = [keys.scheduler_parked(namespace), keys.scheduler_parked_detail(namespace)]
        # Set when this process scheduled something that may be due now: a runner in the same
        # process wakes at once instead of finishing its idle sleep.
        self.local_work = asyncio.Event()

    async def schedule(
        self, key: str, payload: dict[str, Any], *, delay: float = 0.0, earlier: bool = False
    ) -> bool:
        """Schedule ``key`` to be due in ``delay`` seconds. False, changing nothing, if it already is
        scheduled or leased: scheduling the same work twice is a no-op. With ``earlier``, work that
        waits (not leased) for a later time is brought forward to this one, and background work into
        the foreground, at the earlier of its own due time and this one (True then)."""
        data = json.dumps(payload)
        args: list[str | float] = [key, data, _seconds("delay", delay), "1" if earlier else "0", BACKGROUND]
        added = await self._schedule(keys=self._keys, args=args)
        if delay == 0:
            self.local_work.set()  # also when leased: it may run again as soon as it settles
        return bool(added)

    async def claim(
        self, *, limit: int = 10, lease_seconds: float = 30.0, background: int | None = None
    ) -> list[Lease]:
        """Lease up to ``limit`` due keys (earliest first, background work last, at most
        ``background`` of it; None: no bound of its own) for ``lease_seconds``."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if _seconds("lease_seconds", lease_seconds) == 0:
            raise ValueError("lease_seconds must be positive")
        most = limit if background is None else max(0, background)
        args: list[str | float] = [limit, lease_seconds, secrets.token_hex(12), BACKGROUND, most]
        held_until = time.monotonic() + lease_seconds
        flat = await self._claim(keys=self._keys, args=args)
        leases = []
        for i in range(0, len(flat), 5):
            key, raw, token, attempt, later = flat[i : i + 5]
            payload, unreadable = _decoded(raw)
            lease = Lease(
                as_text(key), payload, as_text(token), int(attempt), unreadable, int(later) == 1, held_until
            )
            leases.append(lease)
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
        background: bool = False,
    ) -> bool:
        """Make the work due again in ``delay`` seconds (with a new payload if given), if ``lease`` is
        still the current lease. The next claim gets ``attempt + 1``, or 1 with ``reset_attempts``
        (the handler chose to come back later; nothing failed). ``background``: once due, it waits
        until no other work is due (unless it is scheduled again meanwhile)."""
        data = json.dumps(payload) if payload is not None else ""
        seconds = _seconds("delay", delay)
        args: list[str | float] = [lease.key, lease.token, seconds, int(reset_attempts), data]
        args.append(BACKGROUND if background else 0)
        return bool(await self._retry(keys=self._keys, args=args))

    async def extend(self, lease: Lease, *, lease_seconds: float) -> bool:
        """Heartbeat: the lease now ends ``lease_seconds`` from now, if ``lease`` is still current."""
        args: list[str | float] = [lease.key, lease.token, _seconds("lease_seconds", lease_seconds)]
        return bool(await self._extend(keys=self._keys, args=args))

    async def release(self, lease: Lease) -> bool:
        """Hand the work back unfinished, if ``lease`` is still the current lease: due again now,
        so another worker takes it at once rather than when the lease would run out; the next claim
        gets the same attempt number as this one."""
        return bool(await self._release(keys=self._keys, args=[lease.key, lease.token]))

    async def park(self, lease: Lease, *, reason: str) -> bool:
        """Stop trying: the work leaves the schedule and is kept, with ``reason``, among the parked
        work (``/metrics`` counts it). Only if ``lease`` is still the current lease."""
        args = [lease.key, lease.token, reason[:500]]
        return bool(await self._park(keys=[*self._keys, *self._parked_keys], args=args))

    async def parked(self) -> list[tuple[str, dict[str, Any]]]:
        """Every parked work key with its detail (payload, reason, attempts), oldest first."""
        rows = cast(list[bytes | str], await self._redis.zrange(self._parked_keys[0], 0, -1))
        details = await self._redis.hmget(self._parked_keys[1], rows) if rows else []
        return [(as_text(key), _parked_detail(detail)) for key, detail in zip(rows, details, strict=True)]

    async def count_parked(self) -> int:
        return int(await self._redis.zcard(self._parked_keys[0]))

    async def next_due_in(self, *, background: bool = True) -> float | None:
        """Seconds until the earliest key is due (0 if one is due now); None when nothing is scheduled.
        Leased keys count too: their lease end is when they come back if their worker died. Without
        ``background``, background work is left out (a runner that takes no more of it now)."""
        wait = await self._next_due_in(keys=self._keys, args=[BACKGROUND, int(background)])
        return None if wait is None else float(wait)

    async def earliest_due(self) -> float | None:
        """When the earliest key is (or was) due, in Redis's time (leased keys: their lease end;
        background work: its own due time); None when nothing is scheduled."""
        due = self._keys[0]
        first = cast(list[tuple[bytes, float]], await self._redis.zrange(due, 0, 0, withscores=True))
        later = cast(
            list[tuple[bytes, float]],
            await self._redis.zrangebyscore(due, BACKGROUND, "+inf", start=0, num=1, withscores=True),
        )
        times = [float(score) for _, score in first if score < BACKGROUND]
        times += [float(score) - BACKGROUND for _, score in later]
        return min(times, default=None)

    async def pending(self) -> int:
        """How many keys are scheduled (leased ones included)."""
        return await self._redis.zcard(self._keys[0])

    @property
    def keys(self) -> list[str]:
        """The five keys every scheduler script takes (for scripts that schedule as one step)."""
        return list(self._keys)

    def fence(self, lease: Lease) -> Fence:
        """For a step that must happen only while ``lease`` is current (one script checks it)."""
        return Fence(self._keys[0], self._keys[2], lease.key, lease.token)

    async def running(self) -> int:
        """How many keys are leased right now (a handler holds them)."""
        return int(await self._redis.hlen(self._keys[2]))

    async def is_scheduled(self, key: str) -> bool:
        return await self._redis.zscore(self._keys[0], key) is not None
