"""TaurusDB's ``/v3/{project_id}/…`` operations: list and show instances, create, list and delete
backups, show a job. The gateway middleware has already authenticated the caller and checked the
project; each handler sees only the region that project selects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.cloud.models import parse_cloud_time
from bot.domain import rules
from bot.local.simulator.apierror import (
    ApiFailure,
    bad_instance_id,
    bad_parameter,
    instance_not_found,
    project_unavailable,
)
from bot.local.simulator.state import STATE, SimBackup
from bot.local.simulator.views import backup_item, created_backup, instance_detail, instance_summary, job_view

PREFIX = "/v3/{project_id}"


def _region(request: web.Request) -> str:
    """The region of the path's project (the gateway has checked it is served)."""
    region = request.app[STATE].region_of(request.match_info["project_id"])
    if region is None:
        raise project_unavailable()
    return region


def _paging(query: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit): offset ≥ 0 (default 0), limit 1–100 (default 100)."""
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise ApiFailure(
            400, "DBS.280439", "Invalid records: limit must be a positive integer of at most 100."
        )
    try:
        offset = int(query.get("offset", "0"))
    except ValueError:
        offset = -1
    if offset < 0:
        raise bad_parameter("offset", "must be a non-negative integer")
    return offset, limit


def _name_filter(field: str, wanted: str) -> tuple[str, bool]:
    """(text, fuzzy): ``*abc`` matches names containing ``abc``; a bare ``*`` is refused."""
    if wanted.startswith("*"):
        if wanted == "*":
            raise bad_parameter(field, "a fuzzy match needs text after *")
        return wanted[1:], True
    return wanted, False


def _matches(value: str, text: str, fuzzy: bool) -> bool:
    return text in value if fuzzy else value == text


async def list_instances(request: web.Request) -> web.Response:
    state = request.app[STATE]
    region = _region(request)
    query = request.query
    offset, limit = _paging(query)
    filters = [(field, *_name_filter(field, query[field])) for field in ("id", "name") if field in query]
    now = state.now()
    found = [
        instance
        for instance in state.instances_in(region)
        if all(_matches(getattr(instance, field), text, fuzzy) for field, text, fuzzy in filters)
        and query.get("type", "Cluster") == "Cluster"
        and query.get("datastore_type", "gaussdb-mysql") == "gaussdb-mysql"
    ]
    page = [
        instance_summary(instance, state.instance_status(instance, now), region)
        for instance in found[offset : offset + limit]
    ]
    return web.json_response({"instances": page, "total_count": len(found)})


async def show_instance(request: web.Request) -> web.Response:
    state = request.app[STATE]
    region = _region(request)
    instance_id = request.match_info["instance_id"]
    if not rules.is_instance_id(instance_id):
        raise bad_instance_id()
    instance = state.instance(instance_id, region)
    if instance is None:
        raise instance_not_found()
    now = state.now()
    used_gb = sum(
        b.size_mb
        for b in state.backups.values()
        if b.instance_id == instance_id and b.status(now) == "COMPLETED"
    )
    detail = instance_detail(instance, state.instance_status(instance, now), region, used_gb / 1024)
    return web.json_response({"instance": detail})


async def create_backup(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body: Any
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        body = None
    backup = state.create_backup(_region(request), body)
    return web.json_response({"backup": created_backup(backup), "job_id": backup.job_id}, status=201)


async def delete_backup(request: web.Request) -> web.Response:
    """``DELETE …/backups/{backup_id}`` (fact sheet §2.5): a manual backup that is not building."""
    backup = request.app[STATE].delete_backup(_region(request), request.match_info["backup_id"])
    return web.json_response({"backup_id": backup.id, "backup_name": backup.name})


def _time_filter(query: Mapping[str, str], field: str) -> int | None:
    """Epoch seconds of ``begin_time``/``end_time``; an unencoded ``+`` arrives as a space and fails."""
    if field not in query:
        return None
    try:
        when = parse_cloud_time(query[field])
    except ValueError:
        raise bad_parameter(field, "expected yyyy-mm-ddThh:mm:ss+0800 with the + percent-encoded") from None
    return None if when is None else int(when.timestamp())


def _backup_filter(query: Mapping[str, str]) -> list[tuple[str, str]]:
    instance_id = query.get("instance_id")
    if instance_id is not None and not rules.is_instance_id(instance_id):
        raise bad_instance_id()
    if query.get("backup_type", "manual") not in ("auto", "manual"):
        raise bad_parameter("backup_type", "must be auto or manual")
    fields = {
        "instance_id": "instance_id",
        "backup_id": "id",
        "backup_type": "type",
        "name": "name",
        "instance_name": "instance_name",
    }
    return [(attribute, query[param]) for param, attribute in fields.items() if param in query]


async def list_backups(request: web.Request) -> web.Response:
    state = request.app[STATE]
    region = _region(request)
    query = request.query
    offset, limit = _paging(query)
    exact = _backup_filter(query)
    begin, end = _time_filter(query, "begin_time"), _time_filter(query, "end_time")
    if begin is not None and end is not None and end <= begin:
        raise bad_parameter("end_time", "must be later than begin_time")

    def wanted(backup: SimBackup) -> bool:
        started = int(backup.begin)
        return (
            all(getattr(backup, attribute) == value for attribute, value in exact)
            and (begin is None or started >= begin)
            and (end is None or started <= end)
        )

    now = state.now()
    found = [backup for backup in state.newest_first(region) if wanted(backup)]
    page = [backup_item(backup, now) for backup in found[offset : offset + limit]]
    return web.json_response({"backups": page, "total_count": len(found)})


async def show_job(request: web.Request) -> web.Response:
    state = request.app[STATE]
    job_id = request.query.get("id", "")
    if not job_id:
        raise bad_parameter("id", "a job ID is required")
    now = state.now()
    backup = state.job(_region(request), job_id, now)
    if backup is None:
        raise ApiFailure(400, "DBS.200543", "The job does not exist.")
    return web.json_response({"job": job_view(backup, now)})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(f"{PREFIX}/instances", list_instances)
    router.add_get(f"{PREFIX}/instances/{{instance_id}}", show_instance)
    router.add_post(f"{PREFIX}/backups/create", create_backup)
    router.add_get(f"{PREFIX}/backups", list_backups)
    router.add_delete(f"{PREFIX}/backups/{{backup_id}}", delete_backup)
    router.add_get(f"{PREFIX}/jobs", show_job)
