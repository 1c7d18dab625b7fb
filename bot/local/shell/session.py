"""The conversation: what the reader types becomes Slack traffic to the bot, and what the bot says in
the fake Slack becomes the transcript.

A line starting with ``/`` is a slash command, sent signed to the bot as the current user; a line
starting with ``:`` is one of the shell's own commands (``:help``). Everything the bot posts through
the Web API reaches :meth:`Session._on_call` the moment the fake Slack records it, and is printed
in that order. Modals the bot opens are asked field by field right after the action that opened
them, then submitted; pressing buttons (``:click``) sends the ``block_actions`` Slack would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.local.fake_slack import Call, FakeSlack, interaction_body, new_trigger_id, slash_command_body
from bot.local.shell import payloads
from bot.local.shell.console import Console
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
from bot.local.shell.local import LocalOptions, LocalStack, Reply, local_stack
from bot.local.shell.render import (
    Control,
    Names,
    Numberer,
    channel_label,
    controls_in,
    frame_deleted,
    frame_form,
    frame_note,
    frame_post,
    frame_private,
    frame_update,
    render_message,
    text_of,
)
from bot.local.shell.users import (
    BOT_NAME,
    CHANNEL_ID,
    CHANNEL_NAME,
    DEMO_POLICY,
    DEMO_USERS,
    DemoUser,
    channel_names,
    find_user,
    user_names,
)

QUIET_SECONDS = 0.3
"""Output has settled when the fake Slack heard nothing for this long and no work is due or running."""
SETTLE_LIMIT = 8.0
MAX_OPTIONS_SHOWN = 25
_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update"})
_ROOT = Path(__file__).resolve().parents[2]

HELP = """\
Shell commands (a line starting with / goes to the bot as a slash command, e.g. /backup help):
  :as <user>                act as another demo user (:users lists them)
  :users                    the demo users and their roles under the policy
  :click <n|label> [choice] press button n, or the newest button with that label
  :show <n>                 message n as it stands now
  :shortcut <callback_id>   run a global shortcut (none: list those in manifest.yaml)
  :wait [seconds]           wait until every request is finished or waits for an approver
  :sleep <seconds>          pause (for scripts)
  :help                     this list
  :quit                     stop everything and leave (Ctrl-D does the same)
