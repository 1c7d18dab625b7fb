"""Bolt listeners, one module per kind; each module has ``register(app, front)``. Listeners stay
thin: ``ack()`` first (or with the answer), call a use case in :mod:`bot.app`, render the result."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp

from bot.app.services import Services
from bot.slack.respond import Responder


@dataclass(frozen=True)
class Front:
    """What the web process's listeners share: the services and the one response-URL sender."""

    services: Services
    responder: Responder


def register_listeners(app: AsyncApp, front: Front) -> None:
    from bot.slack.listeners import actions, commands, forms, home, options, shortcuts

    for kind in (commands, actions, forms, options, shortcuts, home):
        kind.register(app, front)
