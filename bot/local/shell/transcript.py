"""The transcript: what the bot says in the fake Slack, printed the moment the fake records it, and
the numbered messages and buttons the reader refers to (``:show 3``, ``:click 2``).

Every call the bot makes reaches :meth:`Transcript.on_call`: posts, updates, ephemeral messages and
``response_url`` posts are rendered and framed in that order. A person's Home tab is shown when
asked (:meth:`Transcript.show_home`). A control keeps its number across updates of its message (or
showings of a Home) as long as it stays the same control.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.local.fake_slack import Call
from bot.local.shell.context import Context
from bot.local.shell.frames import (
    channel_label,
    frame_deleted,
    frame_home,
    frame_note,
    frame_post,
    frame_private,
    frame_update,
)
from bot.local.shell.local import Reply
from bot.local.shell.render import Control, Numberer, controls_in, render_message
from bot.local.shell.users import BOT_NAME, CHANNEL_ID, DemoUser


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
    home_of: str | None = None
    """Whose Home tab this is (``message`` is then the Home view as published last)."""

    @property
    def seen_by(self) -> str | None:
        """The one person who sees it (a private message, a Home), or ``None``: the channel."""
        return self.private_to or self.home_of


@dataclass(frozen=True)
class Pressable:
    control: Control
    message: Shown


@dataclass(frozen=True)
class ResponseTarget:
    """Whose ``response_url`` this is, and the message it came from (for ``replace_original``)."""

    user_id: str
    message: Shown | None = None


class Transcript:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._message_numbers: Iterator[int] = itertools.count(1)
        self._private_numbers: Iterator[int] = itertools.count(-1, -1)
        self._control_numbers: Iterator[int] = itertools.count(1)
        self._numbers_by_identity: dict[tuple[int, tuple[Any, ...]], int] = {}
        self._pressables: dict[int, Pressable] = {}
        self._shown: dict[tuple[str, str], Shown] = {}
        self._by_number: dict[int, Shown] = {}
        self._response_targets: dict[str, ResponseTarget] = {}
        self._homes: dict[str, Shown] = {}

    def response_url(self, target: ResponseTarget) -> str:
        """A ``response_url`` of the fake Slack whose posts are shown as ``target``'s."""
        response_id = secrets.token_hex(6)
        self._response_targets[response_id] = target
        return self.ctx.fake.response_url(response_id)

    # --- bot → Slack: what the fake Slack records -------------------------------------------------

    def on_call(self, call: Call) -> None:
        fake = self.ctx.fake
        if call.error is not None:
            if call.method.startswith(("chat.", "views.")):
                self.ctx.note(f"Slack refused the bot's {call.method}: {call.error}", 0)
            return
        channel = str(call.args.get("channel") or "")
        if call.method == "chat.postMessage":
            channel = fake.conversation_of(channel)  # a post to a user ID lands in their DM
            posted = fake.messages(channel)
            if posted:
                self.show_post(posted[-1])
        elif call.method == "chat.update":
            current = fake.message(channel, str(call.args.get("ts") or ""))
            if current is not None:
                self.show_update(current)
        elif call.method == "chat.postEphemeral":
            self.show_private({**call.args, "channel": channel}, str(call.args.get("user") or ""))
        elif call.method == "response_url":
            self._on_response_url(call)

    def _on_response_url(self, call: Call) -> None:
        target = self._response_targets.get(call.path.rsplit("/", 1)[-1])
        args = call.args
        original = target.message if target else None
        if original is not None and _truthy(args.get("delete_original")):
            original.deleted = True
            self.ctx.console.write(self._frame_deleted(original))
        elif original is not None and _truthy(args.get("replace_original")):
            replaced = {**original.message, "text": args.get("text", ""), "blocks": args.get("blocks") or []}
            self.show_update(replaced, original)
        elif args.get("response_type") == "in_channel":
            self.show_post({**args, "channel": CHANNEL_ID, "ts": _local_ts()})
        else:
            self.show_private(dict(args), target.user_id if target else "")

    def show_ack(self, reply: Reply, user: DemoUser, what: str) -> None:
        """The bot's HTTP answer to what ``user`` did: an error, or the message it answered with."""
        if reply.status == 404:
            self.ctx.note(f"nothing in the app answers {what}")
            return
        if reply.status >= 400:
            self.ctx.note(f"the app answered {what} with HTTP {reply.status}: {reply.body[:200]}")
            return
        data = reply.json()
        if data is None:
            if reply.body.strip():
                self.show_private({"text": reply.body}, user.id)
            return
        if not (data.get("text") or data.get("blocks")):
            return
        if data.get("response_type") == "in_channel":
            self.show_post({**data, "channel": CHANNEL_ID, "ts": _local_ts()})
        else:
            self.show_private(data, user.id)

    # --- numbered messages and controls -----------------------------------------------------------

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

    def shown(self, number: int) -> Shown | None:
        return self._by_number.get(number)

    def is_live(self, pressable: Pressable) -> bool:
        """Whether the control is still on its message as the message stands now."""
        blocks = pressable.message.message.get("blocks") or []
        return not pressable.message.deleted and pressable.control.identity in {
            c.identity for c in controls_in(blocks, self.ctx.names)
        }

    def find_pressable(self, arg: str, viewer: str | None = None) -> tuple[Pressable, str] | None:
        """``2 [choice]`` or ``Approve [choice]``: the control, and what was typed after it. A label
        names the newest such control ``viewer`` can see (every one, without a viewer)."""
        ref, _, rest = arg.strip().partition(" ")
        if ref.isdigit():
            pressable = self._pressables.get(int(ref))
            return (pressable, rest.strip()) if pressable else None
        for wanted, choice in ((arg.strip(), ""), (ref, rest.strip())):
            if wanted:
                match = self._newest_labelled(wanted, viewer)
                if match is not None:
                    return match, choice
        return None

    def _newest_labelled(self, label: str, viewer: str | None) -> Pressable | None:
        wanted = label.lower()
        live = [
            (number, p)
            for number, p in self._pressables.items()
            if self.is_live(p) and (viewer is None or p.message.seen_by in (None, viewer))
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

    # --- printing ---------------------------------------------------------------------------------

    def show_again(self, shown: Shown) -> None:
        """Message ``shown`` as it stands now (``:show``)."""
        lines = render_message(shown.message, self.ctx.names, self._numberer(shown))
        self.ctx.console.write(
            frame_post(
                lines,
                where=channel_label(shown.channel, self.ctx.names),
                number=shown.number,
                author=BOT_NAME,
                thread_of=shown.thread_of,
                in_thread=shown.in_thread,
            )
        )

    def show_post(self, message: Mapping[str, Any]) -> None:
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
        shown.lines = render_message(shown.message, self.ctx.names, self._numberer(shown))
        self.ctx.console.write(
            frame_post(
                shown.lines,
                where=channel_label(channel, self.ctx.names),
                number=shown.number,
                author=BOT_NAME,
                thread_of=shown.thread_of,
                in_thread=in_thread,
            )
        )

    def show_update(self, message: Mapping[str, Any], shown: Shown | None = None) -> None:
        names = self.ctx.names
        shown = shown or self._shown.get((str(message.get("channel", "")), str(message.get("ts", ""))))
        if shown is None:
            self.show_post(message)  # a message from an earlier session: show it whole
            return
        shown.message = dict(message)
        lines = render_message(shown.message, names, self._numberer(shown))
        if lines == shown.lines:
            return  # an update that changes nothing a reader can see
        if shown.private_to is not None:
            self.ctx.console.write(
                frame_private(lines, user=names.user(shown.private_to), author=BOT_NAME, note=" (updated)")
            )
        else:
            self.ctx.console.write(
                frame_update(
                    shown.lines,
                    lines,
                    where=channel_label(shown.channel, names),
                    number=shown.number,
                    in_thread=shown.in_thread,
                )
            )
        shown.lines = lines

    def home(self, user_id: str) -> Shown | None:
        """``user_id``'s Home as last shown, if it was (its ``message`` follows every publish)."""
        return self._homes.get(user_id)

    def show_home(self, user_id: str, view: Mapping[str, Any]) -> Shown:
        """``user_id``'s Home ``view`` in full. A Home keeps its controls' numbers across showings."""
        shown = self._homes.get(user_id)
        if shown is None:
            shown = Shown(next(self._private_numbers), channel="", ts="", message={}, home_of=user_id)
            self._homes[user_id] = shown
        shown.message = dict(view)
        shown.lines = render_message(shown.message, self.ctx.names, self._numberer(shown))
        self.ctx.console.write(frame_home(shown.lines, user=self.ctx.names.user(user_id), author=BOT_NAME))
        return shown

    def _frame_deleted(self, shown: Shown) -> list[str]:
        if shown.private_to is not None:
            return frame_note(f"{self.ctx.names.user(shown.private_to)}'s private message was deleted")
        where = channel_label(shown.channel, self.ctx.names)
        return frame_deleted(where=where, number=shown.number, in_thread=shown.in_thread)

    def show_private(self, message: Mapping[str, Any], user_id: str) -> None:
        shown = Shown(
            number=next(self._private_numbers),
            channel=str(message.get("channel") or CHANNEL_ID),
            ts=_local_ts(),
            message=dict(message),
            private_to=user_id,
        )
        shown.message["ts"] = shown.ts
        shown.lines = render_message(shown.message, self.ctx.names, self._numberer(shown))
        name = self.ctx.names.user(user_id) if user_id else "the person who asked"
        self.ctx.console.write(frame_private(shown.lines, user=name, author=BOT_NAME))


def _local_ts() -> str:
    return f"{time.time():.6f}"


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
