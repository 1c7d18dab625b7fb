"""Budgets for calls to a rate-limited API, shared by every process through Redis.

A budget allows one call every ``interval`` seconds on average and up to ``burst`` at once (the
generic cell rate algorithm: one key holds when the next call is due). :meth:`Pacing.reserve`
takes a turn and says how long to wait for it, in one script, so two workers never take the same
turn. A call that is only nice to have (a progress update) asks with ``optional``: it gets a turn
only if one is free now, and otherwise takes nothing, so what must be said (a final reply) is never
queued behind it.

When the API itself says "not now" (Slack's 429 with Retry-After), :meth:`Pacing.hold` records it,
and every process's next :meth:`reserve` of that budget waits it out: one worker's 429 slows all.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store import keys, lua
from bot.store.codec import as_text
from bot.store.connection import RedisClient

# KEYS: pace, hold. ARGV: interval, burst, optional ('1'/'0'), longest wait. Returns {what, wait}:
# 'go' and the seconds to wait for the turn just taken; 'skip' (optional, no free turn) or 'later'
# (the turn is further away than the longest wait) and nothing taken. (Seconds travel as strings:
# Lua numbers become integers on the way out.)
_RESERVE = (
    lua.NOW
    + """
local t = now()
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = tonumber(redis.call('GET', KEYS[1]) or '0')
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if due < t then due = t end
local at = math.max(due - (burst - 1) * interval, hold, t)
local wait = string.format('%.6f', at - t)
if ARGV[3] == '1' and at > t then return {'skip', wait} end
if at - t > tonumber(ARGV[4]) then return {'later', wait} end
local next_due = math.max(due, at) + interval
redis.call('SET', KEYS[1], string.format('%.6f', next_due), 'PX', math.ceil((next_due - t) * 1000) + 1000)
return {'go', wait}
"""
)

# KEYS: hold. ARGV: seconds. Keeps the later of the current hold and now + seconds.
_HOLD = (
    lua.NOW
    + """
local t = now()
local until_ = t + tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held >= until_ then return 0 end
redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
return 1
"""
)


@dataclass(frozen=True, slots=True)
class Turn:
    """How long to wait: for the turn taken, or (``later``) before asking again, nothing taken."""

    seconds: float
    later: bool = False


@dataclass(frozen=True, slots=True)
class Budget:
    """``name`` allows a call every ``interval`` seconds on average, ``burst`` at once."""

    name: str
    interval: float
    burst: int = 1


class Pacing:
    def __init__(self, redis: RedisClient) -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._hold = redis.register_script(_HOLD)

    async def reserve(
        self, budget: Budget, *, optional: bool = False, longest: float = float("inf")
    ) -> Turn | None:
        """Take the next turn of ``budget`` and say how long to wait for it. ``optional``: None, and
        no turn taken, when the call would have to wait at all; a turn more than ``longest`` seconds
        away is not taken either (``Turn(later=True)``: ask again then)."""
        what, wait = await self._reserve(
            keys=[keys.pace(budget.name), keys.pace_hold(budget.name)],
            args=[repr(budget.interval), budget.burst, "1" if optional else "0", repr(min(longest, 1e9))],
        )
        if as_text(what) == "skip":
            return None
        return Turn(float(as_text(wait)), later=as_text(what) == "later")

    async def hold(self, budget: Budget, seconds: float) -> None:
        """No call of ``budget`` before ``seconds`` from now, in any process."""
        await self._hold(keys=[keys.pace_hold(budget.name)], args=[repr(max(0.0, seconds))])
