"""Backup requests in Redis: atomic creation with de-duplication, compare-and-set transitions.

A request is one hash (one field per model attribute, JSON-encoded). Every state change is a Lua
compare-and-set on the ``state`` field, so of two racing callers exactly one wins and only the
winner performs the side effect (a cloud call, a Slack post).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError

from bot.domain.request import BackupRequest, State, can_move, utcnow
from bot.store import keys, lua
from bot.store.codec import as_text
from bot.store.connection import RedisClient
from bot.store.scheduler import Fence

DEDUPE_TTL_SECONDS = 24 * 3600
# A finished request is kept as long as its backup-ID index and audit entries, then forgotten.
KEEP_FINISHED_SECONDS = 90 * 24 * 3600

# KEYS: request hash, dedupe key; ARGV: request id, dedupe TTL (0: no de-duplication), then
# field/value pairs.
# Returns the id of the request that owns the dedupe key: ours when created, the earlier one if not.
_CREATE = (
    lua.CLAIM_DEDUPE
    + """
if ARGV[2] ~= '0' then
  local existing = claim_dedupe(KEYS[2], ARGV[1], tonumber(ARGV[2]))
  if existing then return existing end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return ARGV[1] end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return ARGV[1]
"""
)

# KEYS: request hash; ARGV: target state, seconds to keep it (0: for ever), n_from, from states...,
# then field/value pairs (all JSON-encoded, as every field is stored).
# Returns {1, previous state} on success or {0, current_state} when the request is missing or elsewhere.
_TRANSITION = lua.TRANSITION + "return transition(KEYS[1], transition_args(1))\n"

# KEYS: request hash; ARGV: field, value. Sets a field only when the request exists and the field
# is empty: used for "posted once" markers (parent ts, final reply ts).
_SET_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and v ~= '""' and v ~= '' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


# KEYS: the project's in-flight set, the backup-ID index key; ARGV: request id, start epoch, seconds
# the index lives (0: no backup ID to index).
_TRACK = """
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[3])) end
return 1
"""

# fenced(due, tokens, key, token): the caller's lease on ``key`` is still current: its token, and not
# run out (a lease that ran out is up for grabs before anyone takes it).
_FENCED = (
    lua.NOW
    + """
local function fenced(due, tokens, key, token)
  if redis.call('HGET', tokens, key) ~= token then return false end
  local lease_end = redis.call('ZSCORE', due, key)
  return lease_end ~= false and tonumber(lease_end) > now()
end
"""
)

# KEYS: request hash, then (when fenced) the scheduler's due set and lease tokens. ARGV: the create
# tries the caller read, the next count, then (fenced) the work key and the lease's token. Marks the
# create as attempted and counts it, only if nobody counted one since and the lease is still the
# caller's.
_CLAIM_CREATE = (
    _FENCED
    + """
if #KEYS > 1 and not fenced(KEYS[2], KEYS[3], ARGV[3], ARGV[4]) then return 0 end
if (redis.call('HGET', KEYS[1], 'create_tries') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'create_attempted', 'true', 'create_tries', ARGV[2])
return 1
"""
)

# KEYS: request hash, then (when fenced) the scheduler's due set and lease tokens; ARGV: the mark's
# field, then (fenced) the work key and the lease's token. Marks a reply as being posted; returns 1
# when it was marked already (an earlier run began posting it), 0 when marked now or the request is
# gone, -1 when the caller's lease is no longer current (then nothing is marked).
_MARK_POSTING = (
    _FENCED
    + """
if #KEYS > 1 and not fenced(KEYS[2], KEYS[3], ARGV[2], ARGV[3]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return 1 - redis.call('HSETNX', KEYS[1], ARGV[1], '1')
"""
)

BACKUP_INDEX_SECONDS = 90 * 24 * 3600

# KEYS: request hashes; ARGV: field names. Returns each request's fields, one after another (a field
# not stored, or a request that is gone, reads as nil). One script and one reply for a poll tick's
# whole watch list: read by redis-py's pipeline, 1,000 requests cost 35–55 ms of the worker's CPU
# (AMD machine), read this way 12–15 ms.
_WATCHED = """
local out = {}
for _, key in ipairs(KEYS) do
  local row = redis.call('HMGET', key, unpack(ARGV))
  for i = 1, #ARGV do out[#out + 1] = row[i] end
end
return out
"""
WATCHED_AT_ONCE = 500  # requests per script call: Redis is not held for long by one


class LeaseLost(Exception):
    """The run's lease was taken over, or ran out, before a step only its holder may take."""


class TransitionRefused(Exception):
    def __init__(self, request_id: str, current: str, target: State) -> None:
        self.current = current
        super().__init__(f"{request_id}: cannot move from {current or 'nothing'} to {target}")


# What json.dumps(value, default=str) uses, built once: json.dumps builds a new encoder per call
# whenever it is given an option, and that was most of the cost of writing a request.
_ENCODE = json.JSONEncoder(default=str).encode


