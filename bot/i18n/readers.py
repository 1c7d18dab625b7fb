"""Which language each person reads: their Slack locale, cached in Redis.

Slack tells a user's locale only through ``users.info(include_locale=True)``, a Web API call the web
process must not make before ``ack()``. So the web process only reads the cache: on a hit it answers
in the person's language; on a miss it answers in the deployment's default language and schedules
``locale:<user>``, for which a worker asks Slack and fills the cache. Workers resolve a language
(cache, else ``users.info``) before they post anything about a request.

``zh-*`` locales read Chinese, every other locale English; when Slack gives no locale the
deployment's default (``BACKUP_DEFAULT_LANGUAGE``) applies.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import LANGUAGES, Lang, as_lang, language_of_locale
from bot.store import keys
from bot.store.codec import as_text
from bot.store.scheduler import Lease, Outcome, Scheduler

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.i18n.readers")

LANGUAGE_TTL = 24 * 3600
"""How long a known locale is trusted: a person who switches Slack's language is read in the new one
within a day."""
UNKNOWN_TTL = 10 * 60
"""Slack refused to say (no scope, unknown user…): the default language is used, and asked again
after this long rather than on every message."""


def locale_key(user_id: str) -> str:
    """Work key: fill the language cache for ``user_id``."""
    return f"locale:{user_id}"


# user ID → (valid until, language): the web process's short memory of the Redis cache.
_MEMO: dict[str, tuple[float, Lang]] = {}
_MEMO_HIT_SECONDS = 300.0
_MEMO_MAX = 10_000


class UserLanguages:
    """The language each Slack user reads. The web process needs ``scheduler`` (to ask a worker on a
    miss); workers need ``slack`` (to ask Slack)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        default: Lang,
        scheduler: Scheduler | None = None,
        slack: AsyncWebClient | None = None,
    ) -> None:
        self._redis = redis
        self.default: Lang = default
        self._scheduler = scheduler
        self._slack = slack

    @classmethod
    def of(cls, services: Services) -> UserLanguages:
        """Built from a process's services (cheap: no I/O)."""
        return cls(
            services.redis,
            default=as_lang(services.settings.default_language),
            scheduler=services.scheduler,
            slack=services.slack,
        )

    async def cached(self, user_id: str) -> Lang | None:
        raw = await self._redis.get(keys.user_language(user_id))
        if raw is None:
            return None
        value = as_text(raw)
        return value if value in LANGUAGES else None

    async def known(self, user_id: str) -> Lang | None:
        """The web process's lookup: the cached language, or None after scheduling a worker to find
        it. Never raises: a failed lookup only means the default language. A known language is
        remembered in this process for a few minutes (a locale rarely changes), so a busy user costs
        no Redis read; a miss is not remembered, so the worker's answer is used as soon as it lands."""
        if not user_id:
            return None
        now = time.monotonic()
        if (memo := _MEMO.get(user_id)) is not None and memo[0] > now:
            return memo[1]
        found: Lang | None = None
        try:
            found = await self.cached(user_id)
            if found is None and self._scheduler is not None:
                await self._scheduler.schedule(locale_key(user_id), {})
        except RedisError as exc:
            log.info("language of %s unknown (%s); using the default", user_id, exc)
            return None
        if found is not None:
            if len(_MEMO) >= _MEMO_MAX:
                _MEMO.clear()
            _MEMO[user_id] = (now + _MEMO_HIT_SECONDS, found)
        return found

    async def for_reply(self, user_id: str) -> Lang:
        """The language to answer ``user_id`` in now: cached, else the default (and a worker warms
        the cache for next time)."""
        return await self.known(user_id) or self.default

    async def resolve(self, user_id: str) -> Lang:
        """A worker's lookup: the cache, else Slack's ``users.info`` (then cached)."""
        if (found := await self.cached(user_id)) is not None:
            return found
        return await self._ask_slack(user_id)

    async def fill(self, lease: Lease) -> Outcome:
        """Handler for ``locale:<user>``."""
        await self.resolve(lease.key.split(":", 1)[1])
        return Outcome.finished()

    async def _ask_slack(self, user_id: str) -> Lang:
        if self._slack is None or not user_id:
            return self.default
        try:
            answer = await self._slack.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            log.warning(
                "users.info for %s failed (%s); using %s", user_id, exc.response.get("error"), self.default
            )
            await self._redis.set(keys.user_language(user_id), self.default, ex=UNKNOWN_TTL)
            return self.default
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info for %s failed (%s); using %s for now", user_id, exc, self.default)
            return self.default
        user = answer.get("user") or {}
        locale = user.get("locale") if isinstance(user, dict) else None
        lang = language_of_locale(locale if isinstance(locale, str) else None, self.default)
        await self._redis.set(keys.user_language(user_id), lang, ex=LANGUAGE_TTL)
        return lang
