"""The global shortcut "Take a backup": opens the same form, which then asks for the channel."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.choices import warm_instances
from bot.app.intake import refusal_for
from bot.domain import grammar
from bot.domain.request import utcnow
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET
from bot.slack.payloads import Shortcut
from bot.slack.render import answers, views


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def take_backup(ack: AsyncAck, context: dict[str, Any], client: AsyncWebClient) -> None:
        shortcut: Shortcut = context["payload"]
        lang = services.people.default
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await services.people.for_reply(shortcut.user.id)
                refused = await refusal_for(services, shortcut.user.id)
                if refused is None:
                    await warm_instances(services)
                notice = answers.no_role(refused.helpers, lang=lang).text if refused else None
        except UNAVAILABLE:
            notice = answers.unavailable(lang=lang).text
        await ack()
        if notice is not None:
            await client.views_open(trigger_id=shortcut.trigger_id, view=views.notice(notice, lang=lang))
            return
        form = views.backup_form(default_name=grammar.default_backup_name(utcnow()), lang=lang)
        await client.views_open(trigger_id=shortcut.trigger_id, view=form)

    app.shortcut(views.SHORTCUT_CALLBACK)(take_backup)
