"""The one Slack Web API client of a process: base URL from the environment, retries switched on,
Slack's rate limits kept together with every other process (:mod:`bot.slack.pacing`).

slack_sdk's async client retries only connection errors by default; a bot that must not lose a final
reply also retries rate limits (honouring Retry-After, for every process) and Slack's 5xx answers.
A call made :func:`once_only` (a thread reply) is not sent again blindly when its fate is unclear (a
5xx, a connection lost after it was sent): the error goes to the caller, whose next try looks in the
thread first (:mod:`bot.slack.threads`). A 429, or a connection never made, is retried as before:
Slack did nothing with the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from bot.config import Settings
from bot.logs import pinned
from bot.slack.pacing import PacedWebClient, SharedRetryAfter
from bot.store.pacing import Pacing

# slack_sdk's async client logger, level pinned (see bot.logs.pinned): unpinned, its debug lines
# cost a tenth of a worker's CPU while it posted a burst of final replies.
_SDK_LOG = "slack_sdk.web.async_base_client"


SLACK_TIMEOUT = 15  # seconds a Web API call may take (the shared session's bound: bot.bootstrap)

_once_only: ContextVar[bool] = ContextVar("once_only", default=False)


@contextlib.contextmanager
def once_only() -> Iterator[None]:
    """Calls made inside are never sent a second time after an answer that leaves unclear whether
    Slack acted on them."""
    token = _once_only.set(True)
    try:
        yield
    finally:
        _once_only.reset(token)


class _ConnectionErrors(AsyncConnectionErrorRetryHandler):
    async def _can_retry_async(self, **kwargs: Any) -> bool:
        if _once_only.get() and not isinstance(kwargs.get("error"), aiohttp.ClientConnectorError):
            return False  # it may have reached Slack before the connection was lost
        return await super()._can_retry_async(**kwargs)


class _ServerErrors(AsyncServerErrorRetryHandler):
    async def _can_retry_async(self, **kwargs: Any) -> bool:
        return not _once_only.get() and await super()._can_retry_async(**kwargs)


def build_web_client(
    settings: Settings,
    pacing: Pacing,
    *,
    session: aiohttp.ClientSession | None = None,
    timeout: int = SLACK_TIMEOUT,
) -> PacedWebClient:
    """``session``: one shared aiohttp session (its connection pool); without it slack_sdk opens a
    new session and TCP connection for every call. The caller closes it. (With a session, slack_sdk
    bounds each call by the session's own timeout, not by ``timeout``.)"""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    rate, scale = settings.slack_post_rate, settings.slack_tier_scale
    return PacedWebClient(
        pacing=pacing,
        post_rate=rate,
        tier_scale=scale,
        token=token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        session=session,
        logger=pinned(_SDK_LOG),
        retry_handlers=[
            _ConnectionErrors(max_retry_count=2),
            SharedRetryAfter(pacing, post_rate=rate, tier_scale=scale, max_retry_count=5),
            _ServerErrors(max_retry_count=3),
        ],
    )
