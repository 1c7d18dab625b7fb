"""``chat.*``: posting (into a channel, a thread, or a person's DM by their user ID), updating,
ephemeral messages and permalinks, as Slack answers them."""

from __future__ import annotations

import urllib.parse
from typing import Any

from bot.local.fake_slack.identity import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, USER_ID_RE
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def _not_in_channel(ws: Workspace, channel: str) -> Answer | None:
    return None if ws.is_member(channel) else {"ok": False, "error": "not_in_channel"}


def _has_content(args: Args) -> bool:
    return bool(args.get("text") or args.get("blocks") or args.get("attachments"))


def post_message(ws: Workspace, args: Args) -> Answer:
    channel = ws.resolve_channel(str(args.get("channel") or ""))
    if not channel or USER_ID_RE.match(channel):  # no channel, or a user who does not exist
        return {"ok": False, "error": "channel_not_found"}
    if refusal := _not_in_channel(ws, channel):
        return refusal
    if not _has_content(args):
        return {"ok": False, "error": "no_text"}
    ts = ws.next_ts()
    message: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": ws.knobs.team_id,
        "text": str(args.get("text") or ""),
        "ts": ts,
    }
    for key in ("blocks", "attachments", "metadata"):
        if key in args:
            message[key] = args[key]
    if args.get("thread_ts"):
        message["thread_ts"] = str(args["thread_ts"])
    ws.messages[(channel, ts)] = message
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def update(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    ts = str(args.get("ts") or "")
    if refusal := _not_in_channel(ws, channel):
        return refusal
    message = ws.messages.get((channel, ts))
    if message is None:
        return {"ok": False, "error": "message_not_found"}
    if "text" in args:
        message["text"] = str(args["text"] or "")
    if "blocks" in args:
        message["blocks"] = args["blocks"]
    elif "text" in args:
        message.pop("blocks", None)  # Slack drops the blocks when only text is sent
    message["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
    return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}


def post_ephemeral(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    user = str(args.get("user") or "")
    if not channel:
        return {"ok": False, "error": "channel_not_found"}
    if not user or not ws.knows_user(user):
        return {"ok": False, "error": "user_not_found"}
    if not ws.person_in(channel, user):
        return {"ok": False, "error": "user_not_in_channel"}
    if not _has_content(args):
        return {"ok": False, "error": "no_text"}
    return {"ok": True, "message_ts": ws.next_ts()}


def get_permalink(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    ts = str(args.get("message_ts") or "")
    message = ws.messages.get((channel, ts))
    if message is None:
        return {"ok": False, "error": "message_not_found"}
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != ts:  # a reply: Slack's link opens it in its thread
        link += "?" + urllib.parse.urlencode({"thread_ts": thread_ts, "cid": channel})
    return {"ok": True, "channel": channel, "permalink": link}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
