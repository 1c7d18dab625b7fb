"""The one Slack Web API client of a process: base URL from the environment, retries switched on,
Slack's rate limits kept together with every other process (:mod:`bot.slack.pacing`).

slack_sdk's async client retries only connection errors by default; a bot that must not lose a final
reply also retries rate limits (honouring Retry-After, for every process) and Slack's 5xx answers.
"""

from __future__ import annotations

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


def build_web_client(
    settings: Settings, pacing: Pacing, *, session: aiohttp.ClientSession | None = None, timeout: int = 15
) -> PacedWebClient:
    """``session``: one shared aiohttp session (its connection pool); without it slack_sdk opens a
    new session and TCP connection for every call. The caller closes it."""
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
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            SharedRetryAfter(pacing, post_rate=rate, tier_scale=scale, max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
