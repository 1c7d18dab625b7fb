"""``conversations.*``: which channels the bot is in, joining public ones, and channel info."""

from __future__ import annotations

from typing import Any

from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def channel_info(ws: Workspace, channel: str) -> dict[str, Any]:
    return {
        "id": channel,
        "name": channel.lower(),
        "is_channel": channel.startswith("C"),
        "is_group": channel.startswith("G"),
        "is_im": channel.startswith("D"),
        "is_private": channel.startswith("G"),
        "is_member": ws.is_member(channel),
        "is_archived": False,
    }


def join(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not channel.startswith("C"):
        return {"ok": False, "error": "method_not_supported_for_channel_type"}
    ws.knobs.not_member.discard(channel)
    return {"ok": True, "channel": channel_info(ws, channel)}


def info(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    return {"ok": True, "channel": channel_info(ws, channel)}


METHODS: dict[str, Handler] = {
    "conversations.join": join,
    "conversations.info": info,
}
