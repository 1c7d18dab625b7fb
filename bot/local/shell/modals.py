"""Forms: the modals the bot opens, asked field by field in the terminal and submitted as Slack would.

Views are observed on their way out of the fake Slack (:meth:`Forms.on_answer`): the Web API answer
carries what the bot learns from it (a view's ID and hash), which the fake's call records do not.
A form is asked right after the action that opened it; the bot's ``response_action`` (errors,
update, push, clear) decides what happens next. Menus in messages are answered the same way
(:meth:`Forms.choose`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.local.shell import payloads
from bot.local.shell.context import Context
from bot.local.shell.forms import (
    FormField,
    Option,
    Problem,
    StateValue,
    answer,
    default_of,
    display_blocks,
    fields_of,
    merge_values,
    options_of,
    shown_value,
    title_of,
)
from bot.local.shell.frames import frame_form
from bot.local.shell.render import Control
from bot.local.shell.transcript import ResponseTarget, Transcript
from bot.local.shell.users import CHANNEL_ID, DemoUser, channels_by_name, people_by_name

MAX_OPTIONS_SHOWN = 25
_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update"})


@dataclass
class OpenView:
    view: dict[str, Any]
    user: DemoUser
    handled: bool = False


class Forms:
    def __init__(self, ctx: Context, transcript: Transcript) -> None:
        self.ctx = ctx
        self.transcript = transcript
        self.stack: list[OpenView] = []

    def waiting(self) -> OpenView | None:
        """The top view, when it has not been asked yet."""
        return self.stack[-1] if self.stack and not self.stack[-1].handled else None

    # --- views the bot opens ----------------------------------------------------------------------

    async def on_answer(self, request: web.Request, response: web.StreamResponse) -> None:
        """``on_response_prepare`` of the fake Slack: keep the view stack as the bot changes it."""
        method = request.match_info.get("method", "")
        if method not in _VIEW_METHODS or not isinstance(response, web.Response):
            return
        body = response.body
        try:
            answered = json.loads(body) if isinstance(body, bytes) else {}
            args = (
                await request.json()
                if request.content_type == "application/json"
                else dict(await request.post())
            )
        except (ValueError, TypeError):
            return
        if not answered.get("ok") or not isinstance(answered.get("view"), dict):
            return
        self.ctx.touch()
        view: dict[str, Any] = answered["view"]
        user = self.ctx.trigger_user(str(args.get("trigger_id") or ""))
        if method == "views.open":
            self.stack = [OpenView(view, user)]
        elif method == "views.push":
            self.stack.append(OpenView(view, user))
        else:
            for open_view in self.stack:
                if open_view.view.get("id") == view.get("id"):
                    self._replace(open_view, OpenView(view, open_view.user))
                    break

    def _remove(self, open_view: OpenView) -> None:
        self.stack = [v for v in self.stack if v is not open_view]

    def _replace(self, old: OpenView, new: OpenView) -> None:
        self.stack = [new if v is old else v for v in self.stack]

    # --- asking and submitting --------------------------------------------------------------------

    async def fill(self, open_view: OpenView) -> None:
        """Show the form, ask its fields, submit it, and ask again what the bot refused."""
        ctx = self.ctx
        open_view.handled = True
        view, user = open_view.view, open_view.user
        fields = fields_of(view, ctx.names)
        title = title_of(view, ctx.names)
        lines = display_blocks(view, ctx.names)
        if fields:
            lines.append(
                f"{len(fields)} field(s): Enter keeps a [default] or skips an optional field; :cancel closes"
            )
        ctx.console.write(frame_form(lines, title=title, user=user.name))
        if not fields and not view.get("submit"):
            await self._close(open_view)
            return
        values: dict[str, dict[str, StateValue]] = {}
        todo = fields
        while True:
            for form_field in todo:
                previous = values.get(form_field.block_id, {}).get(form_field.action_id)
                value = await self._ask(form_field, view, user, previous)
                if value is None:
                    await self._close(open_view)
                    return
                values = merge_values(values, [(form_field, value)])
            ctx.note(f"{user.name} submits “{title}”", 4)
            reply = await ctx.send(
                payloads.view_submission(
                    user=user,
                    view=view,
                    values=values,
                    trigger_id=ctx.trigger(user),
                    response_urls=self._response_urls_for(fields, values, user),
                )
            )
            ack = reply.json() or {}
            if reply.status >= 400:
                ctx.note(f"the app answered the form with HTTP {reply.status}", 4)
                self._remove(open_view)
                return
            if ack.get("response_action") == "errors" and isinstance(ack.get("errors"), Mapping):
                errors: Mapping[str, Any] = ack["errors"]
                labels = {f.block_id: f.label for f in fields}
                ctx.console.write(
                    f"    ✖ {labels.get(block, block)}: {message}" for block, message in errors.items()
                )
                todo = [f for f in fields if f.block_id in errors]
                if not todo:
                    self._remove(open_view)
                    return
                continue
            self._after_submission(open_view, ack)
            return

    def _response_urls_for(
        self, fields: list[FormField], values: Mapping[str, Mapping[str, StateValue]], user: DemoUser
    ) -> list[dict[str, Any]]:
        """Slack gives a submission a response_url per conversation picked in a picker that asks
        for one (``response_url_enabled``)."""
        entries = []
        for form_field in fields:
            if not form_field.element.get("response_url_enabled"):
                continue
            value = values.get(form_field.block_id, {}).get(form_field.action_id, {})
            channel = value.get("selected_conversation") or value.get("selected_channel")
            if channel:
                entries.append(
                    payloads.response_url_entry(
                        block_id=form_field.block_id,
                        action_id=form_field.action_id,
                        channel_id=str(channel),
                        response_url=self.transcript.response_url(ResponseTarget(user.id)),
                    )
                )
        return entries

    def _after_submission(self, open_view: OpenView, ack: Mapping[str, Any]) -> None:
        action = ack.get("response_action")
        new_view = ack.get("view")
        if action == "update" and isinstance(new_view, Mapping):
            updated = {**open_view.view, **new_view, "id": open_view.view.get("id", "")}
            self._replace(open_view, OpenView(updated, open_view.user))
        elif action == "push" and isinstance(new_view, Mapping):
            self.stack.append(
                OpenView({**new_view, "id": "V" + secrets.token_hex(5).upper()}, open_view.user)
            )
        elif action == "clear":
            self.stack.clear()
        else:
            self._remove(open_view)

    async def _ask(
        self,
        form_field: FormField,
        view: Mapping[str, Any],
        user: DemoUser,
        previous: StateValue | None = None,
    ) -> StateValue | None:
        """One field's answer; ``previous`` (asked again after an error) is kept on an empty line."""
        names = self.ctx.names
        default = (
            (shown_value(previous, names), previous)
            if previous is not None
            else default_of(form_field, names, current_conversation=CHANNEL_ID)
        )
        options: list[Option] = []
        if form_field.external:
            options = await self._suggest(view, form_field, user, "")
        elif form_field.kind != "plain_text_input":
            options = options_of(form_field.element, names)
        if form_field.hint:
            self.ctx.console.write([f"    ({form_field.hint})"])
        self._list_options(options)
        optional = form_field.optional and "optional" not in form_field.label.lower()
        suffix = f" [{default[0]}]" if default else (" (optional)" if optional else "")
        prompt = f"    {form_field.label}{suffix}> "
        while True:
            line = await self.ctx.read(prompt)
            if line is None or line.strip() == ":quit":
                self.ctx.quit = True
                return None
            typed = line.strip()
            if typed == ":cancel":
                return None
            if not typed and default:
                return default[1]
            by_number = typed.isdigit() and 1 <= int(typed) <= len(options)
            if form_field.kind == "external_select" and typed and not by_number:
                options = await self._suggest(view, form_field, user, typed)
            result = _answer(form_field, line, options)
            if not isinstance(result, Problem):
                return result
            self.ctx.console.write([f"      ✖ {result.message}"])
            if len(options) > 1:
                self._list_options(options)

    async def _suggest(
        self, view: Mapping[str, Any], form_field: FormField, user: DemoUser, query: str
    ) -> list[Option]:
        reply = await self.ctx.send(
            payloads.block_suggestion(
                user=user,
                view=view,
                action_id=form_field.action_id,
                block_id=form_field.block_id,
                query=query,
            )
        )
        if reply.status >= 400:
            self.ctx.note(f"the app did not answer the options request (HTTP {reply.status})", 4)
            return []
        return options_of(reply.json() or {}, self.ctx.names)

    def _list_options(self, options: list[Option]) -> None:
        names = self.ctx.names
        shown = [f"      {i}) {o.shown(names)}" for i, o in enumerate(options[:MAX_OPTIONS_SHOWN], 1)]
        if len(options) > MAX_OPTIONS_SHOWN:
            shown.append(f"      … {len(options) - MAX_OPTIONS_SHOWN} more: type part of a name")
        self.ctx.console.write(shown)

    async def _close(self, open_view: OpenView) -> None:
        self._remove(open_view)
        if open_view.view.get("notify_on_close") and not self.ctx.quit:
            await self.ctx.send(payloads.view_closed(user=open_view.user, view=open_view.view))
        self.ctx.note("form closed", 4)

    # --- menus in messages ------------------------------------------------------------------------

    async def choose(self, control: Control, typed: str) -> StateValue | None:
        """What the reader picks from a menu in a message (``typed`` after ``:click``, else asked)."""
        form_field = FormField(
            control.block_id, control.action_id, control.kind, control.label, False, "", control.element
        )
        options = options_of(control.element, self.ctx.names)
        while True:
            if not typed:
                self._list_options(options)
                line = await self.ctx.read("    choose> ")
                if line is None:
                    return None
                typed = line.strip()
                if typed == ":cancel":
                    return None
            result = _answer(form_field, typed, options)
            if not isinstance(result, Problem):
                return result
            self.ctx.console.write([f"      ✖ {result.message}"])
            typed = ""


def _answer(form_field: FormField, typed: str, options: list[Option]) -> StateValue | Problem:
    return answer(form_field, typed, options=options, people=people_by_name(), channels=channels_by_name())
