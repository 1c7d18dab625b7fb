"""The unauthenticated ``/_sim/`` API for tests and benchmarks: inspect regions, calls and backups,
set faults, expire tokens, change an instance, add an automated backup, delete a backup "by hand"
(as someone using the console would), reset. Not part of the simulated cloud."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.local.simulator.apierror import ApiFailure, backup_not_found
from bot.local.simulator.faults import FAULTS
from bot.local.simulator.knobs import FaultKnobs, unknown_regions
from bot.local.simulator.records import SimBackup
from bot.local.simulator.state import STATE, SimulatorState
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
    faults = request.app[FAULTS]
    try:
        wanted = FaultKnobs.model_validate(faults.knobs.model_dump() | changes)
    except ValidationError as exc:
        raise ApiFailure(400, "SIM.0001", str(exc)) from None
    if unknown := unknown_regions(wanted, request.app[STATE].projects.regions):
        raise ApiFailure(400, "SIM.0001", f"faults name regions that are not served: {unknown}")
    return web.json_response(faults.update(changes).model_dump())


async def clear_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].replace(FaultKnobs())
    return web.json_response(request.app[FAULTS].knobs.model_dump())


async def expire_tokens(request: web.Request) -> web.Response:
    return web.json_response({"expired": request.app[STATE].expire_tokens()})


def _where(state: SimulatorState, region: str) -> dict[str, str]:
    project = state.projects.by_region(region)
    return {"region": region, "project_id": project.id if project else ""}


def _admin_item(state: SimulatorState, backup: SimBackup) -> dict[str, Any]:
    return backup_item(backup, state.now()) | {"job_id": backup.job_id} | _where(state, backup.region)


async def regions(request: web.Request) -> web.Response:
    """Every served region with its project ID and seeded instances; ``open`` when any ID is accepted."""
    state = request.app[STATE]
    served = [
        _where(state, region)
        | {"instances": [{"id": i.id, "name": i.name} for i in state.instances_in(region)]}
        for region in state.projects.regions
    ]
    return web.json_response({"regions": served, "open": state.projects.open})


async def backups(request: web.Request) -> web.Response:
    """Every live backup (of one region with ``?region=``), newest first."""
    state = request.app[STATE]
    items = [_admin_item(state, b) for b in state.newest_first(request.query.get("region"))]
    return web.json_response({"backups": items, "total_count": len(items)})


async def delete_by_hand(request: web.Request) -> web.Response:
    """Delete a backup the way the console would (same rules as the API), logged in the calls as
    ``auth: "console"`` so a test can tell it from the bot's own calls."""
    state = request.app[STATE]
    backup = state.backups.get(request.match_info["backup_id"])
    if backup is None:
        raise backup_not_found()
    state.delete_backup(backup.region, backup.id)
    where = _where(state, backup.region)
    request.app[TRAFFIC].note(
        {
            "method": "DELETE",
            "path": f"/v3/{where['project_id']}/backups/{backup.id}",
            "query": {},
            "status": 200,
            "x_language": None,
            "request_id": uuid.uuid4().hex,
            "auth": "console",
        }
        | where
    )
    return web.json_response({"backup_id": backup.id, "backup_name": backup.name} | where)


async def add_auto_backup(request: web.Request) -> web.Response:
    """A finished automated backup of the instance (the API refuses to delete those)."""
    state = request.app[STATE]
    backup = state.add_auto_backup(request.match_info["instance_id"])
    return web.json_response(_admin_item(state, backup), status=201)


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
    router.add_get("/_sim/regions", regions)
    router.add_get("/_sim/backups", backups)
    router.add_delete("/_sim/backups/{backup_id}", delete_by_hand)
    router.add_post("/_sim/instances/{instance_id}", change_instance)
    router.add_post("/_sim/instances/{instance_id}/auto-backups", add_auto_backup)
    router.add_post("/_sim/reset", reset)
    router.add_get("/_sim/stats", stats)