def encode_fields(fields: Mapping[str, Any]) -> list[str]:
    """Field/value pairs as stored: every value JSON-encoded (datetimes as ISO 8601)."""
    flat: list[str] = []
    for name, value in fields.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        flat += [name, _ENCODE(value)]
    return flat


def stored_fields(request: BackupRequest) -> dict[str, Any]:
    """What a new request writes: only the fields that differ from their defaults (a new request
    sets about ten of its ~40; reading fills in the rest), plus ``state``, which every script reads."""
    return request.model_dump(mode="json", exclude_defaults=True) | {"state": request.state.value}


@dataclass(slots=True)
class Watched:
    """What a poll tick reads of a request it watches; the rest of the request stays in Redis."""

    id: str
    state: State
    backup_id: str
    job_id: str
    progress: int | None
    language: str
    started: datetime  # when the backup began, else when the request was made

    FIELDS = ("state", "backup_id", "job_id", "progress", "language", "begin_time", "created_at")


def _watched(request_id: str, raw: Sequence[bytes | None]) -> Watched | None:
    """Fields as :class:`BackupRequest` reads them: JSON values, a model default where none is stored.
    The row's values are joined into one JSON array and read in one pass."""
    if raw[0] is None:
        return None  # no such request (any stored request has a state)
    # decoded first: json.loads spends as long again finding the encoding of bytes
    values = json.loads((b"[" + b",".join(b"null" if v is None else v for v in raw) + b"]").decode())
    for i, value in enumerate(raw):
        if value is None:
            values[i] = _default(Watched.FIELDS[i])
    got = dict(zip(Watched.FIELDS, values, strict=True))
    started = got["begin_time"] or got["created_at"]
    return Watched(
        id=request_id,
        state=State(got["state"]),
        backup_id=got["backup_id"],
        job_id=got["job_id"],
        progress=got["progress"],
        language=got["language"],
        started=datetime.fromisoformat(started) if isinstance(started, str) else started,
    )


def _default(name: str) -> Any:
    return _FIELDS[name].get_default(call_default_factory=True)


_FIELDS = BackupRequest.model_fields  # read once: pydantic builds this mapping on every access


def _decode(raw: Mapping[bytes | str, bytes | str]) -> BackupRequest:
    """The request a hash holds. Every field holds one JSON value, so the hash is one JSON object
    once its pairs are joined, which pydantic reads in one pass (a sixth of the cost of parsing ~45
    values one by one and validating the dict). Anything that does not read that way is read field
    by field, as before, and fails (or not) exactly as it did."""
    try:
        return decode_joined(raw)
    except ValidationError:
        return BackupRequest.model_validate({as_text(k): json.loads(v) for k, v in raw.items()})


def decode_joined(raw: Mapping[bytes | str, bytes | str]) -> BackupRequest:
    """The hash's pairs joined into one JSON object and read by pydantic (raises ValidationError)."""
    return BackupRequest.model_validate_json(
        b"{" + b",".join(b'"%s":%s' % (_raw(k), _raw(v)) for k, v in raw.items()) + b"}"
    )


