"""Slack's rate limits, kept by every process together (through :mod:`bot.store.pacing`).

Before a call, :class:`PacedWebClient` takes a turn of the call's budget: ``chat.postMessage`` has
one per channel (Slack allows about one post per second per channel, with short bursts), the tiered
methods one each for the workspace (Tier 3 is 50+ calls a minute, Tier 4 100+). A turn more than
:data:`LONGEST_WAIT` away is not waited for inside a handler: :class:`~bot.app.ports.SlackBusy` says
when to try again, and the worker hands the work back until then. A call made inside
:func:`nice_to_have` (a progress update) goes only if a turn is free now; otherwise it raises
:class:`Deferred` and takes nothing, so a final reply never queues behind it.

When Slack still answers 429, :class:`SharedRetryAfter` records its ``Retry-After`` for every
process on the budget the call took its turn of, then waits it out and tries again. That budget
comes from the client (:data:`_spending`), not from the retried request: slack_sdk sends
``chat.postMessage`` as JSON and hands a retry handler neither the JSON body nor anything else that
names the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.app.ports import SlackBusy
from bot.store.pacing import Budget, Pacing

log = logging.getLogger("bot.slack.pacing")

# Calls a minute of each tiered method the bot makes (Slack's lower bounds), and how many of them
# may go at once; chat.postMessage is paced per channel instead.
PER_MINUTE = {
    "chat.update": 50,
    "chat.postEphemeral": 100,
    "chat.getPermalink": 100,
    "conversations.join": 50,
    "conversations.members": 100,
    "conversations.replies": 50,  # only to find a reply whose post was not heard back from
    "usergroups.list": 20,
    "users.info": 100,
    "views.publish": 100,
}
POST_BURST = 2
# Turns come a little slower than the limit itself: Slack measures when a call arrives, not when it
# was sent, so calls sent exactly one interval apart may arrive closer together.
MARGIN = 1.15
LONGEST_WAIT = 5.0  # seconds a handler waits for a turn; beyond that the work is handed back

_nice_to_have: contextvars.ContextVar[bool] = contextvars.ContextVar("nice_to_have", default=False)
# The call in flight in this task and the budget it spends, set by PacedWebClient.api_call for the
# retry handler, which slack_sdk runs inside that same call.
_spending: contextvars.ContextVar[tuple[str, Budget] | None] = contextvars.ContextVar(
    "spending", default=None
)


class Deferred(Exception):
    """A nice-to-have call found no free turn: it was not made."""


@contextlib.contextmanager
def nice_to_have() -> Iterator[None]:
    token = _nice_to_have.set(True)
    try:
        yield
    finally:
        _nice_to_have.reset(token)


def budget_of(
    method: str, args: dict[str, Any] | None, post_rate: float, tier_scale: float = 1.0
) -> Budget | None:
    """The budget a call of ``method`` with ``args`` spends, None for a method that is not limited.
    ``tier_scale`` multiplies the tiers' per-minute figures (Slack's are minimums)."""
    if method == "chat.postMessage":
        channel = str((args or {}).get("channel") or "")
        return Budget(f"{method}:{channel}", MARGIN / post_rate, POST_BURST)
    published = PER_MINUTE.get(method)
    if published is None:
        return None
    per_minute = max(1, round(published * tier_scale))
    # A tier is "N+ calls a minute, sporadic bursts welcome": half a minute's worth may go at once.
    return Budget(method, MARGIN * 60.0 / per_minute, max(1, per_minute // 2))


class PacedWebClient(AsyncWebClient):
    """An ``AsyncWebClient`` whose every call of a limited method first takes its budget's turn."""

    def __init__(
        self, *args: Any, pacing: Pacing, post_rate: float = 1.0, tier_scale: float = 1.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pacing = pacing
        self.post_rate = post_rate
        self.tier_scale = tier_scale

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        args = kwargs.get("json") or kwargs.get("data") or kwargs.get("params")
        budget = budget_of(
            api_method, args if isinstance(args, dict) else None, self.post_rate, self.tier_scale
        )
        if budget is None:
            return await super().api_call(api_method, **kwargs)
        await self._take_turn(budget)
        token = _spending.set((api_method, budget))
        try:
            response: AsyncSlackResponse = await super().api_call(api_method, **kwargs)
        finally:
            _spending.reset(token)
        return response

    async def _take_turn(self, budget: Budget) -> None:
        optional = _nice_to_have.get()
        try:
            wait = await self.pacing.reserve(budget, optional=optional, longest=LONGEST_WAIT)
        except RedisError as exc:  # without Redis there is no shared budget: Slack's 429s still pace us
            log.warning("cannot read the Slack budget %s (%s); calling anyway", budget.name, exc)
            return
        if wait is None:
            raise Deferred(budget.name)
        if wait.later:
            raise SlackBusy(wait.seconds)
        if wait.seconds > 0:
            await asyncio.sleep(wait.seconds)


def _retry_after(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            with contextlib.suppress(ValueError):
                return max(0.0, float(values[0]))
    return 1.0


def _args_of(request: HttpRequest) -> dict[str, Any]:
    """What a retried request itself still says of its arguments: its form body or query (a JSON body
    is not handed to retry handlers)."""
    for sent in (request.data, request.body_params):
        if isinstance(sent, dict) and sent:
            return sent
    return {}


class SharedRetryAfter(AsyncRetryHandler):
    """On a 429: no process calls that budget again before ``Retry-After``; then this call retries."""

    def __init__(
        self, pacing: Pacing, *, post_rate: float, tier_scale: float = 1.0, max_retry_count: int = 5
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._pacing = pacing
        self._post_rate = post_rate
        self._tier_scale = tier_scale

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # only 429 answers are retried
        seconds = _retry_after(response)
        method = urlsplit(request.url).path.rsplit("/", 1)[-1]
        spending = _spending.get()
        if spending is not None and spending[0] == method:
            budget: Budget | None = spending[1]
        else:  # a client that does not pace: the request is all there is
            budget = budget_of(method, _args_of(request), self._post_rate, self._tier_scale)
        if budget is not None:
            try:
                await self._pacing.hold(budget, seconds)
            except RedisError as exc:
                log.warning("cannot share Slack's Retry-After for %s (%s)", budget.name, exc)
        log.info("Slack said 429 for %s; every process waits %.0fs", method, seconds)
        state.next_attempt_requested = True
        await asyncio.sleep(seconds + random.random() / 2)
        state.increment_current_attempt()
