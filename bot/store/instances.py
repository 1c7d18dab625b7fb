"""The instance list for the backup form's type-ahead, cached in Redis for a short time.

Slack gives an options request three seconds; the cloud's instance list can take longer. Workers
fill this cache (when a form opens, and on demand); the web process only reads it.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bot.cloud.models import Instance
from bot.store import keys

TTL_SECONDS = 120


class InstanceCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def get(self) -> list[Instance] | None:
        raw = await self._redis.get(keys.INSTANCES)
        if raw is None:
            return None
        return [Instance.model_validate(item) for item in json.loads(raw)]

    async def put(self, instances: list[Instance]) -> None:
        payload = json.dumps([i.model_dump(mode="json") for i in instances])
        await self._redis.set(keys.INSTANCES, payload, ex=TTL_SECONDS)