def _raw(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


class RequestStore:
    """All reads and writes of backup requests."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._create = redis.register_script(_CREATE)
        self._transition = redis.register_script(_TRANSITION)
        self._set_once = redis.register_script(_SET_ONCE)
        self._track = redis.register_script(_TRACK)
        self._read_watched = redis.register_script(_WATCHED)
        self._claim_create = redis.register_script(_CLAIM_CREATE)
        self._mark_posting = redis.register_script(_MARK_POSTING)

    async def create(self, request: BackupRequest, *, dedupe_key: str | None = None) -> tuple[str, bool]:
        """Store a new request; with ``dedupe_key`` a repeat (Slack retry, double submit) returns the
        first request's id instead. Returns (request id, created)."""
        fields = encode_fields(stored_fields(request))
        owner = await self._create(
            keys=[keys.request(request.id), keys.dedupe(dedupe_key or "-")],
            args=[request.id, DEDUPE_TTL_SECONDS if dedupe_key else 0, *fields],
        )
        owner_id = as_text(owner)
        return owner_id, owner_id == request.id

    async def get(self, request_id: str) -> BackupRequest | None:
        raw = await self._redis.hgetall(keys.request(request_id))
        return _decode(raw) if raw else None

    async def get_many(self, request_ids: Iterable[str]) -> list[BackupRequest | None]:
        """Several requests in one round trip (a pipeline), in the order asked."""
        ids = list(request_ids)
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for request_id in ids:
                pipe.hgetall(keys.request(request_id))
            rows = await pipe.execute()
        return [_decode(raw) if raw else None for raw in rows]

    async def watched_many(self, request_ids: Iterable[str]) -> list[Watched | None]:
        """What a poll tick needs of several requests, in one round trip, in the order asked; None
        for a request that is gone. Reads seven fields of each, not the ~45 a request has."""
        ids = list(request_ids)
        if not ids:
            return []
        chunks = [ids[i : i + WATCHED_AT_ONCE] for i in range(0, len(ids), WATCHED_AT_ONCE)]
        width = len(Watched.FIELDS)
        replies = await asyncio.gather(
            *(self._read_watched([keys.request(r) for r in chunk], Watched.FIELDS) for chunk in chunks)
        )
        flat = [value for reply in replies for value in reply]
        return [_watched(r, flat[i * width : (i + 1) * width]) for i, r in enumerate(ids)]

    async def transition(
        self, request_id: str, target: State, *, from_states: Iterable[State], **fields: Any
    ) -> BackupRequest:
        """Move to ``target`` only from one of ``from_states`` (and only along the lifecycle),
        writing ``fields`` in the same step. Raises TransitionRefused if another caller won."""
        sources = [s for s in from_states if can_move(s, target)]
        fields["updated_at"] = utcnow()
        ok, current = await self._transition(
            keys=[keys.request(request_id)],
            args=[
                json.dumps(target.value),
                KEEP_FINISHED_SECONDS if target.final else 0,
                len(sources),
                *[json.dumps(s.value) for s in sources],
                *encode_fields(fields),
            ],
        )
        if not ok:
            raise TransitionRefused(request_id, json.loads(current) if current else "", target)
        request = await self.get(request_id)
        assert request is not None
        return request

    async def update(self, request_id: str, **fields: Any) -> None:
        """Write non-state fields (progress, resolved instance) of an existing request."""
        if "state" in fields:
            raise ValueError("use transition() to change state")
        if fields:
            await self._redis.hset(keys.request(request_id), mapping=dict(_pairs(encode_fields(fields))))

    async def claim_create(self, request_id: str, tries: int, *, fence: Fence | None = None) -> bool:
        """Right before a create is sent: mark it attempted and count it, only if ``tries`` are still
        all counted so far and (with ``fence``) the lease is still current. False: another run counted
        one first, or this run's lease was taken over (a stall): it must not send it."""
        names, args = [keys.request(request_id)], [json.dumps(tries), json.dumps(tries + 1)]
        if fence is not None:
            names += [fence.due, fence.tokens]
            args += [fence.key, fence.token]
        return bool(await self._claim_create(keys=names, args=args))

    async def mark_posting(self, request_id: str, slot: str, *, fence: Fence | None = None) -> bool:
        """Mark the reply ``slot`` records as being posted: True when an earlier run marked it
        already (it may have posted it without hearing back), False when marked now. With
        ``fence``, :class:`LeaseLost` when that lease is no longer current: the caller must not post."""
        names, args = [keys.request(request_id)], [f"posting:{slot}"]
        if fence is not None:
            names += [fence.due, fence.tokens]
            args += [fence.key, fence.token]
        marked = int(await self._mark_posting(keys=names, args=args))
        if marked < 0:
            raise LeaseLost(f"{request_id}: not posting its {slot}: the work is no longer this run's")
        return marked == 1

    async def set_once(self, request_id: str, field: str, value: Any) -> bool:
        """Set ``field`` only if it is still empty; True for the one caller that set it."""
        result = await self._set_once(keys=[keys.request(request_id)], args=encode_fields({field: value}))
        return bool(result)

    # --- indexes -------------------------------------------------------------------------------

    async def track(self, project_id: str, request: BackupRequest) -> None:
        """Add a building backup to its project's in-flight set (scored by start time) and index its
        backup ID — one script (on a cluster, one round trip rather than a MULTI's one per command)."""
        started = (request.begin_time or utcnow()).timestamp()
        await self._track(
            keys=[keys.in_flight(project_id), keys.backup_index(request.backup_id or "-")],
            args=[request.id, repr(started), BACKUP_INDEX_SECONDS if request.backup_id else 0],
        )

    async def untrack(self, project_id: str, *request_ids: str) -> None:
        if request_ids:
            await self._redis.zrem(keys.in_flight(project_id), *request_ids)

    async def in_flight(self, project_id: str) -> list[tuple[str, float]]:
        """(request id, start epoch) of every backup being watched, oldest first."""
        rows = cast(
            list[tuple[bytes, float]],
            await self._redis.zrange(keys.in_flight(project_id), 0, -1, withscores=True),
        )
        return [(as_text(rid), float(score)) for rid, score in rows]

    async def count_in_flight(self, project_id: str) -> int:
        return int(await self._redis.zcard(keys.in_flight(project_id)))

    async def by_backup_id(self, backup_id: str) -> BackupRequest | None:
        rid = await self._redis.get(keys.backup_index(backup_id))
        return await self.get(as_text(rid)) if rid else None


def _pairs(flat: list[str]) -> Iterable[tuple[str, str]]:
    return zip(flat[::2], flat[1::2], strict=True)
