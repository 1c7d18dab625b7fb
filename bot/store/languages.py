"""Which language each Slack user reads, cached in Redis (filled by workers, read by the web)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.i18n import LANGUAGES, Lang
from bot.store import keys
from bot.store.codec import as_text

LANGUAGE_TTL = 24 * 3600
"""How long a known locale is trusted: a person who switches Slack's language is read in the new one
within a day."""
UNKNOWN_TTL = 10 * 60
"""Slack refused to say (no scope, unknown user…): the default language is used, and asked again
after this long rather than on every message."""


class LanguageCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def get(self, user_id: str) -> Lang | None:
        raw = await self._redis.get(keys.user_language(user_id))
        if raw is None:
            return None
        value = as_text(raw)
        return value if value in LANGUAGES else None

    async def put(self, user_id: str, lang: Lang, *, known: bool = True) -> None:
        """``known=False``: Slack did not say, so ``lang`` is the default, kept only a short while."""
        ttl = LANGUAGE_TTL if known else UNKNOWN_TTL
        await self._redis.set(keys.user_language(user_id), lang, ex=ttl)
