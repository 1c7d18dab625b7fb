"""Request and response models of the TaurusDB API (the fields the bot uses), parsed leniently.

Requests enforce every rule of the seed document before anything is sent; responses accept the
variants real services return (``+0800`` offsets, empty times, numbers as strings).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bot.domain import rules

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+\-_]\d{2}:?\d{2})?$"
)


def parse_cloud_time(value: Any) -> datetime | None:
    """Parse ``2020-07-07T01:17:05+0800`` and its variants (``+08:00``, ``Z``, the ``_0800`` typo
    seen in docs, fractional seconds, no offset = UTC); empty → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    m = _TIME_RE.match(str(value).strip())
    if not m:
        raise ValueError(f"not a TaurusDB timestamp: {value!r}")
    y, mo, d, h, mi, s, off = m.groups()
    # Built from the matched digits (datetime and timezone check the ranges, as strptime would):
    # a poll tick over 1,000 backups reads two times of each, and strptime was most of that.
    zone = _zone((off or "Z").replace("_", "+").replace(":", ""))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=zone)


@lru_cache(maxsize=64)
def _zone(offset: str) -> timezone:
    """``Z`` or ``±HHMM`` as a fixed zone."""
    if offset == "Z":
        return UTC
    hours, minutes = int(offset[1:3]), int(offset[3:5])
    if minutes >= 60:
        raise ValueError(f"not a UTC offset: {offset!r}")
    shift = timedelta(hours=hours, minutes=minutes)
    return timezone(-shift if offset[0] == "-" else shift)  # beyond ±24 h: ValueError


def format_cloud_time(when: datetime) -> str:
    """The API's query form, ``yyyy-mm-ddThh:mm:ss+0000`` (callers percent-encode the ``+``)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S%z")


def _rule(check: Any) -> Any:
    def validate(value: str) -> str:
        if (problem := check(value)) is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(validate)


def _percent(value: Any) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip().rstrip("%")
    try:
        return max(0, min(100, round(float(text))))
    except ValueError:
        return None


def _lenient_float(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


CloudTime = Annotated[datetime | None, BeforeValidator(parse_cloud_time)]
ProjectId = Annotated[str, _rule(rules.check_project_id)]
InstanceId = Annotated[str, _rule(rules.check_instance_id)]
BackupName = Annotated[str, _rule(rules.check_backup_name)]
Description = Annotated[str, _rule(rules.check_description)]


class BackupStatus(StrEnum):
    BUILDING = "BUILDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    AVAILABLE = "AVAILABLE"

    @property
    def finished(self) -> bool:
        return self is not BackupStatus.BUILDING

    @property
    def succeeded(self) -> bool:
        return self in (BackupStatus.COMPLETED, BackupStatus.AVAILABLE)


class JobStatus(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CreateBackupRequest(BaseModel):
    """Body of ``POST /v3/{project_id}/backups/create``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: InstanceId
    name: BackupName
    description: Description | None = None

    def body(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class Backup(_Lenient):
    """The ``backup`` object of a create answer."""

    id: str
    name: str
    description: str | None = None
    begin_time: CloudTime = None
    status: BackupStatus = BackupStatus.BUILDING
    type: str = "manual"
    instance_id: str = ""


class CreateBackupResult(_Lenient):
    backup: Backup
    job_id: str


class Datastore(_Lenient):
    type: str = "gaussdb-mysql"
    version: str = ""
    kernel_version: str | None = None


class BackupRecord(_Lenient):
    """One item of ``GET /v3/{project_id}/backups``."""

    id: str
    name: str
    description: str | None = None
    instance_id: str = ""
    instance_name: str | None = None
    begin_time: CloudTime = None
    end_time: CloudTime = None
    take_up_time: Annotated[float | None, BeforeValidator(_lenient_float)] = None  # minutes
    status: BackupStatus
    type: str = "manual"
    size: Annotated[float | None, BeforeValidator(_lenient_float)] = None  # MB
    datastore: Datastore | None = None
    fail_reason: str | None = None  # not documented for this list; kept when a service sends it


class BackupPage(_Lenient):
    backups: list[BackupRecord] = Field(default_factory=list)
    total_count: int = 0


class JobInstance(_Lenient):
    id: str = ""
    name: str = ""


class Job(_Lenient):
    """``GET /v3/{project_id}/jobs?id=`` → ``job``."""

    id: str
    name: str = ""
    status: JobStatus
    created: CloudTime = None
    ended: CloudTime = None
    process: Annotated[int | None, BeforeValidator(_percent)] = None
    instance: JobInstance | None = None
    entities: dict[str, Any] | None = None
    fail_reason: str | None = None


class FlavorInfo(_Lenient):
    vcpus: str | None = None
    ram: str | None = None


class Instance(_Lenient):
    """One item of ``GET /v3/{project_id}/instances``."""

    id: str
    name: str
    status: str = ""
    type: str = "Cluster"
    region: str | None = None
    datastore: Datastore | None = None
    port: Annotated[int | None, BeforeValidator(lambda v: int(v) if str(v).isdigit() else None)] = None
    created: CloudTime = None
    updated: CloudTime = None

    @property
    def selectable(self) -> bool:
        return self.status == "ACTIVE"


class InstancePage(_Lenient):
    instances: list[Instance] = Field(default_factory=list)
    total_count: int = 0


class DeletedBackup(_Lenient):
    """``DELETE /v3/{project_id}/backups/{backup_id}`` → 200. ``backup_name`` is "" when the answer
    was lost and the deletion was confirmed by looking the backup up instead."""

    backup_id: str
    backup_name: str = ""
