"""Type-ahead for the form's instance select, answered from the Redis caches within Slack's 3 s:
instances for people who may ask for backups, nothing for anyone else."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.app.choices import instance_choices
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET
from bot.slack.payloads import BlockSuggestion
from bot.slack.render import views


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def instance_options(ack: AsyncAck, context: dict[str, Any]) -> None:
        suggestion: BlockSuggestion = context["payload"]
        try:
            async with asyncio.timeout(WEB_BUDGET):
                lang = await services.people.for_reply(suggestion.user.id)
                instances = await instance_choices(services, suggestion.user.id)
        except UNAVAILABLE:
            await ack(options=[])  # nothing to offer now; typing again asks again
            return
        await ack(
            options=views.instance_options(
                instances, suggestion.value, lang=lang, show_region=services.settings.multi_region
            )
        )

    front.listen(app.options(views.INSTANCE_ACTION), instance_options)
