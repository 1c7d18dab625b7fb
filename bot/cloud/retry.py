"""The backoff policy of the TaurusDB retry loop (:mod:`bot.cloud.transport`).

The wait is the bot's one backoff shape (:func:`bot.domain.backoff.backoff`) with *full jitter*
(a random wait between 0 and ``base·2^(n-1)``, capped), so many workers that failed together do
not retry together. A server's ``Retry-After`` wins over the computed wait. Attempts and a total
time budget both bound the loop; the caller asks :meth:`RetryPolicy.allows` before sleeping so it
never starts a wait it cannot finish in budget.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bot.domain.backoff import backoff


def parse_retry_after(header: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date; None if absent
    or unreadable. A date in the past means "now" (0)."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # NaN/inf would poison the sleep arithmetic; negative is a server bug meaning "now".
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; RFC 850/asctime forms parse naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``attempts`` counts every try, the first one included."""

    attempts: int = 4
    base: float = 0.5  # seconds; the first retry waits up to this long
    cap: float = 20.0  # no computed wait exceeds this (a Retry-After may)
    budget: float = 60.0  # seconds for all tries and waits of one call together
    sleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base < 0 or self.cap < 0 or self.budget < 0:
            raise ValueError("base, cap and budget must not be negative")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait after the ``attempt``-th try failed (1-based).

        The server's ``Retry-After`` is honoured as given; otherwise full jitter over
        ``min(cap, base·2^(attempt-1))``.
        """
        if retry_after is not None:
            return max(0.0, retry_after)
        return backoff(attempt, base=self.base, cap=self.cap, jitter=1.0, rand=self.random)

    def allows(self, attempt: int, started: float, wait: float) -> bool:
        """Whether another try may follow the ``attempt``-th one after sleeping ``wait`` seconds,
        given the call began at ``started`` (a ``clock()`` reading)."""
        if attempt >= self.attempts:
            return False
        return (self.clock() - started) + wait <= self.budget
