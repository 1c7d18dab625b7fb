"""``chat.*``: posting, updating, ephemeral messages and permalinks, as Slack answers them."""

from __future__ import annotations

from typing import Any

from bot.local.fake_slack.identity import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID
from bot.local.fake_slack.workspace import Answer, Args, Handler, Workspace


def _not_in_channel(ws: Workspace, channel: str) -> Answer | None:
    return None if ws.is_member(channel) else {"ok": False, "error": "not_in_channel"}


def _has_content(args: Args) -> bool:
    return bool(args.get("text") or args.get("blocks") or args.get("attachments"))


def post_message(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    if not channel:
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
        "team": TEAM_ID,
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
    if not args.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not args.get("user"):
        return {"ok": False, "error": "user_not_found"}
    if not _has_content(args):
        return {"ok": False, "error": "no_text"}
    return {"ok": True, "message_ts": ws.next_ts()}


def get_permalink(ws: Workspace, args: Args) -> Answer:
    channel = str(args.get("channel") or "")
    ts = str(args.get("message_ts") or "")
    if (channel, ts) not in ws.messages:
        return {"ok": False, "error": "message_not_found"}
    link = f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel, "permalink": link}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
}
