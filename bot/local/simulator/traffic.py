"""What the simulator was asked and what it answered: the ordered call log and per-route counts.

:func:`traffic_middleware` is the outermost layer: it gives every response an ``X-Request-Id``,
turns refusals (:class:`ApiFailure`, aiohttp's 404/405) into the service's error bodies, and records
each non-admin request with the project and region its path names. A create whose answer was
swallowed on purpose is logged with status 0; a deletion made "by hand" through the admin API is
logged with ``auth`` ``"console"`` (in the call log only, not in the route counts).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.local.simulator.apierror import ApiFailure, no_such_api
from bot.local.simulator.auth import path_project, project_in_path
from bot.local.simulator.faults import ADMIN_PREFIX
from bot.local.simulator.notes import CURRENT, CallNotes
from bot.local.simulator.state import STATE

logger = logging.getLogger(__name__)


class Traffic:
    """The call log (in arrival order) and counts by route and status."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.counts: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def record(self, call: dict[str, Any], route: str) -> None:
        self.calls.append(call)
        self.counts[route][str(call["status"])] += 1

    def note(self, call: dict[str, Any]) -> None:
        """Log something that happened to the cloud without an API request (a console action)."""
        self.calls.append(call)

    def clear(self) -> None:
        self.calls.clear()
        self.counts.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "requests": sum(sum(c.values()) for c in self.counts.values()),
            "by_route": {route: dict(counter) for route, counter in sorted(self.counts.items())},
        }


TRAFFIC = web.AppKey("traffic", Traffic)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else '(no route)'}"


async def _call(request: web.Request, status: int, request_id: str, auth: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "status": status,
        "x_language": request.headers.get("X-Language"),
        "request_id": request_id,
        "auth": auth,
    }
    call["project_id"], call["region"] = path_project(request.app[STATE], request.path)
    if request.method == "POST" and project_in_path(request.path) is not None:
        try:
            call["body"] = json.loads(await request.read() or b"null")
        except ValueError:
            call["body"] = None
    return call


@web.middleware
async def traffic_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    call_notes = CallNotes()
    CURRENT.set(call_notes)
    response: web.StreamResponse
    try:
        response = await handler(request)
    except ApiFailure as failure:
        response = failure.response()
    except web.HTTPException as exc:
        refusal = (
            no_such_api() if exc.status in (404, 405) else ApiFailure(exc.status, "APIGW.0201", exc.reason)
        )
        response = refusal.response()
    except Exception:
        logger.exception("simulator bug while answering %s %s", request.method, request.path)
        response = ApiFailure(500, "DBS.108000", "Internal server error.").response()
    response.headers["X-Request-Id"] = request_id
    if not request.path.startswith(ADMIN_PREFIX):
        status = 0 if call_notes.dropped else response.status
        call = await _call(request, status, request_id, call_notes.auth)
        request.app[TRAFFIC].record(call, _route(request))
    return response
