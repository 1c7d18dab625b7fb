"""Every kind of work and the payload its handler receives, as typed models (one place).

A work item is a pydantic model bound to one :class:`~bot.store.work.WorkKind`; one of its fields is
the key's ident (``ident_field``), so the item knows its own key. :func:`schedule` writes an item,
:func:`read` turns a claimed lease back into its item, validating the payload as strictly as the
web process validates what people type: a payload that does not validate is poison, never run.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.audit import AuditEntry
from bot.store.scheduler import Lease, Scheduler
from bot.store.work import WorkKey, WorkKind

_REQUEST_ID = r"^r-[a-z0-9]{10}$"
_USER_ID = r"^[UW][A-Z0-9]{1,20}$"
_CHANNEL_ID = r"^[CGDU][A-Z0-9]{1,20}$"
_PROJECT_ID = r"^[A-Za-z0-9]{32}$"


class Work(BaseModel):
    """One piece of work; subclasses name their kind and which field is the key's ident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[WorkKind]
    ident_field: ClassVar[str]

    @property
    def key(self) -> WorkKey:
        return WorkKey(self.kind, str(getattr(self, self.ident_field)))

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AdvanceRequest(Work):
    kind = WorkKind.REQUEST
    ident_field = "request_id"
    request_id: str = Field(pattern=_REQUEST_ID)


class ExpireRequest(Work):
    kind = WorkKind.EXPIRE
    ident_field = "request_id"
    request_id: str = Field(pattern=_REQUEST_ID)


class PollProject(Work):
    kind = WorkKind.POLL
    ident_field = "project_id"
    project_id: str = Field(pattern=_PROJECT_ID)


class AnswerLookup(Work):
    """``/backup status`` or ``/backup list`` answered through the command's response URL."""

    kind = WorkKind.LOOKUP
    ident_field = "lookup_id"
    lookup_id: str = Field(min_length=1, max_length=200)
    what: Literal["status", "list"]
    ref: str = Field(default="", max_length=128)  # status: a backup ID
    instance: str = Field(default="", max_length=80)  # list: an instance name or ID
    count: int = Field(default=5, ge=1, le=20)
    response_url: str = Field(max_length=2000)
    user_id: str = Field(pattern=_USER_ID)
    channel_id: str = Field(default="", max_length=40)
    language: Literal["", "en-us", "zh-cn"] = ""  # empty: the worker asks Slack first
    tries: int = Field(default=0, ge=0)


class LearnLocale(Work):
    kind = WorkKind.LOCALE
    ident_field = "user_id"
    user_id: str = Field(pattern=_USER_ID)


class RefreshInstances(Work):
    kind = WorkKind.INSTANCES
    ident_field = "scope"
    scope: Literal["refresh"] = "refresh"


class SyncGroups(Work):
    kind = WorkKind.GROUPS
    ident_field = "scope"
    scope: Literal["sync"] = "sync"


class PostAuditLine(Work):
    kind = WorkKind.AUDIT_POST
    ident_field = "entry_id"
    entry_id: str = Field(min_length=1, max_length=64)  # the audit stream ID
    channel: str = Field(min_length=1, max_length=80)
    entry: AuditEntry


class StartRequest(Work):
    kind = WorkKind.START
    ident_field = "request_id"
    request_id: str = Field(pattern=_REQUEST_ID)


class DeleteBackup(Work):
    kind = WorkKind.DELETE
    ident_field = "request_id"
    request_id: str = Field(pattern=_REQUEST_ID)


class NoticeDeletion(Work):
    kind = WorkKind.DELETE_NOTICE
    ident_field = "request_id"
    request_id: str = Field(pattern=_REQUEST_ID)


class PublishHome(Work):
    kind = WorkKind.HOME
    ident_field = "user_id"
    user_id: str = Field(pattern=_USER_ID)


WORK_TYPES: dict[WorkKind, type[Work]] = {
    cls.kind: cls
    for cls in (
        AdvanceRequest,
        ExpireRequest,
        PollProject,
        AnswerLookup,
        LearnLocale,
        RefreshInstances,
        SyncGroups,
        PostAuditLine,
        PublishHome,
        StartRequest,
        DeleteBackup,
        NoticeDeletion,
    )
}


class PoisonWork(Exception):
    """A claimed work item that can never be handled: unknown kind or a payload that does not validate."""


def read(lease: Lease) -> Work:
    """The typed item behind a claimed lease. Raises PoisonWork."""
    key = WorkKey.parse(lease.key)
    if key is None:
        raise PoisonWork(f"{lease.key!r} is no kind of work this version knows")
    if lease.unreadable:
        raise PoisonWork(f"{lease.key}: {lease.unreadable}")
    model = WORK_TYPES[key.kind]
    # The ident lives in the key; payloads written before it was also a field lack it.
    data = {**lease.payload, model.ident_field: key.ident}
    try:
        item = model.model_validate(data)
    except ValidationError as exc:
        raise PoisonWork(f"{lease.key}: {exc.errors(include_url=False)[:3]}") from None
    if item.key != key:
        raise PoisonWork(f"{lease.key}: the payload names another item ({item.key})")
    return item


async def schedule(scheduler: Scheduler, item: Work, *, delay: float = 0.0, earlier: bool = False) -> bool:
    """Schedule ``item`` (a no-op, False, when its key is already scheduled; with ``earlier``, work
    waiting for a later time is brought forward)."""
    return await scheduler.schedule(str(item.key), item.payload(), delay=delay, earlier=earlier)
