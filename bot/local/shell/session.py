"""The conversation: what the reader types becomes Slack traffic to the bot, and what the bot says in
the fake Slack becomes the transcript.

A line starting with ``/`` is a slash command, sent signed to the bot as the current user; a line
starting with ``:`` is one of the shell's own commands (``:help``). Everything the bot posts through
the Web API reaches the :class:`~bot.local.shell.transcript.Transcript` the moment the fake Slack
records it, and is printed in that order. Modals the bot opens are asked field by field right after
the action that opened them (:mod:`bot.local.shell.modals`), then submitted; pressing buttons
(``:click``) sends the ``block_actions`` Slack would, from a message or from the Home tab that
``:home`` shows (:mod:`bot.local.shell.home`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.local.fake_slack import Call, slash_command_body
from bot.local.shell import payloads
from bot.local.shell.console import Console
from bot.local.shell.context import Context
from bot.local.shell.forms import StateValue
from bot.local.shell.frames import frame_note
from bot.local.shell.home import HomeTab
from bot.local.shell.local import LocalOptions, local_stack
from bot.local.shell.modals import Forms
from bot.local.shell.text import text_of
from bot.local.shell.transcript import ResponseTarget, Transcript
from bot.local.shell.users import CHANNEL_ID, CHANNEL_NAME, DEMO_POLICY, DEMO_USERS, DemoUser, find_user

QUIET_SECONDS = 0.3
"""Output has settled when the fake Slack heard nothing for this long and no work is due or running."""
SETTLE_LIMIT = 8.0
_ROOT = Path(__file__).resolve().parents[2]

HELP = """\
Shell commands (a line starting with / goes to the bot as a slash command, e.g. /backup help):
  :as <user>                act as another demo user (:users lists them)
  :users                    the demo users and their roles under the policy
  :click <n|label> [choice] press button n, or the newest button with that label
  :show <n>                 message n as it stands now
  :home                     your Home tab: what waits for you, your requests, what is in flight
  :shortcut <callback_id>   run a global shortcut (none: list those in manifest.yaml)
  :wait [seconds]           wait until every request is finished or waits for an approver
  :sleep <seconds>          pause (for scripts)
  :help                     this list
  :quit                     stop everything and leave (Ctrl-D does the same)
