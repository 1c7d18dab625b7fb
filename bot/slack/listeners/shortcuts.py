"""The global shortcut "Take a backup": opens the same form, which then asks for the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import grammar
from bot.domain.request import utcnow
from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.slack import views
from bot.slack.intake import refusal_for
from bot.worker.housekeeping import instances_key


def register(app: AsyncApp, services: Services) -> None:
    languages = UserLanguages.of(services)

    async def take_backup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        lang = await languages.for_reply(body["user"]["id"])
        refusal = await refusal_for(services, body["user"]["id"], lang=lang)
        if refusal is None:
            await services.scheduler.schedule(instances_key(), {})
        await ack()
        if refusal is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=views.notice(refusal.text, lang=lang))
            return
        form = views.backup_form(default_name=grammar.default_backup_name(utcnow()), lang=lang)
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    app.shortcut(views.SHORTCUT_CALLBACK)(take_backup)
