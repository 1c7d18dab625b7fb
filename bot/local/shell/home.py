"""The Home tab in the terminal: ``:home`` opens the current user's, and its buttons are pressed
the way Slack's client presses them.

Opening sends the signed ``app_home_opened`` event Slack sends, then waits for the bot's
``views.publish`` for that person (the worker publishes it, coalescing changes), lets the output
settle and prints the Home as it stands, with numbered buttons. The bot publishes a Home again
whenever something on it changes; that is not printed (a Home is a page, not a message), but the
first change after a showing is announced in one line, and ``:home`` shows it. A click on a Home
button is a ``block_actions`` from a view: no channel, no message, no ``response_url``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.local.fake_slack import Call, app_home_opened_body, home_block_actions
from bot.local.shell.context import Context
from bot.local.shell.local import JSON
from bot.local.shell.render import Control
from bot.local.shell.transcript import Transcript
from bot.local.shell.users import DemoUser

HOME_WAIT = 10.0
"""Seconds ``:home`` waits for the bot to publish the Home (it publishes within about one)."""


class HomeTab:
    def __init__(self, ctx: Context, transcript: Transcript) -> None:
        self.ctx = ctx
        self.transcript = transcript
        self._opening: set[str] = set()
        self._printed: dict[str, list[Any]] = {}
        """user ID → the blocks of their Home as last printed."""
        self._announced: set[str] = set()
        """People whose Home changed since it was printed, and who were told so."""

    def on_call(self, call: Call) -> None:
        """Every call the fake Slack records: a Home shown before follows what the bot publishes."""
        if call.method != "views.publish" or call.error is not None:
            return
        user_id = str(call.args.get("user_id") or "")
        view = self.ctx.fake.home_view(user_id)
        shown = self.transcript.home(user_id)
        if view is None or shown is None:
            return
        shown.message = view  # what the person sees now, and what a click sends
        if user_id in self._opening or user_id in self._announced:
            return
        if view.get("blocks") != self._printed.get(user_id):
            self._announced.add(user_id)
            name = self.ctx.names.user(user_id)
            how = ":home" if user_id == self.ctx.user.id else f":as {name}, then :home,"
            self.ctx.note(f"{name}'s Home changed; {how} shows it")

    async def open(self, user: DemoUser, settle: Callable[[], Awaitable[None]]) -> None:
        """``user`` opens the Home tab: the event, the bot's publish, then the Home printed."""
        ctx, fake = self.ctx, self.ctx.fake

        def theirs(call: Call) -> bool:
            return call.method == "views.publish" and call.args.get("user_id") == user.id

        published = len([c for c in fake.calls("views.publish") if theirs(c)])
        self._opening.add(user.id)
        try:
            body = app_home_opened_body(user.id, view=fake.home_view(user.id))
            reply = await ctx.send_body(body, JSON)
            if reply.status >= 400:
                ctx.note(f"the app answered app_home_opened with HTTP {reply.status}: {reply.body[:200]}")
                return
            try:
                await fake.wait_for(theirs, count=published + 1, timeout=HOME_WAIT)
            except TimeoutError:
                ctx.note(f"the bot published no Home for {user.name} within {HOME_WAIT:g} s")
                return
            await settle()  # a publish already due, or one more change coalescing, lands first
        finally:
            self._opening.discard(user.id)
        self.show(user.id)

    def show(self, user_id: str) -> None:
        """Print ``user_id``'s Home as the fake Slack holds it now (nothing, when none was published:
        Slack refused every publish, and the transcript said why)."""
        view = self.ctx.fake.home_view(user_id)
        if view is None:
            return
        self.transcript.show_home(user_id, view)
        self._printed[user_id] = list(view.get("blocks") or [])
        self._announced.discard(user_id)

    def click(
        self,
        user: DemoUser,
        control: Control,
        view: Mapping[str, Any],
        choice: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The payload of ``user`` pressing ``control`` on their Home ``view`` as it stands."""
        return home_block_actions(
            user.id,
            view,
            control.action_id,
            value=control.value,
            choice=choice,
            user_name=user.name,
            trigger_id=self.ctx.trigger(user),
        )
