"""Settling many requests at once: each one's state change and its next work item in one script.

A poll tick that sees a hundred backups finish moves a hundred requests (``BUILDING`` → ``COMPLETED``
…) and schedules each one's next step. One by one that is three round trips each (the compare-and-set,
reading the request back, scheduling). Here it is one script per request — the same compare-and-set
as :meth:`~bot.store.requests.RequestStore.transition` (:data:`bot.store.lua.TRANSITION`), then, only
for the winner, the work item — and the scripts of one call go to Redis together
(:class:`~bot.store.batch.BatchingRedis`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.request import State, can_move, utcnow
from bot.store import keys, lua
from bot.store.connection import RedisClient
from bot.store.requests import KEEP_FINISHED_SECONDS, encode_fields
from bot.store.scheduler import Scheduler

# KEYS: the request hash, then the five scheduler keys. ARGV: work key, work payload (JSON), then the
# transition's own arguments (target, keep, n, from states, field/value pairs; see lua.TRANSITION).
# Returns {1, previous state} when the request moved (and its work is scheduled), else {0, current}.
_SETTLE = (
    lua.NOW
    + lua.SCHEDULE_WORK
    + lua.TRANSITION
    + """
local moved = transition(KEYS[1], transition_args(3))
if moved[1] == 1 then
  schedule_work({KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}, ARGV[1], ARGV[2], 0)
end
return moved
"""
)


@dataclass(frozen=True)
class Move:
    """Move ``request_id`` to ``target`` from one of ``from_states`` (along the lifecycle only),
    writing ``fields``; when it moves, schedule ``work_key`` with ``work_payload``."""

    request_id: str
    target: State
    from_states: tuple[State, ...]
    work_key: str
    work_payload: Mapping[str, Any]
    fields: Mapping[str, Any] = field(default_factory=dict)


class Settler:
    def __init__(self, redis: RedisClient, scheduler: Scheduler) -> None:
        self._script = redis.register_script(_SETTLE)
        self._scheduler = scheduler

    async def settle(self, moves: Iterable[Move]) -> list[bool]:
        """Make every move that is still possible; True for each request this call moved (another
        caller may have moved it first: then nothing is written and nothing scheduled for it)."""
        calls = [self._call(move) for move in moves]
        if not calls:
            return []
        # every call is made (or refused) before the first error, if any, is raised
        replies = await asyncio.gather(
            *(self._script(keys=k, args=a) for k, a in calls), return_exceptions=True
        )
        if failed := next((r for r in replies if isinstance(r, BaseException)), None):
            raise failed
        won = [bool(int(reply[0])) for reply in replies]  # type: ignore[index]  # none failed
        if any(won):
            self._scheduler.local_work.set()
        return won

    def _call(self, move: Move) -> tuple[list[str], list[Any]]:
        sources = [json.dumps(s.value) for s in move.from_states if can_move(s, move.target)]
        fields = {**move.fields, "updated_at": utcnow()}
        args: list[Any] = [
            move.work_key,
            json.dumps(move.work_payload),
            json.dumps(move.target.value),
            KEEP_FINISHED_SECONDS if move.target.final else 0,
            len(sources),
            *sources,
            *encode_fields(fields),
        ]
        return [keys.request(move.request_id), *self._scheduler.keys], args
