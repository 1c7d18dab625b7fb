"""``views.*``: modals opened with a trigger, pushed, and updated by ID or external ID with a hash;
each person's Home tab published with ``views.publish``. Slack's view limits are enforced on all."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from bot.local.fake_slack.identity import APP_ID, BOT_ID, TRIGGER_TTL_SECONDS
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace

MAX_BLOCKS = 100
MAX_HOME_BYTES = 250_000
MAX_PRIVATE_METADATA = 3000
MAX_ID_LENGTH = 255  # callback_id and external_id
_TEXT_LIMITS = {
    "private_metadata": MAX_PRIVATE_METADATA,
    "callback_id": MAX_ID_LENGTH,
    "external_id": MAX_ID_LENGTH,
}


def _invalid(*messages: str) -> Answer:
    """Slack's refusal of a malformed view: ``invalid_arguments`` and what was wrong, where."""
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(messages)}}


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


def _refusal(view: Any) -> Answer | None:
    """``None`` for a view within Slack's limits, else Slack's answer to it."""
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return _invalid("[ERROR] must provide an array [json-pointer:/view/blocks]")
    if len(blocks) > MAX_BLOCKS:
        return _invalid(f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/view/blocks]")
    limits = {
        "private_metadata": MAX_PRIVATE_METADATA,
        "callback_id": MAX_ID_LENGTH,
        "external_id": MAX_ID_LENGTH,
    }
    for key, most in limits.items():
        if len(str(view.get(key) or "")) > most:
            return _invalid(f"[ERROR] must be less than {most + 1} characters [json-pointer:/view/{key}]")
    return None


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _stored(
    ws: Workspace, view: dict[str, Any], view_id: str, previous: str | None, root: str
) -> dict[str, Any]:
    return {
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        **view,
        "id": view_id,
        "team_id": ws.knobs.team_id,
        "app_id": APP_ID,
        "bot_id": BOT_ID,
        "state": {"values": {}},
        "hash": _new_hash(),
        "root_view_id": root,
        "previous_view_id": previous,
    }


def _store(ws: Workspace, view: Any, view_id: str, previous: str | None, root: str) -> Answer:
    if refusal := _refusal(view):
        return refusal
    stored = _stored(ws, view, view_id, previous, root)
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
    home_of = next((user for user, v in ws.home_views.items() if v["id"] == view_id), None)
    current = ws.views.get(view_id) if home_of is None else ws.home_views[home_of]
    if current is None:
        return {"ok": False, "error": "not_found"}
    if args.get("hash") and args["hash"] != current["hash"]:
        return {"ok": False, "error": "hash_conflict"}
    if home_of is not None:
        return _publish(ws, home_of, args.get("view"), current)
    return _store(ws, args.get("view"), view_id, current["previous_view_id"], current["root_view_id"])


def publish(ws: Workspace, args: Args) -> Answer:
    """Replace ``user_id``'s Home view; a ``hash`` older than the current view's is refused."""
    user_id = str(args.get("user_id") or "")
    if not user_id:
        return _invalid("[ERROR] missing required field: user_id")
    if not ws.knows_user(user_id):
        return {"ok": False, "error": "user_not_found"}
    current = ws.home_views.get(user_id)
    if args.get("hash") and current is not None and args["hash"] != current["hash"]:
        return {"ok": False, "error": "hash_conflict"}
    return _publish(ws, user_id, args.get("view"), current)


def _publish(ws: Workspace, user_id: str, view: Any, current: dict[str, Any] | None) -> Answer:
    if refusal := _refusal(view):
        return refusal
    assert isinstance(view, dict)
    if view.get("type") != "home":
        return _invalid("[ERROR] must be home [json-pointer:/view/type]")
    if len(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_HOME_BYTES:
        return {"ok": False, "error": "view_too_large"}
    view_id = current["id"] if current is not None else ws.next_view_id()  # a person's Home keeps its ID
    stored = _stored(ws, view, view_id, None, view_id)
    ws.home_views[user_id] = stored
    return {"ok": True, "view": stored}


METHODS: dict[str, Handler] = {
    "views.open": open_view,
    "views.push": push,
    "views.update": update,
    "views.publish": publish,
}
