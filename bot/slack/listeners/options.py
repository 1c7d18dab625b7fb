"""Type-ahead for the form's instance select, answered from the Redis cache within Slack's 3 s."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloud.models import Instance
from bot.i18n.readers import UserLanguages
from bot.services import Services
from bot.slack import views
from bot.worker.housekeeping import instances_key

COLD_CACHE_WAIT = 1.5  # seconds to wait for a worker to fill an empty cache; Slack allows 3


async def cached_instances(services: Services) -> list[Instance]:
    cached = await services.instances.get()
    if cached is not None:
        return cached
    await services.scheduler.schedule(instances_key(), {})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COLD_CACHE_WAIT
    while loop.time() < deadline:
        await asyncio.sleep(0.1)
        if (cached := await services.instances.get()) is not None:
            return cached
    return []


def register(app: AsyncApp, services: Services) -> None:
    languages = UserLanguages.of(services)

    async def instance_options(ack: AsyncAck, body: dict[str, Any], payload: dict[str, Any]) -> None:
        lang = await languages.for_reply(str((body.get("user") or {}).get("id", "")))
        instances = await cached_instances(services)
        await ack(options=views.instance_options(instances, str(payload.get("value", "")), lang=lang))

    app.options(views.INSTANCE_ACTION)(instance_options)
