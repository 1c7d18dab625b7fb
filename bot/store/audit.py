"""The audit trail: who did what to which backup, and when, in a Redis stream.

Every request, decision, cloud result and final state is one :class:`AuditEntry`. Entries go to one
stream, trimmed to an approximate maximum length so it stays bounded, and, when they belong to a
request, to a small per-request list as well: ``for_request`` costs O(entries of that request) and
still answers after the stream has trimmed them away. Both writes happen in one MULTI. The keys
share the ``{bb}`` hash tag, so this also works on a clustered Redis.

:func:`audit_line` renders an entry as one line of Slack mrkdwn for the optional ``AUDIT_CHANNEL`` and
``/backup audit``, in a catalog language (:mod:`bot.i18n`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis.typing import EncodableT, FieldT

from bot.domain.request import utcnow
from bot.i18n import SOURCE, t
from bot.slack.text import escape, format_time
from bot.store import keys
from bot.store.codec import as_text

log = logging.getLogger(__name__)

BOT_ACTOR = "bot"
DETAIL_MAX = 500
DEFAULT_MAXLEN = 100_000
REQUEST_TTL_SECONDS = 90 * 24 * 3600  # as long as the backup-ID index lives
REQUEST_MAX_ENTRIES = 200  # a request has about ten; the cap only guards against a runaway loop


class AuditAction(StrEnum):
    REQUESTED = "requested"
    REFUSED = "refused"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CREATE_CALLED = "create_called"
    CREATE_FAILED = "create_failed"
    BACKUP_STARTED = "backup_started"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


class AuditEntry(BaseModel):
    """One thing that happened. ``actor`` is a Slack user ID, or ``"bot"`` for the bot's own steps."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(min_length=1)
    action: AuditAction
    request_id: str = ""
    instance_id: str = ""
    instance_name: str = ""
    backup_name: str = ""
    backup_id: str = ""
    cloud_request_id: str = ""
    detail: str = ""

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("detail")
    @classmethod
    def _short(cls, value: str) -> str:
        # An audit write must never fail because a cloud error message was long: cut it instead.
        return value if len(value) <= DETAIL_MAX else value[: DETAIL_MAX - 1] + "…"


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
        redis: aioredis.Redis,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        request_ttl: int = REQUEST_TTL_SECONDS,
    ) -> None:
        if maxlen <= 0 or request_ttl <= 0:
            raise ValueError("maxlen and request_ttl must be positive")
        self._redis = redis
        self._maxlen = maxlen
        self._request_ttl = request_ttl

    async def append(self, entry: AuditEntry) -> str:
        """Record ``entry``; returns its stream ID."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.audit_stream(), stream_fields(entry), maxlen=self._maxlen, approximate=True)
            if entry.request_id:
                per_request = keys.audit_request(entry.request_id)
                pipe.rpush(per_request, entry.model_dump_json())
                pipe.ltrim(per_request, -REQUEST_MAX_ENTRIES, -1)
                pipe.expire(per_request, self._request_ttl)
            results = await pipe.execute()
        return as_text(results[0])

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


# --- one line for the audit channel ------------------------------------------------------------------

_ICONS: dict[AuditAction, str] = {
    AuditAction.REQUESTED: ":inbox_tray:",
    AuditAction.REFUSED: ":no_entry:",
    AuditAction.APPROVAL_REQUESTED: ":raised_hand:",
    AuditAction.APPROVED: ":white_check_mark:",
    AuditAction.REJECTED: ":x:",
    AuditAction.EXPIRED: ":hourglass:",
    AuditAction.CREATE_CALLED: ":outbox_tray:",
    AuditAction.CREATE_FAILED: ":warning:",
    AuditAction.BACKUP_STARTED: ":arrows_counterclockwise:",
    AuditAction.COMPLETED: ":large_green_circle:",
    AuditAction.FAILED: ":red_circle:",
    AuditAction.TIMED_OUT: ":alarm_clock:",
}
_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,}")
_LINE_DETAIL_MAX = 200


def _code(text: str) -> str:
    """Inline code with the text made inert (a backtick inside would end the span early)."""
    return f"`{escape(text.replace('`', 'ˋ'))}`"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _actor(actor: str) -> str:
    if _USER_ID_RE.fullmatch(actor):
        return f"<@{actor}>"
    return escape(_one_line(actor))


def audit_line(entry: AuditEntry, *, lang: str = SOURCE) -> str:
    """One line of Slack mrkdwn in ``lang``, e.g. ``:white_check_mark: *Approved* by <@U1> · request
    `r-…` · instance `orders-prod` · backup `pre-change-42` · <date>``. Every free text is escaped."""
    label = f"*{t(lang, f'auditlog.{entry.action.value}')}*"
    if entry.actor != BOT_ACTOR:
        label = t(lang, "auditlog.by", label=label, actor=_actor(entry.actor))
    parts = [f"{_ICONS[entry.action]} {label}"]
    if entry.request_id:
        parts.append(t(lang, "auditlog.request", value=_code(entry.request_id)))
    if entry.instance_name and entry.instance_id:
        instance = t(lang, "instance.with_id", name=_code(entry.instance_name), id=_code(entry.instance_id))
        parts.append(t(lang, "auditlog.instance", value=instance))
    elif entry.instance_name or entry.instance_id:
        parts.append(t(lang, "auditlog.instance", value=_code(entry.instance_name or entry.instance_id)))
    if entry.backup_name:
        parts.append(t(lang, "auditlog.backup", value=_code(entry.backup_name)))
    if entry.backup_id:
        parts.append(t(lang, "auditlog.backup_id", value=_code(entry.backup_id)))
    if entry.cloud_request_id:
        parts.append(t(lang, "auditlog.cloud_request", value=_code(entry.cloud_request_id)))
    if entry.detail:
        detail = _one_line(entry.detail)
        if len(detail) > _LINE_DETAIL_MAX:
            detail = detail[: _LINE_DETAIL_MAX - 1] + "…"
        parts.append(escape(detail))
    parts.append(format_time(entry.at))
    return " · ".join(parts)
