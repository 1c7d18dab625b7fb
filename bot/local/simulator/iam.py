"""IAM: ``POST /v3/auth/tokens`` (an IAM user's password for a project-scoped token) and
``GET /v3/projects`` (the projects of the account, e.g. ``?name={region}`` to find a region's
project the way the official SDK does).

Configured user, password and domain must match (unset ones accept anything non-empty). The token
travels in the ``X-Subject-Token`` header and is scoped to the project of ``scope.project.id`` or of
the region named by ``scope.project.name``; a project or region not served is refused with 401. The
project list takes an ``SDK-HMAC-SHA256`` signature or an ``X-Auth-Token``, checked like the
gateway checks them; the ``iam_projects`` fault knob makes a region's name match no project or two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.domain import rules
from bot.local.simulator.apierror import ApiFailure, IamFailure
from bot.local.simulator.auth import authenticate_request
from bot.local.simulator.faults import FAULTS
from bot.local.simulator.regions import Project, ProjectMap
from bot.local.simulator.seed import stable_id
from bot.local.simulator.state import STATE
from bot.local.simulator.views import project_item, token_body

DEFAULT_ACCOUNT = "simulated-account"  # the account name when no IAM domain is configured


def _bad_request(detail: str) -> IamFailure:
    return IamFailure(400, "Bad Request", f"The request body is invalid: {detail}.")


def _unauthorized(detail: str = "The username or password is wrong.") -> IamFailure:
    return IamFailure(401, "Unauthorized", detail)


def _unknown_project(which: str) -> IamFailure:
    return _unauthorized(f"The project {which} does not exist or is unavailable.")


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _matches(configured: str | None, given: Any) -> bool:
    if not isinstance(given, str) or not given:
        return False
    return configured is None or given == configured


def _scope(projects: ProjectMap, counts: Mapping[str, int], project: Any) -> tuple[str, str]:
    """(project id, project name) for the requested scope."""
    if not isinstance(project, Mapping) or not (project.get("id") or project.get("name")):
        raise _bad_request("scope.project with an id or a name is required")
    wanted_id = project.get("id")
    if wanted_id is not None:
        if not isinstance(wanted_id, str) or rules.check_project_id(wanted_id) is not None:
            raise _bad_request("scope.project.id is not a project ID")
        region = projects.region_of(wanted_id)
        if region is None:
            raise _unknown_project(wanted_id)
        return wanted_id, region
    name = str(project["name"])
    served = projects.by_region(name)
    if served is None or counts.get(name) == 0:
        raise _unknown_project(name)
    return served.id, name


async def issue_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    config = state.config
    try:
        body = json.loads(await request.read() or b"null")
    except ValueError:
        raise _bad_request("not JSON") from None
    methods = _dig(body, "auth", "identity", "methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise _bad_request("auth.identity.methods must include password")
    user = _dig(body, "auth", "identity", "password", "user")
    if not isinstance(user, Mapping):
        raise _bad_request("auth.identity.password.user is required")
    domain = _dig(user, "domain", "name")
    if not (
        _matches(config.iam_user, user.get("name"))
        and _matches(config.iam_password, user.get("password"))
        and _matches(config.iam_domain, domain)
    ):
        raise _unauthorized()
    counts = request.app[FAULTS].knobs.iam_projects
    project_id, project_name = _scope(state.projects, counts, _dig(body, "auth", "scope", "project"))
    token = state.issue_token(
        user=str(user["name"]), domain=str(domain), project_id=project_id, project_name=project_name
    )
    catalog = request.query.get("nocatalog", "").lower() != "true"
    return web.json_response(
        token_body(token, catalog=catalog), status=201, headers={"X-Subject-Token": token.value}
    )


def _matching(project: Project, count: int) -> list[str]:
    """``count`` project IDs under the region's name: the real one first, then made-up extras."""
    extras = [stable_id("project", f"{project.region}/extra-{n}") for n in range(1, count)]
    return [project.id, *extras][:count]


async def list_projects(request: web.Request) -> web.Response:
    """``GET /v3/projects[?name=]``: Keystone's list shape, with ``links``."""
    state = request.app[STATE]
    try:
        caller = await authenticate_request(request)
    except ApiFailure as refused:
        raise _unauthorized(refused.message) from None
    domain_id = stable_id("domain", caller.domain or state.config.iam_domain or DEFAULT_ACCOUNT)
    counts = request.app[FAULTS].knobs.iam_projects
    name = request.query.get("name")
    base = f"{request.scheme}://{request.host}"
    items = [
        project_item(project_id, project.region, domain_id, base)
        for project in state.projects.projects
        if name is None or project.region == name
        for project_id in _matching(project, counts.get(project.region, 1))
    ]
    links = {"self": str(request.url), "previous": None, "next": None}
    return web.json_response({"projects": items, "links": links})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v3/auth/tokens", issue_token)
    router.add_get("/v3/projects", list_projects)
