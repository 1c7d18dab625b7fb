"""What the App Home reads: who opened their Home lately, each person's requests, the requests
waiting for approval. (The requests themselves are :mod:`bot.store.requests`.)"""

from __future__ import annotations

from typing import cast

from bot.store import keys
from bot.store.codec import as_text
from bot.store.connection import RedisClient

OPENED_WITHIN = 30 * 24 * 3600  # a Home is kept up to date for people who opened it this recently
USER_REQUESTS_KEPT = 50
USER_REQUESTS_TTL = 90 * 24 * 3600


class HomeIndex:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def opened(self, user_id: str, at: float) -> None:
        """``user_id`` opened their Home at ``at`` (Redis time); people gone a month are forgotten."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.HOME_OPENERS, {user_id: at})
            pipe.zremrangebyscore(keys.HOME_OPENERS, "-inf", at - OPENED_WITHIN)
            await pipe.execute()

    async def watching(self, user_ids: list[str], now: float) -> list[str]:
        """Those of ``user_ids`` who opened their Home within the last 30 days."""
        if not user_ids:
            return []
        scores = await self._redis.zmscore(keys.HOME_OPENERS, user_ids)
        return [
            u for u, at in zip(user_ids, scores, strict=True) if at is not None and at > now - OPENED_WITHIN
        ]

    async def add_request(self, user_id: str, request_id: str, at: float) -> None:
        key = keys.user_requests(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {request_id: at})
            pipe.zremrangebyrank(key, 0, -USER_REQUESTS_KEPT - 1)
            pipe.expire(key, USER_REQUESTS_TTL)
            await pipe.execute()

    async def requests_of(self, user_id: str, count: int) -> list[str]:
        """The user's latest request ids, newest first."""
        rows = await self._redis.zrevrange(keys.user_requests(user_id), 0, count - 1)
        return [as_text(r) for r in cast(list[bytes], rows)]

    async def pending(self, request_id: str, deadline: float) -> None:
        await self._redis.zadd(keys.PENDING, {request_id: deadline})

    async def settled(self, *request_ids: str) -> None:
        if request_ids:
            await self._redis.zrem(keys.PENDING, *request_ids)

    async def all_pending(self, count: int) -> list[str]:
        """Requests waiting for approval, soonest deadline first."""
        rows = await self._redis.zrange(keys.PENDING, 0, count - 1)
        return [as_text(r) for r in cast(list[bytes], rows)]
