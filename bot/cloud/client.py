"""The async TaurusDB client: the few v3 operations the bot needs, with validation and retries.

It owns no connection: it is handed one ``httpx.AsyncClient`` (base URL = the TaurusDB endpoint,
auth and timeouts set on it), so tests point it at the simulator or a ``MockTransport``.

Reads are retried on 429, 5xx, timeouts and connection errors (:mod:`bot.cloud.retry`). The
create has no idempotency key, so it is never blindly re-sent: when its outcome is unknown the
client first looks for the backup by instance and name, and posts again only if it is certainly
not there (DESIGN.md §6).
"""

from __future__ import annotations

import difflib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bot.cloud.errors import (
    AmbiguousInstance,
    ApiError,
    CloudError,
    InstanceNotFound,
    InvalidRequest,
    TransportError,
    parse_error_body,
)
from bot.cloud.models import (
    Backup,
    BackupPage,
    BackupRecord,
    CreateBackupRequest,
    CreateBackupResult,
    Instance,
    InstanceId,
    InstancePage,
    Job,
    format_cloud_time,
)
from bot.cloud.retry import RetryPolicy, parse_retry_after
from bot.domain import rules

log = logging.getLogger(__name__)

LANGUAGES = ("en-us", "zh-cn")
PAGE_LIMIT = 100

_M = TypeVar("_M", bound=BaseModel)

# Nothing reached the server: always safe to try again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been received (and a create committed) before the answer was lost.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


def _rule_message(exc: ValidationError) -> str:
    """The broken rules in words: our validators' sentences, else ``field: pydantic's message``."""
    parts = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        parts.append(msg if err["type"] == "value_error" or not field else f"{field}: {msg}")
    return "; ".join(parts)


def _validated(model: type[_M], **values: Any) -> _M:
    try:
        return model(**values)
    except ValidationError as exc:
        raise InvalidRequest(_rule_message(exc)) from None


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise InvalidRequest(f"X-Language must be en-us or zh-cn (got {value!r})")
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


def _opaque_id(kind: str, value: str | None) -> str | None:
    if value is not None and (not value or any(c.isspace() or not c.isprintable() for c in value)):
        raise ValueError(f"a {kind} is a non-empty string without spaces")
    return value


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
        return _opaque_id("backup ID", value)

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
        _opaque_id("job ID", value)
        return value


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _transport_error(exc: httpx.HTTPError) -> TransportError:
    error = TransportError(f"{type(exc).__name__}: {exc}", maybe_sent=not isinstance(exc, _NOT_SENT))
    if not isinstance(exc, _NOT_SENT + _MAYBE_SENT):
        # Bad URL, proxy or protocol misuse: a configuration problem that retrying will not fix.
        error.retryable = False
    return error


def _created_from(record: BackupRecord, instance_id: str) -> CreateBackupResult:
    backup = Backup(
        id=record.id,
        name=record.name,
        description=record.description,
        begin_time=record.begin_time,
        status=record.status,
        type=record.type,
        instance_id=record.instance_id or instance_id,
    )
    return CreateBackupResult(backup=backup, job_id="")  # the job ID is lost with the answer


