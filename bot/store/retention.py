"""How long a request (and the backup it made) is kept, written in one atomic step.

A planned deletion may be moved (``/backup keep``, the Keep button) only while the bot has not begun
to delete the backup: the step checks the request's ``deletion`` field and writes the new plan
together, so a keep that races the deletion either lands before it or is refused. The request
record, and its backup-ID index, are kept at least until the deletion is done (a request is
otherwise forgotten 90 days after it ends), so the deletion work always finds what it must delete.
"""

from __future__ import annotations

from typing import Any

from bot.store import keys
from bot.store.connection import RedisClient
from bot.store.requests import encode_fields

DELETING = frozenset({"deleting", "deleted", "gone", "failed"})  # past the point of keeping

# KEYS: request hash, backup index. ARGV: seconds both are kept at least (0: unchanged), then the
# field/value pairs (JSON). Returns 1, or 0 (changing nothing) when there is no such request or the
# deletion has begun (or ended).
_KEEP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local deletion = redis.call('HGET', KEYS[1], 'deletion')
if deletion then
  deletion = cjson.decode(deletion)
  if deletion == 'deleting' or deletion == 'deleted' or deletion == 'gone' or deletion == 'failed' then
    return 0
  end
end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
local at_least = tonumber(ARGV[1])
if at_least > 0 then
  for _, key in ipairs(KEYS) do
    local ttl = redis.call('TTL', key)
    if ttl >= 0 and ttl < at_least then redis.call('EXPIRE', key, at_least) end
  end
end
return 1
"""


class RetentionStore:
    def __init__(self, redis: RedisClient) -> None:
        self._keep = redis.register_script(_KEEP)

    async def plan(self, request_id: str, backup_id: str, *, keep_records: float, **fields: Any) -> bool:
        """Write ``fields`` (a new plan) unless the deletion has begun; keep the request and its
        backup-ID index for at least ``keep_records`` seconds. False: refused, nothing changed."""
        done = await self._keep(
            keys=[keys.request(request_id), keys.backup_index(backup_id or "-")],
            args=[int(max(0.0, keep_records)), *encode_fields(fields)],
        )
        return bool(done)
