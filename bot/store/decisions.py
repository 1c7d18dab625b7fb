"""A person's decision on a pending request — approve, reject, cancel, break glass — as one atomic
step that checks everything the decision depends on against what is stored, with Redis's own clock.
(A request planned for later may also be cancelled, until it starts.)

The use case (:mod:`bot.app.decisions`) tells the script what only the policy can say (may this
person decide this request at all, may they approve their own); the script checks the rest and
changes the state in the same step: the request is still pending, its deadline has not passed (a
late click expires it there and then), the click came from a message that shows this request, the
approver has not approved already, and the N-th distinct approval is the one that approves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.store import keys, lua
from bot.store.codec import as_text
from bot.store.connection import RedisClient
from bot.store.requests import KEEP_FINISHED_SECONDS
from bot.store.scheduler import Scheduler


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    BREAK_GLASS = "break_glass"


class Outcome(StrEnum):
    APPROVED = "approved"  # the request is approved (the last approval needed, or break glass)
    RECORDED = "recorded"  # one more approval; more are needed
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ALREADY_YOURS = "already_yours"  # this approver approved before: nothing changed
    OWN_REQUEST = "own_request"
    NOT_ALLOWED = "not_allowed"
    EXPIRED = "expired"  # too late: the request expired in this very step
    CLOSED = "closed"  # no longer pending (someone decided first, or it ended)
    ELSEWHERE = "elsewhere"  # the click came from a message that does not show this request
    GONE = "gone"
    LATE = "late"  # the caller's deadline passed before the step ran: nothing was looked at


CHANGED = frozenset(
    {Outcome.APPROVED, Outcome.RECORDED, Outcome.REJECTED, Outcome.CANCELLED, Outcome.EXPIRED}
)

# KEYS: request hash, then the five scheduler keys. ARGV: action, actor, may ('1'/'0'), allow self
# ('1'/'0'), seen channel ('' = not checked), seen ts, reason (JSON string), updated_at (JSON), seconds
# a final request is kept, the caller's deadline (Redis time; '' for none), the work key and payload
# of the request's next step, scheduled in this same step whenever its state changes (approved,
# rejected, cancelled, expired). Returns {outcome, state, approvals (JSON list), needed}.
_DECIDE = (
    lua.NOW
    + lua.SCHEDULE_WORK
    + """
local function field(name)
  local raw = redis.call('HGET', KEYS[1], name)
  if not raw then return nil end
  local value = cjson.decode(raw)
  if value == cjson.null then return nil end
  return value
end
local function put(name, value) redis.call('HSET', KEYS[1], name, cjson.encode(value)) end
local function next_step()
  schedule_work({KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}, ARGV[11], ARGV[12], 0)
end
local function finish(state)
  put('state', state)
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[8])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
  next_step()
end

if ARGV[10] ~= '' and now() > tonumber(ARGV[10]) then return {'late', '', '[]', 0} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone', '', '[]', 0} end
local state = field('state')
local approvals = field('approvals') or {}
local needed = tonumber(field('approvals_needed') or 1)
local function answer(outcome, now_state)
  return {outcome, now_state, cjson.encode(approvals), needed}
end
local planned = state == 'SCHEDULED' and ARGV[1] == 'cancel'  -- waiting for its start time
if state ~= 'PENDING_APPROVAL' and not planned then return answer('closed', state) end
local deadline = field('deadline')
if not planned and deadline and now() >= tonumber(deadline) then
  finish('EXPIRED')
  return answer('expired', 'EXPIRED')
end
if ARGV[5] ~= '' then
  local here = field('channel_id') == ARGV[5] and field('parent_ts') == ARGV[6]
  if not here then
    for _, copy in ipairs(field('dm_copies') or {}) do
      if copy[2] == ARGV[5] and copy[3] == ARGV[6] then here = true end
    end
  end
  if not here then return answer('elsewhere', state) end
end

local action, actor = ARGV[1], ARGV[2]
if ARGV[3] ~= '1' then return answer('not_allowed', state) end
local own = actor == field('user_id')
if action == 'cancel' then
  put('decided_by', actor)
  put('decision_reason', cjson.decode(ARGV[7]))
  finish('CANCELLED')
  return answer('cancelled', 'CANCELLED')
end
if action == 'break_glass' then
  if not own then return answer('not_allowed', state) end
  put('decided_by', actor)
  put('decision_reason', cjson.decode(ARGV[7]))
  put('break_glass', true)
  put('state', 'APPROVED')
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[8])
  next_step()
  return answer('approved', 'APPROVED')
end
if own and ARGV[4] ~= '1' then return answer('own_request', state) end
if action == 'reject' then
  put('decided_by', actor)
  put('decision_reason', cjson.decode(ARGV[7]))
  finish('REJECTED')
  return answer('rejected', 'REJECTED')
end
for _, who in ipairs(approvals) do
  if who == actor then return answer('already_yours', state) end
end
approvals[#approvals + 1] = actor
put('approvals', approvals)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[8])
if #approvals < needed then return answer('recorded', state) end
put('decided_by', actor)
put('state', 'APPROVED')
next_step()
return answer('approved', 'APPROVED')
"""
)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    state: str  # the request's state after the step ("" when gone)
    approvals: tuple[str, ...]
    needed: int

    @property
    def changed(self) -> bool:
        return self.outcome in CHANGED


class Decisions:
    def __init__(self, redis: RedisClient, scheduler: Scheduler) -> None:
        self._script = redis.register_script(_DECIDE)
        self._scheduler = scheduler

    async def decide(
        self,
        request_id: str,
        action: Action,
        actor: str,
        *,
        may: bool,
        allow_self: bool = False,
        seen: tuple[str, str] | None = None,
        reason: str = "",
        now: datetime,
        then: tuple[str, str],
        deadline: float | None = None,
    ) -> Verdict:
        """Apply ``actor``'s decision if everything allows it. ``seen`` is the (channel, ts) of the
        message the click came from, when it came from a message; ``now`` only stamps updated_at;
        ``then`` is the work (key, JSON payload) that moves the request on, scheduled in the same step
        when its state changes; ``deadline`` (Redis time) makes a step that starts later change
        nothing (``LATE``)."""
        channel, ts = seen or ("", "")
        args = [
            action.value,
            actor,
            "1" if may else "0",
            "1" if allow_self else "0",
            channel,
            ts,
            json.dumps(reason),
            json.dumps(now.isoformat()),
            KEEP_FINISHED_SECONDS,
            "" if deadline is None else repr(deadline),
            *then,
        ]
        outcome, state, approvals, needed = await self._script(
            keys=[keys.request(request_id), *self._scheduler.keys], args=args
        )
        if Outcome(as_text(outcome)) in CHANGED - {Outcome.RECORDED}:
            self._scheduler.local_work.set()
        return Verdict(
            Outcome(as_text(outcome)),
            as_text(state),
            tuple(json.loads(as_text(approvals)) or ()),
            int(needed),
        )
