"""Approve and Reject buttons. ``ack()`` first; then the decision (Redis, within the budget), then
Slack: the buttons are replaced at once, refusals go privately to the clicker through the
interaction's response_url, in the clicker's own language (the thread stays in the requester's)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import retention
from bot.app.decisions import Decision, Elsewhere, Unavailable, cancel, check, decide, may_break_glass
from bot.app.ports import SlackBusy
from bot.app.services import Services
from bot.i18n import Lang
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET, record_deadline
from bot.slack.payloads import BlockActions
from bot.slack.render import answers, lifetimes, request, views
from bot.slack.render.pieces import Message
from bot.slack.respond import Responder

log = logging.getLogger("bot.slack.actions")

DECIDE_BLOCK = "decide:"
OWN_BLOCK = "own:"


async def show_now(services: Services, request_id: str) -> None:
    """Right after a decision counted: every copy of the request shows it (the buttons go, or the
    approval count moves), before the worker even looks."""
    current = await services.store.get(request_id)
    if current is not None:
        with contextlib.suppress(SlackBusy):  # Slack's budget is spent for now: the worker's step shows it
            await services.slack.update_parent(current)


async def tell_privately(
    click: BlockActions, responder: Responder, client: AsyncWebClient, message: Message, lang: str
) -> None:
    """Only the clicker sees it, and the message with the buttons stays as it is. It goes through
    the click's response_url only when that is Slack's (:class:`Responder`); a click on the App Home
    has none, and one Slack would not take there is answered as a small modal instead."""
    if click.response_url and await responder.send(click.response_url, message):
        return
    if click.trigger_id:
        await client.views_open(trigger_id=click.trigger_id, view=views.notice(message.text, lang=lang))


def clicked_request(click: BlockActions) -> str | None:
    """The request a decision button names, or None when its value and its block disagree (a button
    can only name the request of the block it sits in)."""
    action = click.actions[0]
    for prefix in (DECIDE_BLOCK, OWN_BLOCK, lifetimes.KEEP_BLOCK):
        if action.block_id.startswith(prefix) and action.block_id[len(prefix) :] != action.value:
            return None
    return action.value


async def decided(
    services: Services, click: BlockActions, use_case: Callable[[str], Awaitable[Decision]]
) -> tuple[Decision, Lang]:
    """What ``use_case`` says of the clicked request, and the clicker's language, within the web's
    budget: a button whose value and block disagree names no request (Elsewhere), and Redis too slow
    to answer is Unavailable."""
    lang = services.people.default
    try:
        async with asyncio.timeout(WEB_BUDGET):
            lang = await services.people.for_reply(click.user.id)
            request_id = clicked_request(click)
            decision = Decision(None, Elsewhere()) if request_id is None else await use_case(request_id)
    except UNAVAILABLE:
        decision = Decision(None, Unavailable())
    return decision, lang


async def acted(
    services: Services,
    click: BlockActions,
    responder: Responder,
    client: AsyncWebClient,
    decision: Decision,
    lang: Lang,
) -> None:
    """A click that decided (approve, cancel): a refusal goes to the clicker alone; a decision that
    counted shows on every copy of the request at once."""
    if decision.refusal is not None:
        await tell_privately(
            click, responder, client, answers.decision_refusal(decision.refusal, lang=lang), lang
        )
    elif decision.request is not None:
        await show_now(services, decision.request.id)


async def open_form(
    click: BlockActions,
    responder: Responder,
    client: AsyncWebClient,
    allowed: Decision,
    lang: Lang,
    form: Callable[..., dict[str, Any]],
) -> None:
    """A click that asks for more first (a reason to reject, to break glass): the form, when the
    clicker may; else why not, to them alone."""
    if allowed.refusal is not None or allowed.request is None:
        refusal = answers.decision_refusal(allowed.refusal, lang=lang) if allowed.refusal else None
        await tell_privately(click, responder, client, refusal or answers.request_gone(lang=lang), lang)
        return
    view = form(allowed.request, lang=lang, seen=click.seen_on)
    await client.views_open(trigger_id=click.trigger_id, view=view)


def register(app: AsyncApp, front: Front) -> None:
    services, responder = front.services, front.responder

    async def approve(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click: BlockActions = context["payload"]
        decision, lang = await decided(
            services,
            click,
            lambda request_id: decide(
                services,
                request_id,
                click.user.id,
                approve=True,
                seen=click.seen_on,
                deadline=record_deadline(services),
            ),
        )
        await acted(services, click, responder, client, decision, lang)

    async def reject(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click: BlockActions = context["payload"]
        allowed, lang = await decided(
            services, click, lambda request_id: check(services, request_id, click.user.id)
        )
        await open_form(click, responder, client, allowed, lang, views.reject_form)

    async def cancel_click(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click: BlockActions = context["payload"]
        decision, lang = await decided(
            services,
            click,
            lambda request_id: cancel(
                services, request_id, click.user.id, seen=click.seen_on, deadline=record_deadline(services)
            ),
        )
        await acted(services, click, responder, client, decision, lang)

    async def break_glass_click(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click: BlockActions = context["payload"]
        allowed, lang = await decided(
            services, click, lambda request_id: may_break_glass(services, request_id, click.user.id)
        )
        await open_form(click, responder, client, allowed, lang, views.break_glass_form)

    async def keep_more(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        click: BlockActions = context["payload"]
        lang = services.people.default
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await services.people.for_reply(click.user.id)
                request_id = clicked_request(click)
                result: retention.Kept | retention.NotKept = (
                    retention.NotKept("gone")
                    if request_id is None
                    else await retention.keep(services, request_id, click.user.id, None)
                )
        except UNAVAILABLE:
            await tell_privately(click, responder, client, answers.unavailable(lang=lang), lang)
            return
        if isinstance(result, retention.Kept):
            said = lifetimes.kept(result.request, lang)
        else:
            said = lifetimes.not_kept(result.reason, lang, result.longest)
        await tell_privately(click, responder, client, said, lang)

    front.listen(app.action(request.APPROVE_ACTION), approve)
    front.listen(app.action(lifetimes.KEEP_MORE_ACTION), keep_more)
    front.listen(app.action(request.REJECT_ACTION), reject)
    front.listen(app.action(request.CANCEL_ACTION), cancel_click)
    front.listen(app.action(request.BREAK_GLASS_ACTION), break_glass_click)
