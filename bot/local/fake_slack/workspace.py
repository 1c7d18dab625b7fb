"""The fake workspace's state that the Web API methods read and change: messages, views, used
triggers, and the clocks that hand out message timestamps and view IDs."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

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
        self.used_triggers: set[str] = set()
        # Timestamps start at the clock, like Slack's: a restarted fake never reuses an old one.
        self._ts = itertools.count(int(time.time() * 1_000_000) // _TS_STEP * _TS_STEP, _TS_STEP)
        self._ids = itertools.count(1)

    def next_ts(self) -> str:
        micro = next(self._ts)
        return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"

    def next_view_id(self) -> str:
        return f"V{next(self._ids):010d}"

    def is_member(self, channel: str) -> bool:
        """Whether the bot is in ``channel`` (always in DMs)."""
        return channel.startswith("D") or channel not in self.knobs.not_member


Handler = Callable[[Workspace, Args], Answer]
"""A Web API method: the workspace and the call's arguments in, Slack's JSON answer out."""
