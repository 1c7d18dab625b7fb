"""Slack user-group membership, cached in Redis by workers and read by the web process.

The policy may name groups (``@db-oncall``); resolving them needs ``usergroups.list``, a Slack call
the web process must not make before ``ack()``. Workers refresh this cache every few minutes; the web
reads it in one round trip. A cold cache reads as ``None`` (unknown), never as "no groups".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from bot.store import keys
from bot.store.codec import as_text
from bot.store.connection import RedisClient

FRESH_FOR_SECONDS = 15 * 60

# KEYS: the ID hash, the "synced" marker, then one member set per group. ARGV: marker TTL, the IDs
# (JSON object), then each group's members (JSON list), in the order of their keys. A whole new
# snapshot in one step (a script, not MULTI: on a cluster that is one round trip, not one per command).
_REPLACE = """
redis.call('DEL', KEYS[1])
local ids = cjson.decode(ARGV[2])
for handle, id in pairs(ids) do redis.call('HSET', KEYS[1], handle, id) end
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
  local users = cjson.decode(ARGV[i])
  for _, user in ipairs(users) do redis.call('SADD', KEYS[i], user) end
end
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[1]))
return 1
"""


class GroupCache:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._replace = redis.register_script(_REPLACE)

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

    async def members_of(self, handle: str) -> list[str]:
        """The group's members as last synced (empty when unknown)."""
        return sorted(as_text(u) for u in await self._redis.smembers(keys.group_members(handle)))

    async def replace(self, members: Mapping[str, Iterable[str]], ids: Mapping[str, str]) -> None:
        """Swap in a full new snapshot atomically."""
        handles = list(members)
        await self._replace(
            keys=[keys.GROUP_IDS, keys.GROUPS_SYNCED, *(keys.group_members(h) for h in handles)],
            args=[
                FRESH_FOR_SECONDS,
                json.dumps(dict(ids)),
                *(json.dumps(sorted(set(members[h]))) for h in handles),
            ],
        )

    async def subteam_ids(self) -> dict[str, str]:
        raw = await self._redis.hgetall(keys.GROUP_IDS)
        return {as_text(k): as_text(v) for k, v in raw.items()}
