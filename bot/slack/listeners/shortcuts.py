"""The global shortcut "Take a backup" and the Home's button of the same name: both open the same
form, which then asks for the channel (neither knows one)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.choices import warm_instances
from bot.app.intake import refusal_for
from bot.app.services import Services
from bot.domain import grammar
from bot.domain.request import utcnow
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET
from bot.slack.payloads import BlockActions, Shortcut
from bot.slack.render import answers, views
from bot.slack.render.home import TAKE_BACKUP_ACTION


async def open_form(
    services: Services, ack: AsyncAck, client: AsyncWebClient, user_id: str, trigger_id: str
) -> None:
    """The backup form for ``user_id``, or a modal saying why not (no role, Redis not answering)."""
    lang = services.people.default
    try:
        async with asyncio.timeout(WEB_BUDGET):
            lang = await services.people.for_reply(user_id)
            refused = await refusal_for(services, user_id)
            if refused is None:
                await warm_instances(services)
            notice = answers.no_role(refused.helpers, lang=lang).text if refused else None
    except UNAVAILABLE:
        notice = answers.unavailable(lang=lang).text
    await ack()
    if notice is not None:
        await client.views_open(trigger_id=trigger_id, view=views.notice(notice, lang=lang))
        return
    form = views.backup_form(
        default_name=grammar.default_backup_name(utcnow()), lang=lang, retention=services.policy.retention
    )
    await client.views_open(trigger_id=trigger_id, view=form)


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def take_backup(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        shortcut: Shortcut = context["payload"]
        await open_form(services, ack, client, shortcut.user.id, shortcut.trigger_id)

    async def home_take_backup(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        click: BlockActions = context["payload"]
        if not click.trigger_id:
            await ack()
            return
        await open_form(services, ack, client, click.user.id, click.trigger_id)

    front.listen(app.shortcut(views.SHORTCUT_CALLBACK), take_backup)
    front.listen(app.action(TAKE_BACKUP_ACTION), home_take_backup)
