"""Slack's rate limits: a token bucket per channel for ``chat.postMessage`` and one per method for
the tiered methods, each saying, when it refuses, how long until the next call would pass.

Slack allows about one post per second per channel with short bursts tolerated, and tiers the other
methods per minute (api.slack.com/apis/rate-limits). Both are off until a knob turns them on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.local.fake_slack.knobs import Knobs

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
"""Calls per minute each of Slack's tiers allows (its lower bound: "Tier 3: 50+ per minute")."""

SLACK_TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "users.info": 4,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.members": 4,
    "conversations.open": 3,
    "conversations.replies": 3,
}
"""The tier of each method the fake answers that has one (``chat.postMessage`` is special)."""


def slack_tier_limits() -> dict[str, int]:
    """``tier_limits`` as Slack sets them: method → calls per minute."""
    return {method: TIER_PER_MINUTE[tier] for method, tier in SLACK_TIERS.items()}


@dataclass
class TokenBucket:
    """``capacity`` calls at once, refilled at ``rate`` per second."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def wait(self, now: float) -> float:
        """Seconds until a call would pass (0: now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class Limits:
    """The buckets of one fake; :meth:`check` takes a call's tokens or says how long to wait."""

    def __init__(self, knobs: Knobs, clock: Callable[[], float]) -> None:
        self.knobs = knobs
        self.clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(self, method: str, channel: str) -> int | None:
        """``None`` when the call may go ahead (and is counted), else its ``Retry-After`` in seconds.

        ``channel`` is the conversation a ``chat.postMessage`` lands in (ignored for other methods).
        """
        now = self.clock()
        wanted = []
        if method == "chat.postMessage" and self.knobs.post_rate > 0:
            wanted.append(self._bucket(("post", channel), self.knobs.post_rate, self.knobs.post_burst, now))
        per_minute = self.knobs.tier_limits.get(method, 0)
        if per_minute > 0:
            wanted.append(self._bucket(("tier", method), per_minute / 60, per_minute, now))
        waits = [bucket.wait(now) for bucket in wanted]
        if any(waits):
            # Slack's Retry-After is whole seconds; rounding up keeps "retry then" true.
            return max(1, math.ceil(max(waits)))
        for bucket in wanted:
            bucket.take()
        return None

    def _bucket(self, key: tuple[str, str], rate: float, capacity: float, now: float) -> TokenBucket:
        capacity = max(1.0, float(capacity))
        bucket = self._buckets.get(key)
        if bucket is None or (bucket.rate, bucket.capacity) != (rate, capacity):
            # New, or the knobs changed: start full, as a quiet channel would be.
            bucket = TokenBucket(rate, capacity, capacity, now)
            self._buckets[key] = bucket
        return bucket
