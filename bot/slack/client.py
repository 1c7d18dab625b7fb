"""The one Slack Web API client of a process: base URL from the environment, retries switched on.

slack_sdk's async client retries only connection errors by default; a bot that must not lose a final
reply also retries rate limits (honouring Retry-After) and Slack's 5xx answers.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings


def build_web_client(
    settings: Settings, *, session: aiohttp.ClientSession | None = None, timeout: int = 15
) -> AsyncWebClient:
    """``session``: one shared aiohttp session (its connection pool); without it slack_sdk opens a
    new session and TCP connection for every call. The caller closes it."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
