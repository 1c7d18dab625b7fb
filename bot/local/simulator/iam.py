"""IAM's ``POST /v3/auth/tokens``: an IAM user's password for a project-scoped token.

Configured user, password and domain must match (unset ones accept anything non-empty). The token
travels in the ``X-Subject-Token`` header; its project is the configured project ID, the requested
``scope.project.id``, or a stable ID derived from ``scope.project.name``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.domain import rules
from bot.local.simulator.apierror import IamFailure
from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.seed import stable_id
from bot.local.simulator.state import STATE
from bot.local.simulator.views import token_body


def _bad_request(detail: str) -> IamFailure:
    return IamFailure(400, "Bad Request", f"The request body is invalid: {detail}.")


def _unauthorized(detail: str = "The username or password is wrong.") -> IamFailure:
    return IamFailure(401, "Unauthorized", detail)


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


def _scope(config: SimulatorConfig, project: Any) -> tuple[str, str]:
    """(project id, project name) for the requested scope."""
    if not isinstance(project, Mapping) or not (project.get("id") or project.get("name")):
        raise _bad_request("scope.project with an id or a name is required")
    wanted_id = project.get("id")
    if wanted_id is not None:
        if not isinstance(wanted_id, str) or rules.check_project_id(wanted_id) is not None:
            raise _bad_request("scope.project.id is not a project ID")
        if config.project_id is not None and wanted_id != config.project_id:
            raise _unauthorized(f"The project {wanted_id} does not exist or is unavailable.")
        return wanted_id, str(project.get("name") or config.region)
    name = str(project["name"])
    return config.project_id or stable_id("project", name), name


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
    project_id, project_name = _scope(config, _dig(body, "auth", "scope", "project"))
    token = state.issue_token(
        user=str(user["name"]), domain=str(domain), project_id=project_id, project_name=project_name
    )
    catalog = request.query.get("nocatalog", "").lower() != "true"
    return web.json_response(
        token_body(token, catalog=catalog), status=201, headers={"X-Subject-Token": token.value}
    )
