"""Counters shared by every process, in one Redis hash: ``GET /metrics`` on any web replica shows
the whole deployment, though workers serve no HTTP. A failure to count never fails the work."""

from __future__ import annotations

import logging

from bot.store import keys
from bot.store.codec import as_text
from bot.store.connection import RedisClient

log = logging.getLogger("bot.store.counters")


class Counters:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (``kind|label|label``); best effort."""
        try:
            await self._redis.hincrby(keys.METRICS, name, amount)
        except Exception:  # metrics are best effort
            log.debug("could not count %s", name, exc_info=True)

    async def snapshot(self) -> dict[str, int]:
        raw = await self._redis.hgetall(keys.METRICS)
        return {as_text(k): int(v) for k, v in raw.items()}
