"""The async TaurusDB client for one project: the few v3 operations the bot needs, validated.

It owns no connection: it is handed an ``httpx.AsyncClient`` (base URL = the TaurusDB endpoint,
timeouts set on it), which several projects of a fleet may share, so tests point it at the
simulator or a ``MockTransport``. Its ``auth`` (when given) goes with each request, so the shared
client carries no project's credentials; without one the client's own auth is used.

Every operation runs in the one retry loop of :mod:`bot.cloud.transport`: reads are retried on 429,
5xx, timeouts and connection errors. Create and delete have no idempotency key, so neither is ever
blindly re-sent: when the outcome is unknown the client first looks the backup up (by instance
and name, or by ID) and sends again only if it certainly did not take effect (DESIGN.md §6).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from bot.cloud.calls import CallTag
from bot.cloud.errors import (
    AmbiguousInstance,
    ApiError,
    CloudError,
    InstanceNotFound,
    InvalidRequest,
    backup_gone,
    delete_error,
)
from bot.cloud.models import (
    Backup,
    BackupPage,
    BackupRecord,
    CreateBackupRequest,
    CreateBackupResult,
    DeletedBackup,
    Instance,
    InstancePage,
    Job,
)
from bot.cloud.naming import checked_ref, closest
from bot.cloud.queries import (
    PAGE_LIMIT,
    BackupQuery,
    InstanceQuery,
    JobQuery,
    checked_language,
    validated,
    walk,
)
from bot.cloud.retry import RetryPolicy
from bot.cloud.transport import READ, Plan, run, transport_error
from bot.domain import rules

_M = TypeVar("_M", bound=BaseModel)


def parse(model: type[_M], response: httpx.Response, key: str | None = None) -> _M:
    """A 2xx answer as ``model`` (under ``key``), or a :class:`CloudError` saying what was wrong."""
    try:
        data = response.json()
        return model.model_validate(data[key] if key else data)
    except (ValueError, KeyError, TypeError) as exc:
        rid = response.headers.get("X-Request-Id", "")
        raise CloudError(
            f"unexpected {model.__name__} answer (HTTP {response.status_code}, request {rid}): {exc}"
        ) from None


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


class _Create(Plan[CreateBackupResult]):
    """A create: found by instance and name when its answer is lost."""

    unsafe = True

    def __init__(self, cloud: TaurusDB, request: CreateBackupRequest, language: str) -> None:
        self.cloud, self.request, self.language = cloud, request, language

    def success(self, response: httpx.Response) -> CreateBackupResult:
        return parse(CreateBackupResult, response)

    async def find(self) -> CreateBackupResult | None:
        request = self.request
        record = await self.cloud.find_backup(request.instance_id, request.name, language=self.language)
        return None if record is None else _created_from(record, request.instance_id)

    async def refused_again(self, error: ApiError) -> CreateBackupResult | None:
        # "Backup in progress" / "name exists" right after our own uncertain first POST is most
        # likely that POST's backup: look once more before failing.
        return await self.settle(error) if error.status == 409 else None


class _Delete(Plan[DeletedBackup]):
    """A delete: confirmed by the backup's absence when its answer is lost."""

    unsafe = True

    def __init__(self, cloud: TaurusDB, backup_id: str, language: str) -> None:
        self.cloud, self.backup_id, self.language = cloud, backup_id, language

    def success(self, response: httpx.Response) -> DeletedBackup:
        if not response.content.strip():
            return DeletedBackup(backup_id=self.backup_id)
        return parse(DeletedBackup, response)

    async def find(self) -> DeletedBackup | None:
        page = await self.cloud.list_backups(backup_id=self.backup_id, language=self.language)
        if any(record.id == self.backup_id for record in page.backups):
            return None  # still there: the delete certainly did not happen (yet)
        return DeletedBackup(backup_id=self.backup_id)

    async def refused_again(self, error: ApiError) -> DeletedBackup | None:
        # The resend found it gone, or not deletable while our first delete runs: look again.
        if backup_gone(error):
            return DeletedBackup(backup_id=self.backup_id)
        return await self.settle(error)


