"""What the audit trail records: one :class:`AuditEntry` per thing that happened to a request (pure
data; the Redis stream is :mod:`bot.store.audit`, the one-line rendering is the Slack adapter's)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.request import utcnow

BOT_ACTOR = "bot"
DETAIL_MAX = 500


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
    WORK_PARKED = "work_parked"
    APPROVAL_RECORDED = "approval_recorded"  # one of several approvals a rule needs
    CANCELLED = "cancelled"
    BREAK_GLASS = "break_glass"
    SCHEDULED = "scheduled"  # admitted, waiting for its start time (--at)
    KEPT = "kept"  # how long the backup is kept was changed (/backup keep, the Keep button)
    DELETED = "deleted"  # deleted as planned by its retention
    DELETE_FAILED = "delete_failed"  # the cloud refused the planned deletion (tried again)
    DELETED_ELSEWHERE = "deleted_elsewhere"  # the planned deletion found it deleted by someone else


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
