"""The audit trail in Redis: one stream of every :class:`~bot.domain.audit.AuditEntry`, and a small
list per request.

Entries go to one stream, trimmed to an approximate maximum length so it stays bounded, and, when
they belong to a request, to a per-request list as well: ``for_request`` costs O(entries of that
request) and still answers after the stream has trimmed them away. Both writes are one script
(:data:`bot.store.lua.AUDIT_APPEND`, shared with the intake script). The keys share the ``{bb}`` hash
tag, so this also works on a clustered Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import cast

from pydantic import ValidationError
from redis.typing import EncodableT, FieldT

from bot.domain.audit import AuditEntry
from bot.store import keys, lua
from bot.store.codec import as_text
from bot.store.connection import RedisClient

log = logging.getLogger(__name__)

DEFAULT_MAXLEN = 100_000
REQUEST_TTL_SECONDS = 90 * 24 * 3600  # as long as the backup-ID index lives
REQUEST_MAX_ENTRIES = 200  # a request has about ten; the cap only guards against a runaway loop

# KEYS: stream, the request's list; ARGV: maxlen, list TTL, list cap, entry JSON ('' if the entry
# belongs to no request), then the stream's field/value pairs.
_APPEND = (
    lua.APPEND_AUDIT
    + """
return append_audit(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], {unpack(ARGV, 5)})
"""
)


def stream_fields(entry: AuditEntry) -> dict[FieldT, EncodableT]:
    """Stream fields: one per attribute, empty ones left out (readable with plain XRANGE)."""
    data = entry.model_dump(mode="json")
    return {name: str(value) for name, value in data.items() if value not in ("", None)}


def _from_fields(raw: Mapping[bytes | str, bytes | str]) -> AuditEntry | None:
    try:
        return AuditEntry.model_validate({as_text(k): as_text(v) for k, v in raw.items()})
    except ValidationError:
        # An entry written by a newer version (an action this one does not know) is skipped, not fatal.
        log.warning("skipping an unreadable audit entry: %r", raw)
        return None


class AuditLog:
    """Append-only audit trail; reads are newest-first (``latest``) or per request (``for_request``)."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        request_ttl: int = REQUEST_TTL_SECONDS,
    ) -> None:
        if maxlen <= 0 or request_ttl <= 0:
            raise ValueError("maxlen and request_ttl must be positive")
        self._redis = redis
        self._maxlen = maxlen
        self._request_ttl = request_ttl
        self._append = redis.register_script(_APPEND)

    async def append(self, entry: AuditEntry) -> str:
        """Record ``entry``; returns its stream ID."""
        fields = [str(part) for pair in stream_fields(entry).items() for part in pair]
        per_request = keys.audit_request(entry.request_id or "-")
        args: list[str | int] = [
            self._maxlen,
            self._request_ttl,
            REQUEST_MAX_ENTRIES,
            entry.model_dump_json() if entry.request_id else "",
            *fields,
        ]
        return as_text(await self._append(keys=[keys.audit_stream(), per_request], args=args))

    async def latest(self, n: int = 20) -> list[AuditEntry]:
        """The ``n`` most recent entries, newest first."""
        if n <= 0:
            return []
        rows = cast(
            list[tuple[bytes | str, dict[bytes | str, bytes | str]]],
            await self._redis.xrevrange(keys.audit_stream(), "+", "-", count=n),
        )
        return [entry for _, fields in rows if (entry := _from_fields(fields)) is not None]

    async def for_request(self, request_id: str) -> list[AuditEntry]:
        """Every entry of one request, oldest first."""
        rows = await self._redis.lrange(keys.audit_request(request_id), 0, -1)
        entries: list[AuditEntry] = []
        for row in rows:
            try:
                entries.append(AuditEntry.model_validate_json(row))
            except ValidationError:
                log.warning("skipping an unreadable audit entry of %s: %r", request_id, row)
        return entries
