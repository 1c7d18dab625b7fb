"""The instance list for the backup form's type-ahead, cached in Redis for a short time.

Slack gives an options request three seconds; the cloud's instance list can take longer. Workers
fill this cache (when a form opens, and on demand); the web process only reads it. The cache holds
the instances as the cloud client serialised them (JSON objects); the app layer reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.store import keys
from bot.store.connection import RedisClient

TTL_SECONDS = 120


class InstanceCache:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def get(self) -> list[dict[str, Any]] | None:
        raw = await self._redis.get(keys.INSTANCES)
        if raw is None:
            return None
        items = json.loads(raw)
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else None

    async def put(self, instances: Sequence[dict[str, Any]]) -> None:
        await self._redis.set(keys.INSTANCES, json.dumps(list(instances)), ex=TTL_SECONDS)