In a form, answer each field in turn: an empty line keeps the [default] or skips an optional
field, a number picks from a list, :cancel closes the form."""


class Session:
    def __init__(self, console: Console, *, user: DemoUser, wait_limit: float = 120.0) -> None:
        self.ctx = Context(console, user)
        self.wait_limit = wait_limit
        self.policy_file = DEMO_POLICY
        self.transcript = Transcript(self.ctx)
        self.forms = Forms(self.ctx, self.transcript)
        self.home = HomeTab(self.ctx, self.transcript)
        self.ctx.fake.add_listener(self._on_call)
        self.ctx.fake.app.on_response_prepare.append(self.forms.on_answer)

    @property
    def user(self) -> DemoUser:
        return self.ctx.user

    def _on_call(self, call: Call) -> None:
        self.ctx.touch()
        self.transcript.on_call(call)
        self.home.on_call(call)

    # --- running ----------------------------------------------------------------------------------

    async def run(self, options: LocalOptions) -> None:
        ctx = self.ctx
        self.policy_file = options.policy_file
        async with local_stack(options, ctx.fake) as stack:
            ctx.stack = stack
            self._banner(options)
            while not ctx.quit:
                line = await ctx.console.read(f"{ctx.user.name}> ", echo_blank=False)
                if line is None:
                    break
                await self.handle(line)
            await self._settle()
        ctx.console.write(frame_note("stopped: worker, simulator, fake Slack and Redis are down", 0))

    def _banner(self, options: LocalOptions) -> None:
        stack = self.ctx.stack
        assert stack is not None
        lines = [
            "backup-bot local mode: the real app and worker, no Slack or cloud account needed",
            *("  " + note for note in stack.notes),
            f"  Policy    {self.policy_file}",
            f"  Log       {options.local_dir / 'bot.log'}",
        ]
        if stack.earlier:
            lines.append(
                f"  Note      {len(stack.earlier)} request(s) from an earlier session are still open; "
                "their replies appear below as they finish"
            )
        lines.append(
            f"You are {self.user.name} ({self.user.role or 'no role'}) in #{CHANNEL_NAME}. "
            "Try /backup help, /backup create orders-dev pre-demo-1, or :help."
        )
        self.ctx.console.write(lines)

    async def handle(self, line: str) -> None:
        text = line.strip()
        if not text or text.startswith("#"):
            return
        if text.startswith("/"):
            await self._command(text)
        elif text.startswith(":"):
            await self._shell_command(text)
        else:
            self.ctx.note("only /commands and :shell commands here; :help lists them")

    async def _shell_command(self, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        arg = arg.strip()
        match name.lower():
            case "quit" | "q" | "exit":
                self.ctx.quit = True
            case "help" | "h" | "?":
                self.ctx.console.write("  " + line for line in HELP.splitlines())
            case "users":
                self._list_users()
            case "as":
                self._switch_user(arg)
            case "click":
                await self._click(arg)
            case "show":
                self._show(arg)
            case "home":
                await self.home.open(self.user, self._settle)
                await self._after_action()  # a form the bot opened meanwhile (none, normally)
            case "shortcut":
                await self._shortcut(arg)
            case "wait":
                await self._wait(arg)
            case "sleep":
                await self._sleep(arg)
            case _:
                self.ctx.note(f"no shell command :{name}; :help lists them")

    # --- the shell's own commands -----------------------------------------------------------------

    def _list_users(self) -> None:
        lines = []
        for user in DEMO_USERS:
            marker = "→" if user == self.user else " "
            lines.append(f"  {marker} {user.name:<6} {user.id}  {user.role or 'no role':<9}  {user.may}")
        if self.policy_file != DEMO_POLICY:
            lines.append(f"  (roles as in the demo policy; this session uses {self.policy_file})")
        self.ctx.console.write(lines)

    def _switch_user(self, ref: str) -> None:
        user = find_user(ref) if ref else None
        if user is None:
            self.ctx.note(f"no demo user {ref!r}; :users lists them" if ref else "usage: :as <user>")
            return
        self.ctx.user = user
        self.ctx.note(f"you are now {user.name} ({user.role or 'no role'})")

    def _show(self, arg: str) -> None:
        shown = self.transcript.shown(int(arg)) if arg.isdigit() else None
        if shown is None:
            self.ctx.note("usage: :show <message number>")
        elif shown.deleted:
            self.ctx.note(f"message {shown.number} was deleted")
        else:
            self.transcript.show_again(shown)

    async def _sleep(self, arg: str) -> None:
        try:
            seconds = float(arg)
        except ValueError:
            self.ctx.note("usage: :sleep <seconds>")
            return
        await asyncio.sleep(max(0.0, min(seconds, 600.0)))

    async def _wait(self, arg: str) -> None:
        stack = self.ctx.stack
        assert stack is not None
        try:
            limit = float(arg) if arg else self.wait_limit
        except ValueError:
            self.ctx.note("usage: :wait [seconds]")
            return
        deadline = time.monotonic() + limit
        calm = 0
        while True:
            activity = await stack.activity()
            calm = calm + 1 if activity.settled else 0
            if calm >= 2:
                break
            if time.monotonic() >= deadline:
                busy = ", ".join(f"{rid} is {state.value}" for rid, state in activity.unfinished)
                self.ctx.note(f"stopped waiting after {limit:g} s: {busy or 'the worker is still busy'}")
                return
            await asyncio.sleep(0.25)
        await self._settle()
        waiting = activity.waiting_for_people
        if waiting:
            self.ctx.note(f"{len(waiting)} request(s) wait for an approver: {', '.join(waiting)}")
        else:
            self.ctx.note("every request is finished")

    # --- Slack → bot --------------------------------------------------------------------------------

    async def _command(self, text: str) -> None:
        command, _, rest = text.partition(" ")
        user = self.user
        body = slash_command_body(
            rest.strip(),
            user_id=user.id,
            channel_id=CHANNEL_ID,
            trigger_id=self.ctx.trigger(user),
            response_url=self.transcript.response_url(ResponseTarget(user.id)),
            command=command,
            user_name=user.name,
            channel_name=CHANNEL_NAME,
        )
        reply = await self.ctx.send_body(body)
        self.transcript.show_ack(reply, user, command)
        await self._after_action()

    async def _shortcut(self, arg: str) -> None:
        if not arg:
            known = manifest_shortcuts()
            listed = ", ".join(f"{cid} ({name})" for cid, name in known.items())
            self.ctx.note(
                f"shortcuts in manifest.yaml: {listed}" if known else "usage: :shortcut <callback_id>"
            )
            return
        callback_id = next(
            (cid for cid, name in manifest_shortcuts().items() if name.lower() == arg.lower()), arg
        )
        user = self.user
        reply = await self.ctx.send(
            payloads.global_shortcut(user=user, callback_id=callback_id, trigger_id=self.ctx.trigger(user))
        )
        self.transcript.show_ack(reply, user, f"shortcut {callback_id}")
        await self._after_action()

    async def _click(self, arg: str) -> None:
        ctx = self.ctx
        found = self.transcript.find_pressable(arg, viewer=self.user.id)
        if found is None:
            ctx.note(
                "usage: :click <button number or label> [choice]" if not arg else f"no button {arg!r} here"
            )
            return
        pressable, choice_text = found
        control, shown = pressable.control, pressable.message
        if not self.transcript.is_live(pressable):
            ctx.note(f"that button is gone: the {'Home' if shown.home_of else 'message'} has changed since")
            return
        if shown.seen_by and shown.seen_by != self.user.id:
            what = "Home" if shown.home_of else "message"
            ctx.note(f"only {ctx.names.user(shown.seen_by)} can see that {what}")
            return
        choice: StateValue | None = None
        if control.kind != "button":
            choice = await self.forms.choose(control, choice_text)
            if choice is None:
                return
        if isinstance(confirm := control.element.get("confirm"), Mapping):
            question = text_of(confirm.get("title"), ctx.names) or text_of(confirm.get("text"), ctx.names)
            ctx.note(
                f"Slack asks “{question}”; answered {text_of(confirm.get('confirm'), ctx.names) or 'yes'}"
            )
        if control.element.get("url"):
            ctx.note(f"the browser would open {control.element['url']}")
        where = f"message {shown.number}" if shown.private_to is None else "a private message"
        ctx.note(
            f"{self.user.name} pressed [{control.label}] on {'the Home tab' if shown.home_of else where}"
        )
        user = self.user
        picked = {k: v for k, v in choice.items() if k != "type"} if choice else None
        if shown.home_of:
            payload = self.home.click(user, control, shown.message, picked)
        else:
            payload = payloads.block_actions_in_message(
                user=user,
                control=control,
                channel=shown.channel,
                channel_name=ctx.names.channel(shown.channel),
                message=shown.message,
                ephemeral=shown.private_to is not None,
                response_url=self.transcript.response_url(ResponseTarget(user.id, shown)),
                trigger_id=ctx.trigger(user),
                choice=picked,
            )
        reply = await ctx.send(payload)
        self.transcript.show_ack(reply, user, f"the {control.kind} {control.action_id!r}")
        await self._after_action()

    async def _after_action(self) -> None:
        await self._settle()
        while not self.ctx.quit and (open_view := self.forms.waiting()) is not None:
            await self.forms.fill(open_view)
            await self._settle()

    async def _settle(self, limit: float = SETTLE_LIMIT) -> None:
        """Wait until the fake Slack has been quiet a moment and no work is due or running."""
        stack = self.ctx.stack
        assert stack is not None
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if time.monotonic() - self.ctx.last_activity >= QUIET_SECONDS and (await stack.activity()).idle:
                return
            await asyncio.sleep(0.05)


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
