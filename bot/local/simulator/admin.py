"""The unauthenticated ``/_sim/`` API for tests and benchmarks: inspect calls and backups, set
faults, expire tokens, change an instance, reset. Not part of the simulated cloud."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.local.simulator.apierror import ApiFailure
from bot.local.simulator.faults import FAULTS, FaultKnobs
from bot.local.simulator.state import STATE
from bot.local.simulator.traffic import TRAFFIC
from bot.local.simulator.views import backup_item


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiFailure(400, "SIM.0001", "expected a JSON object")
    return data


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def calls(request: web.Request) -> web.Response:
    return web.json_response(request.app[TRAFFIC].calls)


async def clear_calls(request: web.Request) -> web.Response:
    request.app[TRAFFIC].clear()
    return web.json_response({"cleared": True})


async def show_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].knobs.model_dump())


async def set_faults(request: web.Request) -> web.Response:
    changes = await _json_object(request)
    try:
        knobs = request.app[FAULTS].update(changes)
    except ValidationError as exc:
        raise ApiFailure(400, "SIM.0001", str(exc)) from None
    return web.json_response(knobs.model_dump())


async def clear_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].replace(FaultKnobs())
    return web.json_response(request.app[FAULTS].knobs.model_dump())


async def expire_tokens(request: web.Request) -> web.Response:
    return web.json_response({"expired": request.app[STATE].expire_tokens()})


async def backups(request: web.Request) -> web.Response:
    state = request.app[STATE]
    now = state.now()
    items = [backup_item(b, now) | {"job_id": b.job_id} for b in state.newest_first()]
    return web.json_response({"backups": items, "total_count": len(items)})


async def change_instance(request: web.Request) -> web.Response:
    """Body ``{"status": "REBOOTING", "fails_backups": true}`` (either key optional)."""
    changes = await _json_object(request)
    status, fails = changes.get("status"), changes.get("fails_backups")
    if not (status is None or isinstance(status, str)) or not (fails is None or isinstance(fails, bool)):
        raise ApiFailure(400, "SIM.0001", "status must be text and fails_backups a boolean")
    state = request.app[STATE]
    instance = state.set_instance(request.match_info["instance_id"], status=status, fails_backups=fails)
    return web.json_response(
        {"id": instance.id, "status": instance.status, "fails_backups": instance.fails_backups}
    )


async def reset(request: web.Request) -> web.Response:
    """Seed state, no calls recorded, the faults the simulator started with."""
    state = request.app[STATE]
    state.reset()
    request.app[TRAFFIC].clear()
    request.app[FAULTS].replace(state.config.faults)
    return web.json_response({"reset": True})


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = request.app[TRAFFIC].stats() | {"token_issues": state.token_issues, "backups": len(state.backups)}
    return web.json_response(body)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/_sim/health", health)
    router.add_get("/_sim/calls", calls)
    router.add_delete("/_sim/calls", clear_calls)
    router.add_get("/_sim/faults", show_faults)
    router.add_post("/_sim/faults", set_faults)
    router.add_delete("/_sim/faults", clear_faults)
    router.add_post("/_sim/expire-tokens", expire_tokens)
    router.add_get("/_sim/backups", backups)
    router.add_post("/_sim/instances/{instance_id}", change_instance)
    router.add_post("/_sim/reset", reset)
    router.add_get("/_sim/stats", stats)
