"""Approve and Reject buttons. ``ack()`` first; then the decision (Redis), then Slack: the buttons
are replaced at once, refusals go privately to the clicker through the interaction's response_url,
in the clicker's own language (the thread stays in the requester's)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.decisions import check, decide
from bot.app.services import Services
from bot.slack.listeners import Front
from bot.slack.render import answers, request, views
from bot.slack.render.pieces import Message

log = logging.getLogger("bot.slack.actions")


async def replace_buttons(client: AsyncWebClient, services: Services, request_id: str) -> None:
    current = await services.store.get(request_id)
    if current is not None and current.parent_ts:
        message = request.parent_message(current)
        await client.chat_update(
            channel=current.channel_id, ts=current.parent_ts, text=message.text, blocks=message.blocks
        )


async def tell_privately(respond: AsyncRespond, message: Message) -> None:
    """Only the clicker sees it, and the message with the buttons stays as it is."""
    await respond(text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def approve(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request_id = str(body["actions"][0]["value"])
        user_id = body["user"]["id"]
        lang = await services.languages.for_reply(user_id)
        decision = await decide(services, request_id, user_id, approve=True)
        if decision.refusal is not None:
            await tell_privately(respond, answers.decision_refusal(decision.refusal, lang=lang))
            return
        await replace_buttons(client, services, request_id)

    async def reject(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        request_id = str(body["actions"][0]["value"])
        user_id = body["user"]["id"]
        lang = await services.languages.for_reply(user_id)
        allowed = await check(services, request_id, user_id)
        if allowed.refusal is not None or allowed.request is None:
            refusal = answers.decision_refusal(allowed.refusal, lang=lang) if allowed.refusal else None
            await tell_privately(respond, refusal or answers.request_gone(lang=lang))
            return
        view = views.reject_form(allowed.request, lang=lang)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    app.action(request.APPROVE_ACTION)(approve)
    app.action(request.REJECT_ACTION)(reject)
