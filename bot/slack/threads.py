"""Finding a reply the bot already posted in a request's thread.

``chat.postMessage`` has no idempotency key, so a post whose answer was lost (a timeout, a dropped
connection, a worker stopped or killed before it recorded the answer) may or may not be in the
thread. Before such a reply is posted again (:mod:`bot.app.replies` tells when), the thread is read
once: every reply carries its kind, request and slot (the request field that records it) in its
message metadata, which is what is looked for. Reading a thread needs ``channels:history``
(``groups:history`` in a private channel); without it, or when the thread cannot be read, the reply
is posted.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.ports import ReplyKind
from bot.domain.request import BackupRequest

log = logging.getLogger("bot.slack.threads")

READ_AT_MOST = 200  # messages of one thread; a request's thread holds about ten


def about(request: BackupRequest, slot: str) -> dict[str, str]:
    """A reply's metadata payload: the request, its state, and the slot that records the reply."""
    payload = {"request_id": request.id, "state": request.state.value}
    return payload | {"slot": slot} if slot else payload


def is_reply(message: Any, request: BackupRequest, kind: ReplyKind, slot: str) -> bool:
    """Whether ``message`` (as conversations.replies gives it) is the reply of ``kind`` about
    ``request`` that ``slot`` records."""
    if not isinstance(message, dict):
        return False
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != f"backup_bot_{kind.value}":
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload == {**payload, **about(request, slot)}


async def posted_reply(
    client: AsyncWebClient, request: BackupRequest, kind: ReplyKind, slot: str
) -> str | None:
    """The ts of the reply of ``kind`` about ``request`` if its thread holds it, else None (also when
    the thread cannot be read: then the caller posts)."""
    try:
        answer = await client.conversations_replies(
            channel=request.channel_id, ts=request.parent_ts, include_all_metadata=True, limit=READ_AT_MOST
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
        log.warning("%s: could not read its thread (%s); posting its %s reply", request.id, error, kind.value)
        return None
    for message in answer.get("messages") or []:
        if is_reply(message, request, kind, slot):
            log.info("%s: its %s reply is in its thread already; not posted again", request.id, kind.value)
            return str(message.get("ts") or "") or None
    return None
