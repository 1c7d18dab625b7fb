"""The one Slack Web API client of a process: base URL from the environment, retries switched on,
Slack's rate limits kept together with every other process (:mod:`bot.slack.pacing`).

slack_sdk's async client retries only connection errors by default; a bot that must not lose a final
reply also retries rate limits (honouring Retry-After, for every process) and Slack's 5xx answers.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)

from bot.config import Settings
from bot.slack.pacing import PacedWebClient, SharedRetryAfter
from bot.store.pacing import Pacing

_SDK_LOG = "slack_sdk.web.async_base_client"  # the logger slack_sdk's async client logs to


def sdk_logger() -> logging.Logger:
    """slack_sdk's client logger, its level pinned to the level it logs at now. slack_sdk asks
    ``logger.level <= DEBUG`` (the logger's own level, not the effective one) before building its
    debug lines — each request's and response's parameters and headers formatted as text — so a
    logger left at NOTSET (0) builds them for every call and throws them away: a tenth of a worker's
    CPU while it posts a burst of final replies. With the bot logging at DEBUG they still appear."""
    logger = logging.getLogger(_SDK_LOG)
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


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
        logger=sdk_logger(),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            SharedRetryAfter(pacing, post_rate=rate, tier_scale=scale, max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )
