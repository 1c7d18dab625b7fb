"""Every Slack message the worker sends: the thread's parent, replies in it, private notes.

Posting into a channel the bot has not joined fails with ``not_in_channel``: the bot joins public
channels itself (``channels:join``) and, for private ones, raises :class:`NotInChannel` so the
caller can tell the requester privately how to invite it and try again later.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.domain.request import BackupRequest

log = logging.getLogger("bot.worker.slack")


class Message(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def blocks(self) -> list[dict[str, Any]]: ...


_PARENT_GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived"})


class NotInChannel(Exception):
    """The bot cannot post in the request's channel until someone invites it."""


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


class SlackOut:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post_parent(self, request: BackupRequest, message: Message) -> str:
        """Post the channel message that roots the request's thread; returns its ts."""
        response = await self._in_channel(
            request.channel_id,
            lambda: self._client.chat_postMessage(
                channel=request.channel_id, text=message.text, blocks=message.blocks, unfurl_links=False
            ),
        )
        return str(response["ts"])

    async def update_parent(self, request: BackupRequest, message: Message) -> None:
        """Show the request's state on its parent message. A parent someone deleted (or a channel
        archived since) is not worth retrying: the thread replies still carry the news."""
        if not request.parent_ts:
            return
        try:
            await self._client.chat_update(
                channel=request.channel_id, ts=request.parent_ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            if _error(exc) not in _PARENT_GONE:
                raise
            log.warning("%s: parent message cannot be updated (%s); carrying on", request.id, _error(exc))

    async def reply(
        self, request: BackupRequest, message: Message, *, event: str, broadcast: bool = False
    ) -> str:
        """A reply in the request's thread (``thread_ts`` is always the parent's ts). ``event`` goes
        into the message's metadata (``backup_bot_<event>``), so other tools can tell replies apart."""
        metadata = {
            "event_type": f"backup_bot_{event}",
            "event_payload": {"request_id": request.id, "state": request.state.value},
        }
        response = await self._in_channel(
            request.channel_id,
            lambda: self._client.chat_postMessage(
                channel=request.channel_id,
                thread_ts=request.parent_ts,
                text=message.text,
                blocks=message.blocks,
                reply_broadcast=broadcast,
                unfurl_links=False,
                metadata=metadata,
            ),
        )
        return str(response["ts"])

    async def tell_requester(self, request: BackupRequest, message: Message) -> None:
        """A private note to the requester: through the command's response_url while it lives,
        else as an ephemeral message, else as a direct message."""
        if request.response_url:
            try:
                webhook = AsyncWebhookClient(request.response_url)
                answer = await webhook.send(
                    text=message.text,
                    blocks=message.blocks,
                    response_type="ephemeral",
                    replace_original=False,
                )
                if answer.status_code < 300:
                    return
            except Exception:  # an expired or unreachable response_url: fall through
                log.info("response_url unusable for %s; trying another way", request.id)
        try:
            await self._client.chat_postEphemeral(
                channel=request.channel_id, user=request.user_id, text=message.text, blocks=message.blocks
            )
        except SlackApiError:
            await self._client.chat_postMessage(
                channel=request.user_id, text=message.text, blocks=message.blocks
            )

    async def _in_channel(self, channel: str, call: Any) -> Any:
        try:
            return await call()
        except SlackApiError as exc:
            if _error(exc) not in ("not_in_channel", "channel_not_found"):
                raise
            if not channel.startswith("C"):
                raise NotInChannel(channel) from exc
            try:
                await self._client.conversations_join(channel=channel)
            except SlackApiError as join_exc:
                raise NotInChannel(channel) from join_exc
            log.info("joined public channel %s to post there", channel)
            return await call()
