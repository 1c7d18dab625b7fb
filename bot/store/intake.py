"""Taking a new request is one atomic step and one Redis round trip.

The web process answers Slack only after the request is safely recorded, so this step is on the
acknowledgement's critical path. One script does all of it (the scripts of a burst of requests go
to Redis together: :class:`~bot.store.batch.BatchingRedis`), from the shared Lua pieces
(:mod:`bot.store.lua`): skip a repeat (Slack retry, double submit) by its de-duplication key, store
the request, schedule its first work item, append the "requested" audit entry and count it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ClusterError, TryAgainError

from bot.domain.audit import AuditEntry
from bot.domain.backoff import backoff
from bot.domain.request import BackupRequest
from bot.store import keys, lua
from bot.store.audit import DEFAULT_MAXLEN, REQUEST_MAX_ENTRIES, REQUEST_TTL_SECONDS, stream_fields
from bot.store.codec import as_text
from bot.store.connection import RedisClient
from bot.store.requests import DEDUPE_TTL_SECONDS, encode_fields, stored_fields
from bot.store.scheduler import Scheduler

# KEYS: request, dedupe, audit stream, audit list, metrics, then the five scheduler keys.
# ARGV: request id, dedupe TTL (0: no de-duplication), work key, work payload, audit stream MAXLEN,
#       audit list TTL, audit list cap, audit entry JSON, counter field, n (audit stream fields),
#       deadline (Redis time; '' for none), 2n stream field/values, then the request's field/values.
# Returns the id of the request that owns the de-duplication key (ours when recorded), or '' when the
# deadline had passed before the script ran: then nothing at all was written.
RESHARD_TRIES = 6  # about a second of a key-by-key reshard, inside the web's ack budget

_INTAKE = (
    lua.NOW
    + lua.SCHEDULE_WORK
    + lua.CLAIM_DEDUPE
    + lua.APPEND_AUDIT
    + lua.COUNT
    + """
if ARGV[11] ~= '' and now() > tonumber(ARGV[11]) then return '' end
if ARGV[2] ~= '0' then
  local existing = claim_dedupe(KEYS[2], ARGV[1], tonumber(ARGV[2]))
  if existing then return existing end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return ARGV[1] end
local n = tonumber(ARGV[10])
local stream, fields = {}, {}
for i = 12, 11 + 2 * n do stream[#stream + 1] = ARGV[i] end
for i = 12 + 2 * n, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
schedule_work({KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]}, ARGV[3], ARGV[4], 0)
append_audit(KEYS[3], KEYS[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], stream)
count(KEYS[5], ARGV[9], 1)
return ARGV[1]
"""
)


class TooLate(Exception):
    """The script started after the caller's deadline: nothing was recorded."""


class Intake:
    def __init__(self, redis: RedisClient, scheduler: Scheduler) -> None:
        self._script = redis.register_script(_INTAKE)
        self._scheduler = scheduler

    async def record(
        self,
        request: BackupRequest,
        *,
        dedupe_key: str | None,
        work_key: str,
        work_payload: str,
        audit: AuditEntry,
        counter: str,
        deadline: float | None = None,
    ) -> tuple[str, bool]:
        """Record ``request`` with its first work item (``work_key``, its payload as JSON) and audit entry.
        Returns (the id of the request this key belongs to, whether it is ours — False for a repeat).
        With ``deadline`` (Redis time), a script that starts later records nothing: :class:`TooLate`."""
        stream = [str(part) for pair in stream_fields(audit).items() for part in pair]
        args: list[Any] = [
            request.id,
            DEDUPE_TTL_SECONDS if dedupe_key else 0,
            work_key,
            work_payload,
            DEFAULT_MAXLEN,
            REQUEST_TTL_SECONDS,
            REQUEST_MAX_ENTRIES,
            audit.model_dump_json(),
            counter,
            len(stream) // 2,
            "" if deadline is None else repr(deadline),
            *stream,
            *encode_fields(stored_fields(request)),
        ]
        names = [
            keys.request(request.id),
            keys.dedupe(dedupe_key or "-"),
            keys.audit_stream(),
            keys.audit_request(request.id),
            keys.METRICS,
            *self._scheduler.keys,
        ]
        for attempt in range(1, RESHARD_TRIES + 1):
            try:
                owner = as_text(await self._script(keys=names, args=args))
                break
            except (TryAgainError, ClusterError):
                # The {bb} slot is moving key by key (a cluster reshard): the script was refused and
                # wrote nothing, so the same call again is safe, and the deadline still bounds it.
                if attempt == RESHARD_TRIES:
                    raise
                await asyncio.sleep(backoff(attempt, base=0.05, cap=0.25, jitter=0.5))
        if not owner:
            raise TooLate(request.id)
        if owner == request.id:
            self._scheduler.local_work.set()
        return owner, owner == request.id
