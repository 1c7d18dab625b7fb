"""Type-ahead for the form's instance select, answered from the Redis cache within Slack's 3 s."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.app.choices import instance_choices
from bot.slack.listeners import Front
from bot.slack.render import views


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def instance_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any]) -> None:
        lang = await services.languages.for_reply(str((body.get("user") or {}).get("id", "")))
        instances = await instance_choices(services)
        await ack(options=views.instance_options(instances, str(payload.get("value", "")), lang=lang))

    app.options(views.INSTANCE_ACTION)(instance_options)
