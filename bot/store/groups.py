"""Slack user-group membership, cached in Redis by workers and read by the web process.

The policy may name groups (``@db-oncall``); resolving them needs ``usergroups.users.list``, a Slack
call the web process must not make before ``ack()``. Workers refresh this cache every few minutes;
the web reads it in one round trip. A cold cache reads as ``None`` (unknown), never as "no groups".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import redis.asyncio as aioredis

from bot.store import keys
from bot.store.codec import as_text

FRESH_FOR_SECONDS = 15 * 60


class GroupCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def groups_of(self, user_id: str, handles: Iterable[str]) -> frozenset[str] | None:
        """The handles (among ``handles``) whose group holds ``user_id``; None when never synced."""
        wanted = sorted(handles)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(keys.GROUPS_SYNCED)
            for handle in wanted:
                pipe.sismember(keys.group_members(handle), user_id)
            fresh, *member = await pipe.execute()
        if wanted and not fresh:
            return None
        return frozenset(h for h, is_member in zip(wanted, member, strict=True) if is_member)

    async def replace(self, members: Mapping[str, Iterable[str]], ids: Mapping[str, str]) -> None:
        """Swap in a full new snapshot atomically."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for handle, users in members.items():
                pipe.delete(keys.group_members(handle))
                users = list(users)
                if users:
                    pipe.sadd(keys.group_members(handle), *users)
            pipe.delete(keys.GROUP_IDS)
            if ids:
                pipe.hset(keys.GROUP_IDS, mapping=dict(ids.items()))
            pipe.set(keys.GROUPS_SYNCED, "1", ex=FRESH_FOR_SECONDS)
            await pipe.execute()

    async def subteam_ids(self) -> dict[str, str]:
        raw = await self._redis.hgetall(keys.GROUP_IDS)
        return {as_text(k): as_text(v) for k, v in raw.items()}
