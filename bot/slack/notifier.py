"""The :class:`~bot.app.ports.Notifier` for Slack: the thread's parent, replies in it, private notes,
audit lines — rendered by :mod:`bot.slack.render`, sent with the process's one Web API client.

Posting into a channel the bot has not joined fails with ``not_in_channel``: the bot joins public
channels itself (``channels:join``) and, for private ones, raises :class:`~bot.app.ports.NotInChannel`
so the caller can tell the requester privately how to invite it and try again later.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.home import Home
from bot.app.notices import Notice
from bot.app.people import People
from bot.app.ports import NotInChannel, ReplyKind
from bot.domain.audit import AuditEntry
from bot.domain.request import BackupRequest
from bot.slack.client import once_only
from bot.slack.pacing import Deferred, nice_to_have
from bot.slack.render import answers
from bot.slack.render import request as render
from bot.slack.render.audit import audit_line
from bot.slack.render.home import home_view, safe_link
from bot.slack.render.pieces import Message, lang_of
from bot.slack.render.policy import mentions
from bot.slack.respond import Responder
from bot.slack.threads import about, posted_reply

log = logging.getLogger("bot.slack.notifier")

_PARENT_GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived"})


def _error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, responder: Responder) -> None:
        self._client = client
        self._responder = responder

    async def post_parent(self, request: BackupRequest, approvers: People | None) -> str:
        """Post the channel message that roots the request's thread; returns its ts."""
        message = render.parent_message(request, mentions(approvers) if approvers is not None else None)
        response = await self._in_channel(
            request.channel_id,
            lambda: self._client.chat_postMessage(
                channel=request.channel_id, text=message.text, blocks=message.blocks, unfurl_links=False
            ),
        )
        return str(response["ts"])

    async def update_parent(self, request: BackupRequest, *, progress: bool = False) -> bool:
        """Show the request's state on its parent message and on every approver's DM copy. A
        message someone deleted (or a channel archived since) is not worth retrying: the thread
        replies still carry the news. ``progress``: only a newer progress figure, shown only if
        Slack's budget has a turn free now (False: not shown; the next figure will be)."""
        if not progress:
            await self._update_all(request)
            return True
        try:
            with nice_to_have():
                await self._update_all(request)
        except Deferred:
            return False
        return True

    async def _update_all(self, request: BackupRequest) -> None:
        if request.parent_ts:
            await self._update(request, request.channel_id, request.parent_ts, render.parent_message(request))
        if request.dm_copies:
            copy = render.parent_message(request, dm=True)
            for _, channel, ts in (c for c in request.dm_copies if len(c) == 3):
                await self._update(request, channel, ts, copy)

    async def _update(self, request: BackupRequest, channel: str, ts: str, message: Message) -> None:
        try:
            await self._client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
        except SlackApiError as exc:
            if _error(exc) not in _PARENT_GONE:
                raise
            log.warning("%s: message %s cannot be updated (%s); carrying on", request.id, ts, _error(exc))

    async def ask_approver(self, request: BackupRequest, user_id: str) -> tuple[str, str]:
        """The approval request as a direct message to ``user_id`` (posting to a user ID opens the
        bot's DM with them); its (channel, ts)."""
        message = render.parent_message(request, dm=True)
        answer = await self._client.chat_postMessage(
            channel=user_id, text=message.text, blocks=message.blocks, unfurl_links=False
        )
        return str(answer["channel"]), str(answer["ts"])

    async def reply(
        self,
        request: BackupRequest,
        kind: ReplyKind,
        *,
        detail: str = "",
        timeout_s: float | None = None,
        people: People | None = None,
        slot: str = "",
        once: bool = False,
    ) -> str:
        """A reply in the request's thread (``thread_ts`` is always the parent's ts). Its kind goes
        into the message's metadata (``backup_bot_<kind>``), so other tools can tell replies apart,
        with the request, its state and the reply's slot (what :meth:`find_reply` looks for)."""
        named = mentions(people) if people is not None else None
        message = render.reply(request, kind, detail=detail, timeout_s=timeout_s, approvers=named)
        metadata = {"event_type": f"backup_bot_{kind.value}", "event_payload": about(request, slot)}
        with once_only() if once else contextlib.nullcontext():
            response = await self._in_channel(
                request.channel_id,
                lambda: self._client.chat_postMessage(
                    channel=request.channel_id,
                    thread_ts=request.parent_ts,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    metadata=metadata,
                ),
            )
        return str(response["ts"])

    async def find_reply(self, request: BackupRequest, kind: ReplyKind, slot: str) -> str | None:
        return await posted_reply(self._client, request, kind, slot)

    async def tell_requester(self, request: BackupRequest, notice: Notice, *, lasting: bool = False) -> None:
        """A private note to the requester: through the command's response_url while it lives,
        else as an ephemeral message, else as a direct message (``lasting``: a direct message at
        once, which they will still find later)."""
        message = answers.notice(notice, lang=lang_of(request), request=request)
        if lasting:
            await self._client.chat_postMessage(
                channel=request.user_id, text=message.text, blocks=message.blocks
            )
            return
        if request.response_url and await self._responder.send(request.response_url, message):
            return
        try:
            await self._client.chat_postEphemeral(
                channel=request.channel_id, user=request.user_id, text=message.text, blocks=message.blocks
            )
        except SlackApiError:
            await self._client.chat_postMessage(
                channel=request.user_id, text=message.text, blocks=message.blocks
            )

    async def answer(self, response_url: str, notice: Notice, *, lang: str) -> None:
        await self._responder.send(response_url, answers.notice(notice, lang=lang))

    async def post_audit(self, channel: str, entry: AuditEntry) -> None:
        await self._client.chat_postMessage(channel=channel, text=audit_line(entry), unfurl_links=False)

    async def permalink(self, channel: str, ts: str) -> str:
        """The message's link; "" when it is gone or Slack gives something that is not a safe link."""
        try:
            answer = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            if _error(exc) not in _PARENT_GONE:
                raise
            return ""
        link = str(answer.get("permalink") or "")
        return link if safe_link(link) else ""

    async def publish_home(self, home: Home) -> None:
        await self._client.views_publish(user_id=home.user_id, view=home_view(home))

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
            try:
                return await call()
            except SlackApiError as again:
                if _error(again) in ("not_in_channel", "channel_not_found"):
                    raise NotInChannel(channel) from again  # joined, yet still refused: wait, do not loop
                raise
