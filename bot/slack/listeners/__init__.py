"""Bolt listeners, one module per kind; each module has ``register(app, front)``. Listeners stay
thin: ``ack()`` first (or with the answer), call a use case in :mod:`bot.app`, render the result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.app.services import Services
from bot.slack.after_ack import AfterAck
from bot.slack.respond import Responder


@dataclass(frozen=True)
class Front:
    """What the web process's listeners share: the services, the one response-URL sender, and what
    runs each listener (answered at its ``ack()``, the rest held until it ends)."""

    services: Services
    responder: Responder
    after_ack: AfterAck  # the process's one (bot.bootstrap.Runtime), which its shutdown drains

    def listen(self, register: Callable[[Any], Any], listener: Callable[..., Awaitable[None]]) -> None:
        """``register`` (``app.command("/backup")``, ``app.action(…)``…) with ``listener`` as the bot
        runs every listener: :meth:`AfterAck.listener`."""
        register(self.after_ack.listener(listener))


def register_listeners(app: AsyncApp, front: Front) -> None:
    from bot.slack.listeners import actions, commands, forms, home, options, shortcuts

    for kind in (commands, actions, forms, options, shortcuts, home):
        kind.register(app, front)