class TaurusDB:
    """TaurusDB v3 API for one project, over an injected ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, project_id: str, *, retry: RetryPolicy | None = None) -> None:
        if problem := rules.check_project_id(project_id):
            raise InvalidRequest(problem)
        self._http = http
        self.project_id = project_id
        self._prefix = f"/v3/{project_id}"
        self.retry = retry or RetryPolicy()
        self.calls: Counter[str] = Counter()  # HTTP requests sent, by operation (retries included)

    def __repr__(self) -> str:
        return f"TaurusDB(base_url={str(self._http.base_url)!r}, project_id={self.project_id!r})"

    # -- transport ---------------------------------------------------------------------------

    async def _attempt(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        language: str,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange. Transport failures become :class:`TransportError`; a failure of the
        auth flow (an IAM error) comes out as the :class:`CloudError` it raised."""
        self.calls[operation] += 1
        headers = {"X-Language": language, "Content-Type": "application/json"}
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        try:
            return await self._http.request(
                method, self._prefix + path, params=params, content=content, headers=headers
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc

    @staticmethod
    def _api_error(response: httpx.Response) -> ApiError:
        code, msg = parse_error_body(response.content)
        return ApiError(response.status_code, code, msg, response.headers.get("X-Request-Id", ""))

    @staticmethod
    def _parse(model: type[_M], response: httpx.Response, key: str | None = None) -> _M:
        try:
            data = response.json()
            return model.model_validate(data[key] if key else data)
        except (ValueError, KeyError, TypeError) as exc:
            rid = response.headers.get("X-Request-Id", "")
            raise CloudError(
                f"unexpected {model.__name__} answer (HTTP {response.status_code}, request {rid}): {exc}"
            ) from None

    async def _read(
        self, operation: str, path: str, params: Mapping[str, str], language: str
    ) -> httpx.Response:
        """A GET, retried on 429/5xx/timeouts/connection errors within the retry policy."""
        policy = self.retry
        started = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            error: CloudError
            try:
                response = await self._attempt(operation, "GET", path, language=language, params=params)
            except ApiError as exc:  # the auth flow's IAM call failed
                if not _retryable_status(exc.status):
                    raise
                error = exc
            except TransportError as exc:
                if not exc.retryable:
                    raise
                error = exc
            else:
                if response.is_success:
                    return response
                api_error = self._api_error(response)
                if not _retryable_status(response.status_code):
                    raise api_error
                error = api_error
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = policy.delay(attempt, retry_after)
            if not policy.allows(attempt, started, wait):
                raise error
            log.info("taurusdb %s attempt %d failed (%s); retrying in %.2fs", operation, attempt, error, wait)
            await policy.sleep(wait)

    # -- backups -------------------------------------------------------------------------------

    async def create_backup(
        self, instance_id: str, name: str, description: str | None = None, *, language: str = "en-us"
    ) -> CreateBackupResult:
        """``POST /v3/{project_id}/backups/create`` → 201, never creating the backup twice.

        A lost answer (timeout after sending, connection cut, 5xx) is resolved by looking the
        backup up by instance and name; the POST is repeated once only if it is certainly absent.
        A refused connection or a 429 (nothing committed) is simply retried within the policy.
        """
        request = _validated(CreateBackupRequest, instance_id=instance_id, name=name, description=description)
        language = _language(language)
        policy = self.retry
        started = policy.clock()
        attempt = 0
        reposted = False
        while True:
            attempt += 1
            retry_after: float | None = None
            outcome_unknown: CloudError | None = None
            error: CloudError
            try:
                response = await self._attempt(
                    "create_backup", "POST", "/backups/create", language=language, body=request.body()
                )
            except ApiError as exc:  # IAM failed before anything was sent
                if not _retryable_status(exc.status):
                    raise
                error = exc
            except TransportError as exc:
                if exc.maybe_sent:
                    outcome_unknown = exc
                elif not exc.retryable:
                    raise
                error = exc
            else:
                if response.is_success:
                    return self._parse(CreateBackupResult, response)
                api_error = self._api_error(response)
                error = api_error
                if response.status_code >= 500:
                    outcome_unknown = api_error
                elif response.status_code == 429:
                    # The gateway refused it before the service saw it: nothing was committed.
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                elif reposted and response.status_code == 409:
                    # "Backup in progress" / "name exists" right after our own uncertain first
                    # POST is most likely that POST's backup: look once more before failing.
                    if (found := await self._find_created(request, language, api_error)) is not None:
                        return found
                    raise api_error
                else:
                    raise api_error
            if outcome_unknown is not None:
                found = await self._find_created(request, language, outcome_unknown)
                if found is not None:
                    log.warning("create of %s had no answer but the backup exists; using it", request.name)
                    return found
                if reposted:
                    raise outcome_unknown
                reposted = True
            wait = policy.delay(attempt, retry_after)
            if not policy.allows(attempt, started, wait):
                raise error
            log.info("taurusdb create attempt %d failed (%s); retrying in %.2fs", attempt, error, wait)
            await policy.sleep(wait)

    async def _find_created(
        self, request: CreateBackupRequest, language: str, cause: CloudError
    ) -> CreateBackupResult | None:
        """The backup an uncertain create may have made; re-raises ``cause`` if we cannot tell."""
        try:
            record = await self.find_backup(request.instance_id, request.name, language=language)
        except CloudError as lookup_error:
            raise cause from lookup_error
        return None if record is None else _created_from(record, request.instance_id)

    async def list_backups(
        self,
        *,
        instance_id: str | None = None,
        backup_id: str | None = None,
        backup_type: str | None = None,
        name: str | None = None,
        begin_time: datetime | None = None,
        end_time: datetime | None = None,
        offset: int = 0,
        limit: int = PAGE_LIMIT,
        language: str = "en-us",
    ) -> BackupPage:
        """One page of ``GET /v3/{project_id}/backups``."""
        query = _validated(
            BackupQuery,
            instance_id=instance_id,
            backup_id=backup_id,
            backup_type=backup_type,
            name=name,
            begin_time=begin_time,
            end_time=end_time,
            offset=offset,
            limit=limit,
        )
        response = await self._read("list_backups", "/backups", query.params(), _language(language))
        return self._parse(BackupPage, response)

    async def iter_backups(
        self,
        *,
        instance_id: str | None = None,
        backup_id: str | None = None,
        backup_type: str | None = None,
        name: str | None = None,
        begin_time: datetime | None = None,
        end_time: datetime | None = None,
        page_size: int = PAGE_LIMIT,
        language: str = "en-us",
    ) -> AsyncIterator[BackupRecord]:
        """Every matching backup, page by page (offset) until ``total_count``."""

        async def page(offset: int) -> tuple[list[BackupRecord], int]:
            got = await self.list_backups(
                instance_id=instance_id,
                backup_id=backup_id,
                backup_type=backup_type,
                name=name,
                begin_time=begin_time,
                end_time=end_time,
                offset=offset,
                limit=page_size,
                language=language,
            )
            return got.backups, got.total_count

        async for record in _walk(page):
            yield record

    async def find_backup(
        self, instance_id: str, name: str, *, language: str = "en-us"
    ) -> BackupRecord | None:
        """The instance's backup with exactly this name, or None.

        The ``name`` filter is sent too (it narrows the answer where the service supports it),
        but the match is made here, exactly, in case the service matches loosely or ignores it.
        """
        if not name:
            raise InvalidRequest("a backup name is required")
        async for record in self.iter_backups(instance_id=instance_id, name=name, language=language):
            if record.name == name:
                return record
        return None

    async def get_job(self, job_id: str, *, language: str = "en-us") -> Job:
        """``GET /v3/{project_id}/jobs?id=`` (DBS.200543 while a new job is not yet visible)."""
        query = _validated(JobQuery, id=job_id)
        response = await self._read("get_job", "/jobs", {"id": query.id}, _language(language))
        return self._parse(Job, response, "job")

    # -- instances -----------------------------------------------------------------------------

    async def list_instances(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # the API's own parameter name
        offset: int = 0,
        limit: int = PAGE_LIMIT,
        language: str = "en-us",
    ) -> InstancePage:
        """One page of ``GET /v3/{project_id}/instances`` (``id``/``name`` are exact matches)."""
        query = _validated(InstanceQuery, id=id, name=name, offset=offset, limit=limit)
        response = await self._read("list_instances", "/instances", query.params(), _language(language))
        return self._parse(InstancePage, response)

    async def iter_instances(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        page_size: int = PAGE_LIMIT,
        language: str = "en-us",
    ) -> AsyncIterator[Instance]:
        """Every matching instance, page by page."""

        async def page(offset: int) -> tuple[list[Instance], int]:
            got = await self.list_instances(
                name=name, id=id, offset=offset, limit=page_size, language=language
            )
            return got.instances, got.total_count

        async for instance in _walk(page):
            yield instance

    async def find_instance(self, ref: str, *, language: str = "en-us") -> Instance:
        """The one instance with this ID or exact name.

        Raises :class:`InstanceNotFound` (with up to three close names) or
        :class:`AmbiguousInstance` (listing ``(id, name)`` of each match).
        """
        ref = ref.strip()
        if not ref:
            raise InvalidRequest("an instance name or ID is required")
        if ref.startswith("*"):
            raise InvalidRequest("an instance name may not start with * (wildcard search is not allowed)")
        by_id = rules.is_instance_id(ref)
        if by_id:
            matches = [i async for i in self.iter_instances(id=ref, language=language) if i.id == ref]
        else:
            matches = [i async for i in self.iter_instances(name=ref, language=language) if i.name == ref]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousInstance(ref, [(i.id, i.name) for i in matches])
        everyone = [i async for i in self.iter_instances(language=language)]
        raise InstanceNotFound(ref, _closest(ref, everyone, by_id=by_id))


_Item = TypeVar("_Item", BackupRecord, Instance)


async def _walk(page: Callable[[int], Awaitable[tuple[list[_Item], int]]]) -> AsyncIterator[_Item]:
    """Items of consecutive pages (by offset) until ``total_count``, each ID once: an item created
    mid-walk shifts later pages, which would otherwise repeat one."""
    offset = 0
    seen: set[str] = set()
    while True:
        items, total = await page(offset)
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                yield item
        offset += len(items)
        if not items or offset >= total:
            return


def _closest(ref: str, instances: list[Instance], *, by_id: bool) -> list[str]:
    """Up to three instance names closest to ``ref`` (for a mistyped ID: the names of the
    instances with the closest IDs), compared case-insensitively."""
    keyed: dict[str, list[str]] = {}
    for instance in instances:
        keyed.setdefault((instance.id if by_id else instance.name).lower(), []).append(instance.name)
    names: list[str] = []
    for key in difflib.get_close_matches(ref.lower(), list(keyed), n=3, cutoff=0.6):
        names.extend(n for n in keyed[key] if n not in names)
    return names[:3]
