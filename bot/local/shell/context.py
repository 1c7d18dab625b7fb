"""What the parts of a session share: the terminal, the names IDs stand for, the fake Slack, the
way in to the bot, the current user, and whether the reader has asked to leave."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.local.fake_slack import FakeSlack, interaction_body, new_trigger_id
from bot.local.shell.console import Console
from bot.local.shell.frames import frame_note
from bot.local.shell.local import FORM, LocalStack, Reply
from bot.local.shell.text import Names
from bot.local.shell.users import DemoUser, channel_names, demo_knobs, user_names


class Context:
    """One per session; the transcript, the forms and the commands all read and change it."""

    def __init__(self, console: Console, user: DemoUser) -> None:
        self.console = console
        self.user = user
        self.names = Names(users=user_names(), channels=channel_names())
        self.fake = FakeSlack(demo_knobs())
        self.stack: LocalStack | None = None
        self.quit = False
        self.last_activity = time.monotonic()
        self._trigger_users: dict[str, DemoUser] = {}

    def note(self, text: str, indent: int = 2) -> None:
        """A line from the shell itself, not from the bot."""
        self.console.write(frame_note(text, indent))

    def touch(self) -> None:
        """Something happened: the output has not settled yet."""
        self.last_activity = time.monotonic()

    async def read(self, prompt: str) -> str | None:
        """A line the reader typed; ``None`` (and :attr:`quit` set) at the end of input."""
        line = await self.console.read(prompt)
        if line is None:
            self.quit = True
        return line

    def trigger(self, user: DemoUser) -> str:
        """A fresh trigger ID for something ``user`` did (a view it opens is ``user``'s)."""
        trigger = new_trigger_id()
        self._trigger_users[trigger] = user
        return trigger

    def trigger_user(self, trigger_id: str) -> DemoUser:
        return self._trigger_users.get(trigger_id, self.user)

    async def send_body(self, body: bytes, content_type: str = FORM) -> Reply:
        """Post a body to the bot, signed like Slack signs it."""
        assert self.stack is not None
        reply = await self.stack.send(body, content_type)
        self.touch()
        return reply

    async def send(self, payload: Mapping[str, Any]) -> Reply:
        """Send an interaction payload to the bot."""
        return await self.send_body(interaction_body(dict(payload)))
