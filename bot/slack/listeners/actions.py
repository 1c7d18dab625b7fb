"""Approve and Reject buttons. ``ack()`` first; then the decision (Redis), then Slack: the buttons
are replaced at once, refusals go privately to the clicker through the interaction's response_url,
in the clicker's own language (the thread stays in the requester's)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.slack import blocks, views
from bot.slack.decisions import check, decide

log = logging.getLogger("bot.slack.actions")


async def replace_buttons(client: AsyncWebClient, services: Services, request_id: str) -> None:
    request = await services.store.get(request_id)
    if request is not None and request.parent_ts:
        message = blocks.parent_message(request)
        await client.chat_update(
            channel=request.channel_id, ts=request.parent_ts, text=message.text, blocks=message.blocks
        )


async def tell_privately(respond: AsyncRespond, message: blocks.Message) -> None:
    """Only the clicker sees it, and the message with the buttons stays as it is."""
    await respond(text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, services: Services) -> None:
    languages = UserLanguages.of(services)

    async def approve(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request_id = str(body["actions"][0]["value"])
        user_id = body["user"]["id"]
        lang = await languages.for_reply(user_id)
        decision = await decide(services, request_id, user_id, approve=True, lang=lang)
        if decision.refusal is not None:
            await tell_privately(respond, decision.refusal)
            return
        await replace_buttons(client, services, request_id)

    async def reject(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request_id = str(body["actions"][0]["value"])
        user_id = body["user"]["id"]
        lang = await languages.for_reply(user_id)
        allowed = await check(services, request_id, user_id, lang=lang)
        if allowed.refusal is not None or allowed.request is None:
            await tell_privately(respond, allowed.refusal or blocks.request_gone(lang=lang))
            return
        view = views.reject_form(allowed.request, lang=lang)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action(blocks.APPROVE_ACTION)(approve)
    app.action(blocks.REJECT_ACTION)(reject)
