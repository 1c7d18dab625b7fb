"""The global shortcut "Take a backup": opens the same form, which then asks for the channel."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.choices import warm_instances
from bot.app.intake import refusal_for
from bot.domain import grammar
from bot.domain.request import utcnow
from bot.slack.listeners import Front
from bot.slack.render import answers, views


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def take_backup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        lang = await services.languages.for_reply(body["user"]["id"])
        refused = await refusal_for(services, body["user"]["id"])
        if refused is None:
            await warm_instances(services)
        await ack()
        if refused is not None:
            text = answers.no_role(refused.helpers, lang=lang).text
            await client.views_open(trigger_id=body["trigger_id"], view=views.notice(text, lang=lang))
            return
        form = views.backup_form(default_name=grammar.default_backup_name(utcnow()), lang=lang)
        await client.views_open(trigger_id=body["trigger_id"], view=form)

    app.shortcut(views.SHORTCUT_CALLBACK)(take_backup)
