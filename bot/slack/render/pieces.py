"""The pieces every Slack message is built from: safe text and Block Kit primitives. Pure.

Text anyone could have typed — instance references, backup names and descriptions, references, error
messages from the cloud — is escaped with :func:`bot.slack.render.text.escape` and bounded in length,
so it can never ping ``@channel``, mention someone or become a link, and never breaks Slack's size
limits (section text 3000, field 2000, header 150, blocks per message 50). User input never goes into
``plain_text`` objects (headers), only into ``mrkdwn`` where it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.people import is_channel_id, is_user_id
from bot.domain.request import (
    AMBIGUOUS_INSTANCE,
    GAVE_UP,
    INSTANCE_NOT_FOUND,
    NOT_A_MEMBER,
    NOT_AUTHORIZED,
    NOT_IN_CHANNEL,
    BackupRequest,
    instance_label,
)
from bot.i18n import as_lang, t
from bot.slack.render.text import GRAVE, escape, format_duration, inert

Block = dict[str, Any]

# Raw characters kept from each piece of user or cloud text before escaping (escaping can multiply
# the length by five); chosen so every block stays far inside Slack's limits.
MAX_NAME = 100
MAX_INSTANCE = 100
MAX_DESCRIPTION = 300
MAX_REFERENCE = 200
MAX_ERROR = 400
MAX_ID = 80
MAX_PROBLEM = 400
MAX_USAGE = 500
MAX_NOTE = 300
MAX_NOTES = 10
MAX_LIST_ITEMS = 40
PROGRESS_CELLS = 10
MAX_SUGGESTIONS = 5
NONE = "—"


@dataclass(frozen=True, slots=True)
class Message:
    """A message ready for ``chat.postMessage`` / ``chat.update`` / ``chat.postEphemeral``."""

    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        """``client.chat_postMessage(channel=…, **message.as_kwargs())``."""
        return {"text": self.text, "blocks": self.blocks}


def clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def user_text(value: str, limit: int) -> str:
    """User or cloud text for mrkdwn: clipped, then made inert (never the other way round): it reads
    as typed, never as formatting, a mention or a link."""
    return inert(clip(value, limit))


def code(value: str, limit: int = MAX_ID) -> str:
    """An identifier in a code span (a backtick inside would end the span early: it becomes ``ˋ``)."""
    if not value:
        return NONE
    return f"`{escape(clip(value, limit).replace('`', GRAVE))}`"


def mention(user_id: str, lang: str) -> str:
    """``<@U…>`` for a real-looking Slack user ID, the escaped text otherwise."""
    if is_user_id(user_id, min_length=2):
        return f"<@{user_id}>"
    return user_text(user_id, MAX_ID) if user_id else t(lang, "unknown")


def channel(channel_id: str, lang: str) -> str:
    """``<#C…>`` for a real-looking channel ID, the escaped text otherwise."""
    if is_channel_id(channel_id):
        return f"<#{channel_id}>"
    return user_text(channel_id, MAX_ID) if channel_id else t(lang, "unknown")


def instance(req: BackupRequest, lang: str) -> str:
    """The instance with its ID (and its region, when the bot serves several)."""
    label = instance_label(req)
    if req.instance_name and req.instance_id:
        return t(lang, "instance.with_id", name=user_text(label, MAX_INSTANCE), id=code(req.instance_id))
    if req.instance_name:
        return user_text(label, MAX_INSTANCE)
    if req.instance_id:
        return code(req.instance_id)
    return user_text(req.instance_ref, MAX_INSTANCE) or t(lang, "unknown")


def instance_short(req: BackupRequest, lang: str) -> str:
    shown = user_text(instance_label(req) or req.instance_ref, MAX_INSTANCE)
    return shown or t(lang, "unknown")


def progress_bar(percent: int) -> str:
    percent = max(0, min(100, percent))
    filled = round(percent * PROGRESS_CELLS / 100)
    return "▰" * filled + "▱" * (PROGRESS_CELLS - filled)


def duration(begin: datetime | None, end: datetime | None, lang: str) -> str:
    if begin is None or end is None:
        return t(lang, "unknown")
    return format_duration((end - begin).total_seconds(), lang)


OWN_REASONS = {
    NOT_IN_CHANNEL: "reason.not_in_channel",
    INSTANCE_NOT_FOUND: "reason.instance_not_found",
    AMBIGUOUS_INSTANCE: "reason.ambiguous",
    NOT_AUTHORIZED: "reason.no_role",
    NOT_A_MEMBER: "reason.not_a_member",
    GAVE_UP: "reason.gave_up",
}


def reason(req: BackupRequest, lang: str) -> str:
    """Why the request ended: the catalog's words for the bot's own error codes, else the cloud's
    message (already in the requester's language, through ``X-Language``)."""
    if key := OWN_REASONS.get(req.error_code):
        return t(lang, key, ref=code(req.instance_ref, MAX_INSTANCE))
    return user_text(req.error_msg, MAX_ERROR) if req.error_msg else t(lang, "failed.no_reason")


def lang_of(req: BackupRequest, lang: str | None = None) -> str:
    """The language of a message about ``req``: ``lang`` when given, else the requester's."""
    return as_lang(lang if lang is not None else req.language)


def header(text: str) -> Block:
    # Only our own wording goes here: plain_text is not escaped by Slack's rules.
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150), "emoji": True}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}


def fields(fields: list[str]) -> list[Block]:
    """Section blocks of two-column fields, at most ten fields per section."""
    return [
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": clip(f, 2000)} for f in fields[i : i + 10]],
        }
        for i in range(0, len(fields), 10)
    ]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 3000)}]}


def divider() -> Block:
    return {"type": "divider"}


def simple(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


def who(who_can_help: list[str], lang: str) -> str:
    if who_can_help:
        return t(lang, "refused.who", who=", ".join(who_can_help))
    return t(lang, "refused.nobody")