In a form, answer each field in turn: an empty line keeps the [default] or skips an optional
field, a number picks from a list, :cancel closes the form."""


@dataclass
class Shown:
    """A message as the shell last rendered it."""

    number: int
    channel: str
    ts: str
    message: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    private_to: str | None = None
    thread_of: int | None = None
    in_thread: bool = False
    deleted: bool = False


@dataclass
class OpenView:
    view: dict[str, Any]
    user: DemoUser
    handled: bool = False


@dataclass(frozen=True)
class Pressable:
    control: Control
    message: Shown


@dataclass(frozen=True)
class ResponseTarget:
    """Whose ``response_url`` this is, and the message it came from (for ``replace_original``)."""

    user_id: str
    message: Shown | None = None


class Session:
    def __init__(self, console: Console, *, user: DemoUser, wait_limit: float = 120.0) -> None:
        self.console = console
        self.user = user
        self.wait_limit = wait_limit
        self.names = Names(users=user_names(), channels=channel_names())
        self.fake = FakeSlack()
        self.fake.add_listener(self._on_call)
        # The Web API answer carries what the bot learns from it (a view's ID and hash); the fake's
        # call records do not, so views are observed on the way out.
        self.fake.app.on_response_prepare.append(self._on_answer)
        self.stack: LocalStack | None = None
        self.policy_file = DEMO_POLICY
        self.modal: list[OpenView] = []
        self._quit = False
        self._last_activity = time.monotonic()
        self._message_numbers: Iterator[int] = itertools.count(1)
        self._private_numbers: Iterator[int] = itertools.count(-1, -1)
        self._control_numbers: Iterator[int] = itertools.count(1)
        self._numbers_by_identity: dict[tuple[int, tuple[Any, ...]], int] = {}
        self._pressables: dict[int, Pressable] = {}
        self._shown: dict[tuple[str, str], Shown] = {}
        self._by_number: dict[int, Shown] = {}
        self._response_targets: dict[str, ResponseTarget] = {}
        self._trigger_users: dict[str, DemoUser] = {}

    # --- running ----------------------------------------------------------------------------------

    async def run(self, options: LocalOptions) -> None:
        self.policy_file = options.policy_file
        async with local_stack(options, self.fake) as stack:
            self.stack = stack
            self._banner(options)
            while not self._quit:
                line = await self.console.read(self._prompt(), echo_blank=False)
                if line is None:
                    break
                await self.handle(line)
            await self._settle()
        self.console.write(frame_note("stopped: worker, simulator, fake Slack and Redis are down", 0))

    def _prompt(self) -> str:
        return f"{self.user.name}> "

    def note(self, text: str, indent: int = 2) -> None:
        self.console.write(frame_note(text, indent))

    def _banner(self, options: LocalOptions) -> None:
        assert self.stack is not None
        lines = [
            "backup-bot local mode: the real app and worker, no Slack or cloud account needed",
            *("  " + note for note in self.stack.notes),
            f"  Policy    {self.policy_file}",
            f"  Log       {options.local_dir / 'bot.log'}",
        ]
        if self.stack.earlier:
            lines.append(
                f"  Note      {len(self.stack.earlier)} request(s) from an earlier session are still open; "
                "their replies appear below as they finish"
            )
        lines.append(
            f"You are {self.user.name} ({self.user.role or 'no role'}) in #{CHANNEL_NAME}. "
            "Try /backup help, /backup create orders-dev pre-demo-1, or :help."
        )
        self.console.write(lines)

    async def handle(self, line: str) -> None:
        text = line.strip()
        if not text or text.startswith("#"):
            return
        if text.startswith("/"):
            await self._command(text)
        elif text.startswith(":"):
            await self._shell_command(text)
        else:
            self.note("only /commands and :shell commands here; :help lists them")

    async def _shell_command(self, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        arg = arg.strip()
        match name.lower():
            case "quit" | "q" | "exit":
                self._quit = True
            case "help" | "h" | "?":
                self.console.write("  " + line for line in HELP.splitlines())
            case "users":
                self._list_users()
            case "as":
                self._switch_user(arg)
            case "click":
                await self._click(arg)
            case "show":
                self._show(arg)
            case "shortcut":
                await self._shortcut(arg)
            case "wait":
                await self._wait(arg)
            case "sleep":
                await self._sleep(arg)
            case _:
                self.note(f"no shell command :{name}; :help lists them")

    # --- the shell's own commands -----------------------------------------------------------------

    def _list_users(self) -> None:
        lines = []
        for user in DEMO_USERS:
            marker = "→" if user == self.user else " "
            lines.append(f"  {marker} {user.name:<6} {user.id}  {user.role or 'no role':<9}  {user.may}")
        if self.policy_file != DEMO_POLICY:
            lines.append(f"  (roles as in the demo policy; this session uses {self.policy_file})")
        self.console.write(lines)

    def _switch_user(self, ref: str) -> None:
        user = find_user(ref) if ref else None
        if user is None:
            self.note(f"no demo user {ref!r}; :users lists them" if ref else "usage: :as <user>")
            return
        self.user = user
        self.note(f"you are now {user.name} ({user.role or 'no role'})")

    def _show(self, arg: str) -> None:
        shown = self._by_number.get(int(arg)) if arg.isdigit() else None
        if shown is None:
            self.note("usage: :show <message number>")
            return
        if shown.deleted:
            self.note(f"message {shown.number} was deleted")
            return
        lines = render_message(shown.message, self.names, self._numberer(shown))
        self.console.write(
            frame_post(
                lines,
                where=channel_label(shown.channel, self.names),
                number=shown.number,
                author=BOT_NAME,
                thread_of=shown.thread_of,
                in_thread=shown.in_thread,
            )
        )

    async def _sleep(self, arg: str) -> None:
        try:
            seconds = float(arg)
        except ValueError:
            self.note("usage: :sleep <seconds>")
            return
        await asyncio.sleep(max(0.0, min(seconds, 600.0)))

    async def _wait(self, arg: str) -> None:
        assert self.stack is not None
        try:
            limit = float(arg) if arg else self.wait_limit
        except ValueError:
            self.note("usage: :wait [seconds]")
            return
        deadline = time.monotonic() + limit
        calm = 0
        while True:
            activity = await self.stack.activity()
            calm = calm + 1 if activity.settled else 0
            if calm >= 2:
                break
            if time.monotonic() >= deadline:
                busy = ", ".join(f"{rid} is {state.value}" for rid, state in activity.unfinished)
                self.note(f"stopped waiting after {limit:g} s: {busy or 'the worker is still busy'}")
                return
            await asyncio.sleep(0.25)
        await self._settle()
        waiting = activity.waiting_for_people
        if waiting:
            self.note(f"{len(waiting)} request(s) wait for an approver: {', '.join(waiting)}")
        else:
            self.note("every request is finished")

    # --- Slack → bot --------------------------------------------------------------------------------

    def _trigger(self, user: DemoUser) -> str:
        trigger = new_trigger_id()
        self._trigger_users[trigger] = user
        return trigger

    def _response_url(self, target: ResponseTarget) -> str:
        response_id = secrets.token_hex(6)
        self._response_targets[response_id] = target
        return self.fake.response_url(response_id)

    async def _send(self, payload: Mapping[str, Any]) -> Reply:
        assert self.stack is not None
        reply = await self.stack.send(interaction_body(dict(payload)))
        self._last_activity = time.monotonic()
        return reply

    async def _command(self, text: str) -> None:
        assert self.stack is not None
        command, _, rest = text.partition(" ")
        user = self.user
        body = slash_command_body(
            rest.strip(),
            user_id=user.id,
            channel_id=CHANNEL_ID,
            trigger_id=self._trigger(user),
            response_url=self._response_url(ResponseTarget(user.id)),
            command=command,
            user_name=user.name,
            channel_name=CHANNEL_NAME,
        )
        reply = await self.stack.send(body)
        self._last_activity = time.monotonic()
        self._show_ack(reply, user, command)
        await self._after_action()

    async def _shortcut(self, arg: str) -> None:
        if not arg:
            known = manifest_shortcuts()
            listed = ", ".join(f"{cid} ({name})" for cid, name in known.items())
            self.note(f"shortcuts in manifest.yaml: {listed}" if known else "usage: :shortcut <callback_id>")
            return
        callback_id = next(
            (cid for cid, name in manifest_shortcuts().items() if name.lower() == arg.lower()), arg
        )
        user = self.user
        reply = await self._send(
            payloads.global_shortcut(user=user, callback_id=callback_id, trigger_id=self._trigger(user))
        )
        self._show_ack(reply, user, f"shortcut {callback_id}")
        await self._after_action()

    def _show_ack(self, reply: Reply, user: DemoUser, what: str) -> None:
        if reply.status == 404:
            self.note(f"nothing in the app answers {what}")
            return
        if reply.status >= 400:
            self.note(f"the app answered {what} with HTTP {reply.status}: {reply.body[:200]}")
            return
        data = reply.json()
        if data is None:
            if reply.body.strip():
                self._show_private({"text": reply.body}, user.id)
            return
        if not (data.get("text") or data.get("blocks")):
            return
        if data.get("response_type") == "in_channel":
            self._show_post({**data, "channel": CHANNEL_ID, "ts": self._local_ts()})
        else:
            self._show_private(data, user.id)

    async def _after_action(self) -> None:
        await self._settle()
        while not self._quit and self.modal and not self.modal[-1].handled:
            await self._fill(self.modal[-1])
            await self._settle()

    async def _settle(self, limit: float = SETTLE_LIMIT) -> None:
        """Wait until the fake Slack has been quiet a moment and no work is due or running."""
        assert self.stack is not None
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if time.monotonic() - self._last_activity >= QUIET_SECONDS and (await self.stack.activity()).idle:
                return
            await asyncio.sleep(0.05)

    # --- buttons ------------------------------------------------------------------------------------

    async def _click(self, arg: str) -> None:
        found = self._find_pressable(arg)
        if found is None:
            self.note(
                "usage: :click <button number or label> [choice]" if not arg else f"no button {arg!r} here"
            )
            return
        pressable, choice_text = found
        control, shown = pressable.control, pressable.message
        if shown.deleted or control.identity not in {
            c.identity for c in controls_in(shown.message.get("blocks") or [], self.names)
        }:
            self.note("that button is gone: the message has changed since")
            return
        if shown.private_to and shown.private_to != self.user.id:
            self.note(f"only {self.names.user(shown.private_to)} can see that message")
            return
        choice: StateValue | None = None
        if control.kind != "button":
            choice = await self._choose(control, choice_text)
            if choice is None:
                return
        if isinstance(confirm := control.element.get("confirm"), Mapping):
            question = text_of(confirm.get("title"), self.names) or text_of(confirm.get("text"), self.names)
            self.note(
                f"Slack asks “{question}”; answered {text_of(confirm.get('confirm'), self.names) or 'yes'}"
            )
        if control.element.get("url"):
            self.note(f"the browser would open {control.element['url']}")
        where = f"message {shown.number}" if shown.private_to is None else "a private message"
        self.note(f"{self.user.name} pressed [{control.label}] on {where}")
        user = self.user
        reply = await self._send(
            payloads.block_actions_in_message(
                user=user,
                control=control,
                channel=shown.channel,
                channel_name=self.names.channel(shown.channel),
                message=shown.message,
                ephemeral=shown.private_to is not None,
                response_url=self._response_url(ResponseTarget(user.id, shown)),
                trigger_id=self._trigger(user),
                choice={k: v for k, v in choice.items() if k != "type"} if choice else None,
            )
        )
        self._show_ack(reply, user, f"the {control.kind} {control.action_id!r}")
        await self._after_action()

    def _find_pressable(self, arg: str) -> tuple[Pressable, str] | None:
        ref, _, rest = arg.strip().partition(" ")
        if ref.isdigit():
            pressable = self._pressables.get(int(ref))
            return (pressable, rest.strip()) if pressable else None
        for wanted, choice in ((arg.strip(), ""), (ref, rest.strip())):
            if wanted:
                match = self._newest_labelled(wanted)
                if match is not None:
                    return match, choice
        return None

    def _newest_labelled(self, label: str) -> Pressable | None:
        wanted = label.lower()
        live = [
            (number, p)
            for number, p in self._pressables.items()
            if not p.message.deleted
            and p.control.identity
            in {c.identity for c in controls_in(p.message.message.get("blocks") or [], self.names)}
        ]
        for exact in (True, False):
            matching = [
                (number, p)
                for number, p in live
                if (p.control.label.lower() == wanted if exact else wanted in p.control.label.lower())
            ]
            if matching:
                return max(matching, key=lambda item: item[0])[1]
        return None

    async def _choose(self, control: Control, typed: str) -> StateValue | None:
        form_field = FormField(
            control.block_id, control.action_id, control.kind, control.label, False, "", control.element
        )
        options = options_of(control.element, self.names)
        while True:
            if not typed:
                self._list_options(options)
                line = await self.console.read("    choose> ")
                if line is None:
                    self._quit = True
                    return None
                typed = line.strip()
                if typed == ":cancel":
                    return None
            result = answer(form_field, typed, options=options, people=_people(), channels=_channels())
            if not isinstance(result, Problem):
                return result
            self.console.write([f"      ✖ {result.message}"])
            typed = ""

    # --- forms (modals) -----------------------------------------------------------------------------

    async def _fill(self, open_view: OpenView) -> None:
        open_view.handled = True
        view, user = open_view.view, open_view.user
        fields = fields_of(view, self.names)
        title = title_of(view, self.names)
        lines = display_blocks(view, self.names)
        if fields:
            lines.append(
                f"{len(fields)} field(s): Enter keeps a [default] or skips an optional field; :cancel closes"
            )
        self.console.write(frame_form(lines, title=title, user=user.name))
        if not fields and not view.get("submit"):
            await self._close_view(open_view)
            return
        values: dict[str, dict[str, StateValue]] = {}
        todo = fields
        while True:
            for form_field in todo:
                previous = values.get(form_field.block_id, {}).get(form_field.action_id)
                value = await self._ask(form_field, view, user, previous)
                if value is None:
                    await self._close_view(open_view)
                    return
                values = merge_values(values, [(form_field, value)])
            self.note(f"{user.name} submits “{title}”", 4)
            reply = await self._send(
                payloads.view_submission(
                    user=user,
                    view=view,
                    values=values,
                    trigger_id=self._trigger(user),
                    response_urls=self._response_urls_for(fields, values, user),
                )
            )
            ack = reply.json() or {}
            if reply.status >= 400:
                self.note(f"the app answered the form with HTTP {reply.status}", 4)
                self._remove_view(open_view)
                return
            if ack.get("response_action") == "errors" and isinstance(ack.get("errors"), Mapping):
                errors: Mapping[str, Any] = ack["errors"]
                labels = {f.block_id: f.label for f in fields}
                self.console.write(
                    f"    ✖ {labels.get(block, block)}: {message}" for block, message in errors.items()
                )
                todo = [f for f in fields if f.block_id in errors]
                if not todo:
                    self._remove_view(open_view)
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
                        response_url=self._response_url(ResponseTarget(user.id)),
                    )
                )
        return entries

    def _after_submission(self, open_view: OpenView, ack: Mapping[str, Any]) -> None:
        action = ack.get("response_action")
        new_view = ack.get("view")
        if action == "update" and isinstance(new_view, Mapping):
            updated = {**open_view.view, **new_view, "id": open_view.view.get("id", "")}
            self._replace_view(open_view, OpenView(updated, open_view.user))
        elif action == "push" and isinstance(new_view, Mapping):
            self.modal.append(
                OpenView({**new_view, "id": "V" + secrets.token_hex(5).upper()}, open_view.user)
            )
        elif action == "clear":
            self.modal.clear()
        else:
            self._remove_view(open_view)

    async def _ask(
        self,
        form_field: FormField,
        view: Mapping[str, Any],
        user: DemoUser,
        previous: StateValue | None = None,
    ) -> StateValue | None:
        """One field's answer; ``previous`` (asked again after an error) is kept on an empty line."""
        default = (
            (shown_value(previous, self.names), previous)
            if previous is not None
            else default_of(form_field, self.names, current_conversation=CHANNEL_ID)
        )
        options: list[Option] = []
        if form_field.external:
            options = await self._suggest(view, form_field, user, "")
        elif form_field.kind != "plain_text_input":
            options = options_of(form_field.element, self.names)
        if form_field.hint:
            self.console.write([f"    ({form_field.hint})"])
        self._list_options(options)
        optional = form_field.optional and "optional" not in form_field.label.lower()
        suffix = f" [{default[0]}]" if default else (" (optional)" if optional else "")
        prompt = f"    {form_field.label}{suffix}> "
        while True:
            line = await self.console.read(prompt)
            if line is None or line.strip() == ":quit":
                self._quit = True
                return None
            typed = line.strip()
            if typed == ":cancel":
                return None
            if not typed and default:
                return default[1]
            by_number = typed.isdigit() and 1 <= int(typed) <= len(options)
            if form_field.kind == "external_select" and typed and not by_number:
                options = await self._suggest(view, form_field, user, typed)
            result = answer(form_field, line, options=options, people=_people(), channels=_channels())
            if not isinstance(result, Problem):
                return result
            self.console.write([f"      ✖ {result.message}"])
            if len(options) > 1:
                self._list_options(options)

    async def _suggest(
        self, view: Mapping[str, Any], form_field: FormField, user: DemoUser, query: str
    ) -> list[Option]:
        reply = await self._send(
            payloads.block_suggestion(
                user=user,
                view=view,
                action_id=form_field.action_id,
                block_id=form_field.block_id,
                query=query,
            )
        )
        if reply.status >= 400:
            self.note(f"the app did not answer the options request (HTTP {reply.status})", 4)
            return []
        return options_of(reply.json() or {}, self.names)

    def _list_options(self, options: list[Option]) -> None:
        shown = [f"      {i}) {o.shown(self.names)}" for i, o in enumerate(options[:MAX_OPTIONS_SHOWN], 1)]
        if len(options) > MAX_OPTIONS_SHOWN:
            shown.append(f"      … {len(options) - MAX_OPTIONS_SHOWN} more: type part of a name")
        self.console.write(shown)

    async def _close_view(self, open_view: OpenView) -> None:
        self._remove_view(open_view)
        if open_view.view.get("notify_on_close") and not self._quit:
            await self._send(payloads.view_closed(user=open_view.user, view=open_view.view))
        self.note("form closed", 4)

    def _remove_view(self, open_view: OpenView) -> None:
        self.modal = [v for v in self.modal if v is not open_view]

    def _replace_view(self, old: OpenView, new: OpenView) -> None:
        self.modal = [new if v is old else v for v in self.modal]

    # --- bot → Slack: what the fake Slack records -------------------------------------------------

    def _on_call(self, call: Call) -> None:
        self._last_activity = time.monotonic()
        if call.error is not None:
            if call.method.startswith(("chat.", "views.")):
                self.note(f"Slack refused the bot's {call.method}: {call.error}", 0)
            return
        channel = str(call.args.get("channel") or "")
        if call.method == "chat.postMessage":
            posted = self.fake.messages(channel)
            if posted:
                self._show_post(posted[-1])
        elif call.method == "chat.update":
            current = self.fake.message(channel, str(call.args.get("ts") or ""))
            if current is not None:
                self._show_update(current)
        elif call.method == "chat.postEphemeral":
            self._show_private({**call.args, "channel": channel}, str(call.args.get("user") or ""))
        elif call.method == "response_url":
            self._on_response_url(call)

    async def _on_answer(self, request: web.Request, response: web.StreamResponse) -> None:
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
        self._last_activity = time.monotonic()
        view: dict[str, Any] = answered["view"]
        user = self._trigger_users.get(str(args.get("trigger_id") or ""), self.user)
        if method == "views.open":
            self.modal = [OpenView(view, user)]
        elif method == "views.push":
            self.modal.append(OpenView(view, user))
        else:
            for open_view in self.modal:
                if open_view.view.get("id") == view.get("id"):
                    self._replace_view(open_view, OpenView(view, open_view.user))
                    break

    def _on_response_url(self, call: Call) -> None:
        target = self._response_targets.get(call.path.rsplit("/", 1)[-1])
        args = call.args
        original = target.message if target else None
        if original is not None and _truthy(args.get("delete_original")):
            original.deleted = True
            self.console.write(self._frame_deleted(original))
        elif original is not None and _truthy(args.get("replace_original")):
            replaced = {**original.message, "text": args.get("text", ""), "blocks": args.get("blocks") or []}
            self._show_update(replaced, original)
        elif args.get("response_type") == "in_channel":
            self._show_post({**args, "channel": CHANNEL_ID, "ts": self._local_ts()})
        else:
            self._show_private(dict(args), target.user_id if target else "")

    # --- rendering ----------------------------------------------------------------------------------

    def _numberer(self, shown: Shown) -> Numberer:
        def number(control: Control) -> int:
            key = (shown.number, control.identity)
            found = self._numbers_by_identity.get(key)
            if found is None:
                found = next(self._control_numbers)
                self._numbers_by_identity[key] = found
            self._pressables[found] = Pressable(control, shown)
            return found

        return number

    def _local_ts(self) -> str:
        return f"{time.time():.6f}"

    def _show_post(self, message: Mapping[str, Any]) -> None:
        channel, ts = str(message.get("channel", "")), str(message.get("ts", ""))
        thread_ts = str(message.get("thread_ts") or "")
        in_thread = bool(thread_ts) and thread_ts != ts
        parent = self._shown.get((channel, thread_ts)) if in_thread else None
        shown = Shown(
            number=next(self._message_numbers),
            channel=channel,
            ts=ts,
            message=dict(message),
            thread_of=parent.number if parent else None,
            in_thread=in_thread,
        )
        self._shown[(channel, ts)] = shown
        self._by_number[shown.number] = shown
        shown.lines = render_message(shown.message, self.names, self._numberer(shown))
        self.console.write(
            frame_post(
                shown.lines,
                where=channel_label(channel, self.names),
                number=shown.number,
                author=BOT_NAME,
                thread_of=shown.thread_of,
                in_thread=in_thread,
            )
        )

    def _show_update(self, message: Mapping[str, Any], shown: Shown | None = None) -> None:
        shown = shown or self._shown.get((str(message.get("channel", "")), str(message.get("ts", ""))))
        if shown is None:
            self._show_post(message)  # a message from an earlier session: show it whole
            return
        shown.message = dict(message)
        lines = render_message(shown.message, self.names, self._numberer(shown))
        if lines == shown.lines:
            return  # an update that changes nothing a reader can see
        if shown.private_to is not None:
            self.console.write(
                frame_private(
                    lines, user=self.names.user(shown.private_to), author=BOT_NAME, note=" (updated)"
                )
            )
        else:
            self.console.write(
                frame_update(
                    shown.lines,
                    lines,
                    where=channel_label(shown.channel, self.names),
                    number=shown.number,
                    in_thread=shown.in_thread,
                )
            )
        shown.lines = lines

    def _frame_deleted(self, shown: Shown) -> list[str]:
        if shown.private_to is not None:
            return frame_note(f"{self.names.user(shown.private_to)}'s private message was deleted")
        where = channel_label(shown.channel, self.names)
        return frame_deleted(where=where, number=shown.number, in_thread=shown.in_thread)

    def _show_private(self, message: Mapping[str, Any], user_id: str) -> None:
        shown = Shown(
            number=next(self._private_numbers),
            channel=str(message.get("channel") or CHANNEL_ID),
            ts=self._local_ts(),
            message=dict(message),
            private_to=user_id,
        )
        shown.message["ts"] = shown.ts
        shown.lines = render_message(shown.message, self.names, self._numberer(shown))
        name = self.names.user(user_id) if user_id else "the person who asked"
        self.console.write(frame_private(shown.lines, user=name, author=BOT_NAME))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _people() -> dict[str, str]:
    return {u.name: u.id for u in DEMO_USERS}


def _channels() -> dict[str, str]:
    return {CHANNEL_NAME: CHANNEL_ID}


def manifest_shortcuts() -> dict[str, str]:
    """Global shortcuts in the project's ``manifest.yaml`` (callback ID → name), when it is there."""
    for path in (Path.cwd() / "manifest.yaml", _ROOT / "manifest.yaml"):
        try:
            manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        features = manifest.get("features") if isinstance(manifest, dict) else None
        shortcuts = features.get("shortcuts") if isinstance(features, dict) else None
        return {
            str(s["callback_id"]): str(s.get("name", s["callback_id"]))
            for s in shortcuts or []
            if isinstance(s, dict) and s.get("callback_id") and s.get("type", "global") == "global"
        }
    return {}
