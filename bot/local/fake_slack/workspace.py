"""The fake workspace's state that the Web API methods read and change: messages, views and each
person's Home, used triggers, direct messages, who is in which conversation, and the clocks that
hand out message timestamps and view IDs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from bot.local.fake_slack.identity import BOT_USER_ID, USER_ID_RE, dm_channel_id, group_dm_id
from bot.local.fake_slack.knobs import Knobs

_TS_STEP = 100  # microseconds between consecutive message timestamps

Args = dict[str, Any]
Answer = dict[str, Any]


class Workspace:
    """Everything a method handler may look at or change; one per :class:`FakeSlack`."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        """user ID → the Home view last published for them."""
        self.used_triggers: set[str] = set()
        self.dms: dict[str, list[str]] = {}
        """Opened direct messages (``D…``) and group DMs (``G…``) → the people in them, bot aside."""
        # Timestamps start at the clock, like Slack's: a restarted fake never reuses an old one.
        self._ts = itertools.count(int(time.time() * 1_000_000) // _TS_STEP * _TS_STEP, _TS_STEP)
        self._ids = itertools.count(1)

    def next_ts(self) -> str:
        micro = next(self._ts)
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def next_view_id(self) -> str:
        return f"V{next(self._ids):010d}"

    # --- the bot's conversations ------------------------------------------------------------------

    def is_member(self, channel: str) -> bool:
        """Whether the bot is in ``channel`` (always in DMs)."""
        return channel.startswith("D") or channel in self.dms or channel not in self.knobs.not_member

    def open_dm(self, user_ids: list[str]) -> tuple[str, bool]:
        """The bot's DM with one person (``D…``) or group DM with several (``G…``), and whether it
        was open already."""
        people = sorted(set(user_ids))
        channel = dm_channel_id(people[0]) if len(people) == 1 else group_dm_id(people)
        already = channel in self.dms
        self.dms[channel] = people
        return channel, already

    def conversation_of(self, channel: str) -> str:
        """Where a post to ``channel`` lands: a known person's user ID stands for the bot's DM with them."""
        return dm_channel_id(channel) if USER_ID_RE.match(channel) and self.knows_user(channel) else channel

    def resolve_channel(self, channel: str) -> str:
        """:meth:`conversation_of`, opening the DM it names."""
        landing = self.conversation_of(channel)
        if landing != channel:
            self.open_dm([channel])
        return landing

    # --- people -----------------------------------------------------------------------------------

    def knows_user(self, user_id: str) -> bool:
        if user_id == BOT_USER_ID:
            return True
        known = self.knobs.known_users
        return user_id in known if known is not None else bool(USER_ID_RE.match(user_id))

    def people(self) -> list[str]:
        """Everyone the fake knows of, sorted: the listed people, or those any knob names."""
        knobs = self.knobs
        if knobs.known_users is not None:
            return sorted(knobs.known_users)
        named = {*knobs.locales, *knobs.timezones, *knobs.guests}
        for group in (*knobs.usergroups.values(), *knobs.channel_members.values(), *self.dms.values()):
            named.update(group)
        return sorted(u for u in named if self.knows_user(u) and u != BOT_USER_ID)

    def members(self, channel: str) -> list[str]:
        """The people in ``channel``, and the bot when it is in."""
        if channel in self.dms:
            people = list(self.dms[channel])
        elif channel in self.knobs.channel_members:
            people = list(self.knobs.channel_members[channel])
        else:
            people = self.people()
        if self.is_member(channel) and BOT_USER_ID not in people:
            people.append(BOT_USER_ID)
        return people

    def person_in(self, channel: str, user_id: str) -> bool:
        """Whether ``user_id`` is in ``channel`` (in an unlisted channel, every known person is)."""
        if channel in self.dms:
            return user_id in self.dms[channel] or user_id == BOT_USER_ID
        if channel in self.knobs.channel_members:
            return user_id in self.knobs.channel_members[channel]
        return self.knows_user(user_id)


Handler = Callable[[Workspace, Args], Answer]
"""A Web API method: the workspace and the call's arguments in, Slack's JSON answer out."""
