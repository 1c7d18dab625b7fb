"""Which region each project is, as the workers' fleets say: web replicas (which hold no cloud
clients) read it to label per-project figures."""

from __future__ import annotations

from collections.abc import Mapping

from redis.typing import EncodableT, FieldT

from bot.store import keys
from bot.store.codec import as_text
from bot.store.connection import RedisClient


class ProjectRegistry:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def record(self, regions: Mapping[str, str]) -> None:
        """Add (or refresh) project ID → region."""
        if regions:
            mapping: dict[FieldT, EncodableT] = dict(regions.items())
            await self._redis.hset(keys.PROJECTS, mapping=mapping)

    async def all(self) -> dict[str, str]:
        raw = await self._redis.hgetall(keys.PROJECTS)
        return {as_text(k): as_text(v) for k, v in raw.items()}
