"""Bolt listeners, one module per kind; each module has ``register(app, services)``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.slack.listeners import actions, commands, forms, options, shortcuts


def register_listeners(app: AsyncApp, services: Services) -> None:
    for kind in (commands, actions, forms, options, shortcuts):
        kind.register(app, services)
