"""What the App Home reads: who opened their Home lately, each person's requests, the requests
waiting for approval. (The requests themselves are :mod:`bot.store.requests`.)"""

from __future__ import annotations

from typing import cast

from bot.store import keys, lua
from bot.store.codec import as_text
from bot.store.connection import RedisClient

OPENED_WITHIN = 30 * 24 * 3600  # a Home is kept up to date for people who opened it this recently
USER_REQUESTS_KEPT = 50
USER_REQUESTS_TTL = 90 * 24 * 3600

# KEYS: the requester's request list, the pending set, the Home openers. ARGV: request id, its
# creation epoch, list cap, list TTL, deadline ('' once it waits for nobody), opened within, then the
# people whose Homes show it. Returns those of them who opened their Home within ``opened within``.
_CHANGED = (
    lua.NOW
    + """
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[5]), ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local since = now() - tonumber(ARGV[6])
local watching = {}
for i = 7, #ARGV do
  local at = redis.call('ZSCORE', KEYS[3], ARGV[i])
  if at and tonumber(at) > since then watching[#watching + 1] = ARGV[i] end
end
return watching
"""
)


class HomeIndex:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._changed = redis.register_script(_CHANGED)

    async def changed(
        self, user_id: str, request_id: str, at: float, *, deadline: float | None, people: list[str]
    ) -> list[str]:
        """A request of ``user_id``'s (made at ``at``) changed: it heads their list; it waits for a
        decision until ``deadline`` (Redis time), or for nobody (None). Returns those of ``people``
        who opened their Home in the last 30 days — all of it one script, one round trip."""
        watching = await self._changed(
            keys=[keys.user_requests(user_id), keys.PENDING, keys.HOME_OPENERS],
            args=[
                request_id,
                repr(at),
                USER_REQUESTS_KEPT,
                USER_REQUESTS_TTL,
                "" if deadline is None else repr(deadline),
                OPENED_WITHIN,
                *people,
            ],
        )
        return [as_text(u) for u in cast(list[bytes], watching)]

    async def opened(self, user_id: str, at: float) -> None:
        """``user_id`` opened their Home at ``at`` (Redis time); people gone a month are forgotten."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.HOME_OPENERS, {user_id: at})
            pipe.zremrangebyscore(keys.HOME_OPENERS, "-inf", at - OPENED_WITHIN)
            await pipe.execute()

    async def requests_of(self, user_id: str, count: int) -> list[str]:
        """The user's latest request ids, newest first."""
        rows = await self._redis.zrevrange(keys.user_requests(user_id), 0, count - 1)
        return [as_text(r) for r in cast(list[bytes], rows)]

    async def settled(self, *request_ids: str) -> None:
        if request_ids:
            await self._redis.zrem(keys.PENDING, *request_ids)

    async def all_pending(self, count: int) -> list[str]:
        """Requests waiting for approval, soonest deadline first."""
        rows = await self._redis.zrange(keys.PENDING, 0, count - 1)
        return [as_text(r) for r in cast(list[bytes], rows)]
