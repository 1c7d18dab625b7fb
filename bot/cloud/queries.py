"""The query side of the TaurusDB API: validated filters of the list calls, and paging through them.

Every filter is checked here before anything is sent (a broken rule is an :class:`InvalidRequest`
naming it), and :func:`walk` reads consecutive pages until ``total_count`` (several at a time where
the caller asks).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bot.cloud.errors import InvalidRequest
from bot.cloud.models import BackupRecord, Instance, InstanceId, format_cloud_time

LANGUAGES = ("en-us", "zh-cn")
PAGE_LIMIT = 100

_M = TypeVar("_M", bound=BaseModel)


def _rule_message(exc: ValidationError) -> str:
    """The broken rules in words: our validators' sentences, else ``field: pydantic's message``."""
    parts = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        parts.append(msg if err["type"] == "value_error" or not field else f"{field}: {msg}")
    return "; ".join(parts)


def validated(model: type[_M], **values: Any) -> _M:
    """``model(**values)``, or :class:`InvalidRequest` saying which rule broke."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise InvalidRequest(_rule_message(exc)) from None


def checked_language(value: str) -> str:
    """An ``X-Language`` value, checked."""
    if value not in LANGUAGES:
        raise InvalidRequest(f"X-Language must be en-us or zh-cn (got {value!r})")
    return value


def opaque_id(kind: str, value: str | None) -> str | None:
    """IDs the API does not specify (backup, job): any non-empty printable string without spaces."""
    if value is not None and (not value or any(c.isspace() or not c.isprintable() for c in value)):
        raise ValueError(f"a {kind} is a non-empty string without spaces")
    return value


def _as_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class _Page(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    offset: int = 0
    limit: int = PAGE_LIMIT

    @field_validator("offset")
    @classmethod
    def _offset(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"offset must be 0 or more (got {value})")
        return value

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: int) -> int:
        if not 1 <= value <= PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {PAGE_LIMIT} (got {value})")
        return value

    def page_params(self) -> dict[str, str]:
        return {"offset": str(self.offset), "limit": str(self.limit)}


class BackupQuery(_Page):
    """Filters of ``GET /v3/{project_id}/backups``."""

    instance_id: InstanceId | None = None
    backup_id: str | None = None
    backup_type: Literal["auto", "manual"] | None = None
    name: str | None = None
    begin_time: datetime | None = None
    end_time: datetime | None = None

    @field_validator("backup_id")
    @classmethod
    def _backup_id(cls, value: str | None) -> str | None:
        return opaque_id("backup ID", value)

    @field_validator("backup_type", mode="before")
    @classmethod
    def _backup_type(cls, value: Any) -> Any:
        if value is not None and value not in ("auto", "manual"):
            raise ValueError(f"a backup type is auto or manual (got {value!r})")
        return value

    @field_validator("begin_time", "end_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @model_validator(mode="after")
    def _window(self) -> BackupQuery:
        if self.begin_time and self.end_time and self.end_time <= self.begin_time:
            raise ValueError("end_time must be later than begin_time")
        return self

    def params(self) -> dict[str, str]:
        params = {
            key: value
            for key, value in (
                ("instance_id", self.instance_id),
                ("backup_id", self.backup_id),
                ("backup_type", self.backup_type),
                ("name", self.name),
                ("begin_time", format_cloud_time(self.begin_time) if self.begin_time else None),
                ("end_time", format_cloud_time(self.end_time) if self.end_time else None),
            )
            if value is not None
        }
        return params | self.page_params()


class InstanceQuery(_Page):
    """Filters of ``GET /v3/{project_id}/instances`` (exact matches only)."""

    id: InstanceId | None = None
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value:
            raise ValueError("an instance name filter must not be empty")
        if value.startswith("*"):
            # The API treats a leading '*' as a fuzzy search; the bot matches names exactly.
            raise ValueError("an instance name may not start with * (wildcard search is not allowed)")
        return value

    def params(self) -> dict[str, str]:
        params = {k: v for k, v in (("id", self.id), ("name", self.name)) if v is not None}
        return params | self.page_params()


class JobQuery(BaseModel):
    """Query of ``GET /v3/{project_id}/jobs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        opaque_id("job ID", value)
        return value


_Item = TypeVar("_Item", BackupRecord, Instance)


async def walk(
    page: Callable[[int], Awaitable[tuple[list[_Item], int]]], *, at_once: int = 1
) -> AsyncIterator[_Item]:
    """Items of consecutive pages (by offset) until ``total_count``, each ID once: an item created
    mid-walk shifts later pages, which would otherwise repeat one.

    With ``at_once`` > 1, the pages after the first are asked for up to ``at_once`` at a time (their
    offsets follow from the first page's length and its ``total_count``), and yielded in order. The
    walk goes on from the end of the last page it got, by that page's ``total_count``, so a listing
    that grew meanwhile is still read to its end."""
    if at_once < 1:
        raise ValueError("at_once must be at least 1")
    offset, stride, total = 0, 0, 1
    seen: set[str] = set()
    while offset < total:
        count = min(at_once, -(-(total - offset) // stride)) if stride else 1
        pages = await asyncio.gather(*(page(offset + k * stride) for k in range(count)))
        for items, _ in pages:
            for item in items:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item
        last, total = pages[-1]  # the last page's total_count is the one the walk goes on by
        if not last:
            return
        stride = stride or len(last)
        offset += (count - 1) * stride + len(last)