class TaurusDB:
    """TaurusDB v3 API for one project, over an injected ``httpx.AsyncClient``.

    ``region`` labels the project's calls (:mod:`bot.cloud.calls`); ``auth`` is sent with every
    request instead of the client's own.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        project_id: str,
        *,
        retry: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
        region: str = "",
    ) -> None:
        if problem := rules.check_project_id(project_id):
            raise InvalidRequest(problem)
        self._http = http
        self.project_id = project_id
        self.region = region
        self.auth = auth
        self._prefix = f"/v3/{project_id}"
        self.retry = retry or RetryPolicy()
        self.calls: Counter[str] = Counter()  # HTTP requests sent, by operation (retries included)

    def __repr__(self) -> str:
        region = f", region={self.region!r}" if self.region else ""
        return f"TaurusDB(base_url={str(self._http.base_url)!r}, project_id={self.project_id!r}{region})"

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
                method,
                self._prefix + path,
                params=params,
                content=content,
                headers=headers,
                auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
                extensions=CallTag(self.region, self.project_id, operation).extensions(),
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc

    async def _read(
        self, operation: str, path: str, params: Mapping[str, str], language: str
    ) -> httpx.Response:
        """A GET, retried on 429/5xx/timeouts/connection errors within the retry policy."""

        async def send() -> httpx.Response:
            return await self._attempt(operation, "GET", path, language=language, params=params)

        return await run(self.retry, operation, send, READ)

    # -- backups -------------------------------------------------------------------------------

    async def create_backup(
        self, instance_id: str, name: str, description: str | None = None, *, language: str = "en-us"
    ) -> CreateBackupResult:
        """``POST /v3/{project_id}/backups/create`` → 201, never creating the backup twice.

        A lost answer (timeout after sending, connection cut, 5xx) is resolved by looking the
        backup up by instance and name; the POST is repeated once only if it is certainly absent.
        A refused connection or a 429 (nothing committed) is simply retried within the policy.
        """
        request = validated(CreateBackupRequest, instance_id=instance_id, name=name, description=description)
        language = checked_language(language)

        async def send() -> httpx.Response:
            return await self._attempt(
                "create_backup", "POST", "/backups/create", language=language, body=request.body()
            )

        return await run(self.retry, "create_backup", send, _Create(self, request, language))

    async def delete_backup(self, backup_id: str, *, language: str = "en-us") -> DeletedBackup:
        """``DELETE /v3/{project_id}/backups/{backup_id}`` → 200 (fact sheet §2.5).

        Refusals are typed: :class:`BackupNotDeletable` (DBS.201208, e.g. still building),
        :class:`BackupNotFound`, else the :class:`ApiError` of its category. A lost answer is
        resolved by looking the backup up by ID (gone = deleted); the DELETE is sent once more only
        if the backup is certainly still there.
        """
        backup_id = validated(BackupQuery, backup_id=backup_id).backup_id or ""
        language = checked_language(language)
        path = "/backups/" + quote(backup_id, safe="")

        async def send() -> httpx.Response:
            return await self._attempt("delete_backup", "DELETE", path, language=language)

        try:
            return await run(self.retry, "delete_backup", send, _Delete(self, backup_id, language))
        except ApiError as exc:
            typed = delete_error(exc)
            if typed is exc:
                raise
            raise typed from None

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
        query = validated(
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
        response = await self._read("list_backups", "/backups", query.params(), checked_language(language))
        return parse(BackupPage, response)

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
        pages_at_once: int = 1,
    ) -> AsyncIterator[BackupRecord]:
        """Every matching backup, page by page (offset) until ``total_count``; after the first page,
        up to ``pages_at_once`` pages are asked for at a time (:func:`~bot.cloud.queries.walk`)."""

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

        async for record in walk(page, at_once=pages_at_once):
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
        query = validated(JobQuery, id=job_id)
        response = await self._read("get_job", "/jobs", {"id": query.id}, checked_language(language))
        return parse(Job, response, "job")

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
        query = validated(InstanceQuery, id=id, name=name, offset=offset, limit=limit)
        lang = checked_language(language)
        response = await self._read("list_instances", "/instances", query.params(), lang)
        return parse(InstancePage, response)

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

        async for instance in walk(page):
            yield instance

    async def matching_instances(self, ref: str, *, language: str = "en-us") -> list[Instance]:
        """The instances with exactly this ID (when ``ref`` is shaped like one) or name."""
        if rules.is_instance_id(ref):
            return [i async for i in self.iter_instances(id=ref, language=language) if i.id == ref]
        return [i async for i in self.iter_instances(name=ref, language=language) if i.name == ref]

    async def find_instance(self, ref: str, *, language: str = "en-us") -> Instance:
        """The one instance with this ID or exact name.

        Raises :class:`InstanceNotFound` (with up to three close names) or
        :class:`AmbiguousInstance` (listing ``(id, name)`` of each match).
        """
        ref = checked_ref(ref)
        matches = await self.matching_instances(ref, language=language)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AmbiguousInstance(ref, [(i.id, i.name) for i in matches])
        everyone = [(i, i.name) async for i in self.iter_instances(language=language)]
        raise InstanceNotFound(ref, closest(ref, everyone, by_id=rules.is_instance_id(ref)))
