"""Redis's clock, as this process sees it: deadlines the scripts can check with ``TIME``.

The web process must answer Slack within three seconds whatever Redis does. It gives each script a
deadline in Redis's own time; a script that only starts after it (Redis was stalled, the request
queued) records nothing, so "nothing was recorded, try again" is then true. This process's clock
and Redis's may differ: the offset between them is measured with ``TIME`` (at start-up, then every
half minute), and a deadline is local time plus that offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.exceptions import RedisError

from bot.store import keys
from bot.store.connection import RedisClient

log = logging.getLogger("bot.store.clock")

RESYNC_EVERY = 30.0


class RedisClock:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        # TIME of the server holding the bot's keys, the clock every script reads: a plain TIME goes
        # to any node of a cluster, and each node's clock is its own.
        self._time = redis.register_script("return redis.call('TIME')")
        self._offset = 0.0  # Redis time minus local time, seconds
        self._synced_at = float("-inf")

    async def now(self) -> float:
        """Redis's time now, read from Redis (one round trip)."""
        seconds, micros = await self._time(keys=[keys.tagged("clock")])
        return float(seconds) + float(micros) / 1_000_000

    async def sync(self) -> None:
        """Measure the offset: half the round trip is the best guess of when Redis read its clock."""
        before = time.time()
        server = await self.now()
        after = time.time()
        self._offset = server - (before + after) / 2
        self._synced_at = time.monotonic()

    def deadline(self, seconds: float) -> float:
        """Redis time ``seconds`` from now, without a round trip."""
        return time.time() + self._offset + seconds

    @property
    def offset(self) -> float:
        return self._offset

    async def keep_synced(self, stop: asyncio.Event) -> None:
        """Re-measure now and then until ``stop`` (a failure keeps the last offset)."""
        while not stop.is_set():
            try:
                await self.sync()
            except (RedisError, OSError) as exc:
                log.info("could not read Redis's clock (%s); keeping the offset %.3fs", exc, self._offset)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RESYNC_EVERY)
