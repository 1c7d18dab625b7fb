"""Approve and Reject buttons. ``ack()`` first; then the decision (Redis, within the budget), then
Slack: the buttons are replaced at once, refusals go privately to the clicker through the
interaction's response_url, in the clicker's own language (the thread stays in the requester's)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.decisions import Decision, Elsewhere, Unavailable, check, decide
from bot.app.services import Services
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET, record_deadline
from bot.slack.payloads import BlockActions
from bot.slack.render import answers, request, views
from bot.slack.render.pieces import Message

log = logging.getLogger("bot.slack.actions")

DECIDE_BLOCK = "decide:"


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


def clicked_request(click: BlockActions) -> str | None:
    """The request a decision button names, or None when its value and its block disagree (a button
    can only name the request of the block it sits in)."""
    action = click.actions[0]
    if action.block_id.startswith(DECIDE_BLOCK) and action.block_id[len(DECIDE_BLOCK) :] != action.value:
        return None
    return action.value


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def approve(
        ack: AsyncAck, context: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click: BlockActions = context["payload"]
        lang = services.languages.default
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await services.languages.for_reply(click.user.id)
                request_id = clicked_request(click)
                if request_id is None:
                    decision = Decision(None, Elsewhere())
                else:
                    decision = await decide(
                        services,
                        request_id,
                        click.user.id,
                        approve=True,
                        seen=click.seen_on,
                        deadline=record_deadline(services),
                    )
        except UNAVAILABLE:
            decision = Decision(None, Unavailable())
        if decision.refusal is not None:
            await tell_privately(respond, answers.decision_refusal(decision.refusal, lang=lang))
            return
        if decision.request is not None:
            await replace_buttons(client, services, decision.request.id)

    async def reject(
        ack: AsyncAck, context: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click: BlockActions = context["payload"]
        lang = services.languages.default
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await services.languages.for_reply(click.user.id)
                request_id = clicked_request(click)
                allowed = (
                    Decision(None, Elsewhere())
                    if request_id is None
                    else await check(services, request_id, click.user.id)
                )
        except UNAVAILABLE:
            allowed = Decision(None, Unavailable())
        if allowed.refusal is not None or allowed.request is None:
            refusal = answers.decision_refusal(allowed.refusal, lang=lang) if allowed.refusal else None
            await tell_privately(respond, refusal or answers.request_gone(lang=lang))
            return
        seen = click.seen_on
        view = views.reject_form(allowed.request, lang=lang, seen=seen)
        await client.views_open(trigger_id=click.trigger_id, view=view)

    app.action(request.APPROVE_ACTION)(approve)
    app.action(request.REJECT_ACTION)(reject)
