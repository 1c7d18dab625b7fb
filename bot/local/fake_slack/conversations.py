"""``conversations.*``: which conversations the bot and people are in, joining public channels,
channel info, member lists (paged with a cursor, like Slack's), opening direct messages and
reading a thread (its messages' metadata only when asked for, as Slack gives it)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from bot.local.fake_slack.args import truthy
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def channel_info(ws: Workspace, channel: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": channel,
        "name": channel.lower(),
        "is_channel": channel.startswith("C"),
        "is_group": channel.startswith("G"),
        "is_im": channel.startswith("D"),
        "is_mpim": channel.startswith("G") and channel in ws.dms,
        "is_private": channel.startswith("G"),
        "is_member": ws.is_member(channel),
        "is_archived": False,
    }
    people = ws.dms.get(channel)
    if channel.startswith("D") and people:
        info["user"] = people[0]
    return info


def _readable(ws: Workspace, channel: str) -> bool:
    # A private conversation is invisible to a bot that is not in it: Slack says it does not exist.
    return bool(channel) and (not channel.startswith(("G", "D")) or ws.is_member(channel))


def join(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not channel.startswith("C"):
        return {"ok": False, "error": "method_not_supported_for_channel_type"}
    if channel not in ws.knobs.join_ignored:
        ws.knobs.not_member.discard(channel)
    return {"ok": True, "channel": channel_info(ws, channel)}


def info(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    found = channel_info(ws, channel)
    if truthy(args.get("include_num_members")):
        found["num_members"] = len(ws.members(channel))
    return {"ok": True, "channel": found}


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int | None:
    """Where a cursor of ours points; ``None`` for one we never gave out."""
    try:
        kind, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(number) if kind == "offset" and number.isdigit() else None


def members(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not _readable(ws, channel):
        return {"ok": False, "error": "channel_not_found"}
    try:
        limit = int(args.get("limit") or DEFAULT_PAGE)
    except ValueError:
        return {"ok": False, "error": "invalid_limit"}
    limit = max(1, min(limit, MAX_PAGE))
    start = 0
    if args.get("cursor"):
        found = _offset(str(args["cursor"]))
        if found is None:
            return {"ok": False, "error": "invalid_cursor"}
        start = found
    everyone = ws.members(channel)
    page = everyone[start : start + limit]
    more = start + limit < len(everyone)
    return {
        "ok": True,
        "members": page,
        "response_metadata": {"next_cursor": _cursor(start + limit) if more else ""},
    }


def open_conversation(ws: Workspace, args: Args) -> Answer:
    """``users=U1`` (or ``U1,U2``) opens the bot's DM (group DM); ``channel=D…`` reopens one."""
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "users_list_not_supplied"}
        if channel not in ws.dms:
            return {"ok": False, "error": "channel_not_found"}
        users = ws.dms[channel]
    if len(users) > 8:
        return {"ok": False, "error": "too_many_users"}
    if not all(ws.knows_user(u) for u in users):
        return {"ok": False, "error": "user_not_found"}
    channel, already = ws.open_dm(users)
    opened: dict[str, Any] = channel_info(ws, channel) if truthy(args.get("return_im")) else {"id": channel}
    answer: Answer = {"ok": True, "channel": opened}
    if already:
        answer |= {"no_op": True, "already_open": True}
    return answer


def _as_read(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    shown = {k: v for k, v in message.items() if k not in ("channel", "metadata")}
    metadata = message.get("metadata")
    if with_metadata and metadata:
        shown["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
    return shown


def replies(ws: Workspace, args: Args) -> Answer:
    """A thread: its parent, then its replies, oldest first (one page of ``limit``)."""
    channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
    if not _readable(ws, channel):
        return {"ok": False, "error": "channel_not_found"}
    if not ws.is_member(channel):
        return {"ok": False, "error": "not_in_channel"}
    parent = ws.messages.get((channel, ts))
    if parent is None:
        return {"ok": False, "error": "thread_not_found"}
    try:
        limit = max(1, min(int(args.get("limit") or DEFAULT_PAGE), MAX_PAGE))
    except ValueError:
        return {"ok": False, "error": "invalid_limit"}
    under = [m for (ch, at), m in ws.messages.items() if ch == channel and at != ts]
    thread = [parent] + [m for m in under if m.get("thread_ts") == ts]
    with_metadata = truthy(args.get("include_all_metadata"))
    return {
        "ok": True,
        "messages": [_as_read(m, with_metadata) for m in thread[:limit]],
        "has_more": len(thread) > limit,
    }


METHODS: dict[str, Handler] = {
    "conversations.join": join,
    "conversations.info": info,
    "conversations.members": members,
    "conversations.open": open_conversation,
    "conversations.replies": replies,
}
