"""``app_home_opened``: the person opened the bot's Home tab. Their Home is published by the worker
(:func:`bot.app.home.opened` schedules it), so the event is acknowledged at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.app import home
from bot.domain.people import is_user_id
from bot.slack.listeners import Front
from bot.slack.listeners.budget import UNAVAILABLE, WEB_BUDGET

log = logging.getLogger("bot.slack.home")


def register(app: AsyncApp, front: Front) -> None:
    services = front.services

    async def home_opened(event: dict[str, Any]) -> None:
        user_id = event.get("user")
        if event.get("tab") != "home" or not isinstance(user_id, str) or not is_user_id(user_id):
            return  # the Messages tab, or an event that names nobody we could publish for
        try:
            async with asyncio.timeout(WEB_BUDGET):
                await home.opened(services, user_id)
        except UNAVAILABLE as exc:
            log.warning("Redis did not answer for app_home_opened (%s): the Home stays as it was", exc)

    front.listen(app.event("app_home_opened"), home_opened)
