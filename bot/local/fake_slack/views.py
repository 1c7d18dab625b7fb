"""``views.*``: modals opened with a trigger, pushed, and updated by ID or external ID with a hash."""

from __future__ import annotations

import secrets
import time
from typing import Any

from bot.local.fake_slack.identity import APP_ID, BOT_ID, TEAM_ID, TRIGGER_TTL_SECONDS
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def _use_trigger(ws: Workspace, args: Args) -> Answer | None:
    """``None`` when the trigger may open a view (and is now used), else Slack's refusal."""
    trigger = str(args.get("trigger_id") or "")
    if not trigger:
        return {"ok": False, "error": "invalid_arguments"}
    if trigger in ws.used_triggers:
        return {"ok": False, "error": "trigger_exchanged"}
    issued_ms = trigger.split(".")[1] if trigger.count(".") == 2 else ""
    if issued_ms.isdigit() and time.time() * 1000 - int(issued_ms) > TRIGGER_TTL_SECONDS * 1000:
        return {"ok": False, "error": "expired_trigger_id"}
    ws.used_triggers.add(trigger)
    return None


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _store(ws: Workspace, view: Any, view_id: str, previous: str | None, root: str) -> Answer:
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    stored = {
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        **view,
        "id": view_id,
        "team_id": TEAM_ID,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "state": {"values": {}},
        "hash": _new_hash(),
        "root_view_id": root,
        "previous_view_id": previous,
    }
    ws.views[view_id] = stored
    return {"ok": True, "view": stored}


def open_view(ws: Workspace, args: Args) -> Answer:
    if refusal := _use_trigger(ws, args):
        return refusal
    view_id = ws.next_view_id()
    return _store(ws, args.get("view"), view_id, None, view_id)


def push(ws: Workspace, args: Args) -> Answer:
    if refusal := _use_trigger(ws, args):
        return refusal
    view_id = ws.next_view_id()
    top = next(reversed(ws.views.values()), None)
    root = str(top["root_view_id"]) if top else view_id
    return _store(ws, args.get("view"), view_id, top["id"] if top else None, root)


def update(ws: Workspace, args: Args) -> Answer:
    view_id = str(args.get("view_id") or "")
    if not view_id and args.get("external_id"):
        view_id = next((i for i, v in ws.views.items() if v["external_id"] == args["external_id"]), "")
    current = ws.views.get(view_id)
    if current is None:
        return {"ok": False, "error": "not_found"}
    if args.get("hash") and args["hash"] != current["hash"]:
        return {"ok": False, "error": "hash_conflict"}
    return _store(ws, args.get("view"), view_id, current["previous_view_id"], current["root_view_id"])


METHODS: dict[str, Handler] = {
    "views.open": open_view,
    "views.push": push,
    "views.update": update,
}
