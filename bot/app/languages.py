"""Which language each person reads: their Slack locale, cached in Redis.

Slack tells a user's locale only through ``users.info(include_locale=True)``, a call the web process
must not make before ``ack()``. So the web process only reads the cache: on a hit it answers in the
person's language; on a miss it answers in the deployment's default language and schedules
:class:`~bot.app.work.LearnLocale`, for which a worker asks Slack and fills the cache. Workers
resolve a language (cache, else Slack) before they post anything about a request.

``zh-*`` locales read Chinese, every other locale English; when Slack gives no locale the
deployment's default (``BACKUP_DEFAULT_LANGUAGE``) applies.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from bot.app.ports import Directory, DirectoryError
from bot.app.work import LearnLocale, schedule
from bot.i18n import Lang, language_of_locale
from bot.store.languages import LanguageCache
from bot.store.scheduler import Scheduler

log = logging.getLogger("bot.app.languages")

# user ID → (valid until, language): the web process's short memory of the Redis cache.
_MEMO: dict[str, tuple[float, Lang]] = {}
_MEMO_HIT_SECONDS = 300.0
_MEMO_MAX = 10_000


def forget_remembered() -> None:
    """Drop this process's memory of known languages (tests start without it)."""
    _MEMO.clear()


class UserLanguages:
    """The language each Slack user reads. The web process needs ``scheduler`` (to ask a worker on a
    miss); workers need ``directory`` (to ask Slack)."""

    def __init__(
        self,
        cache: LanguageCache,
        *,
        default: Lang,
        scheduler: Scheduler | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._cache = cache
        self.default: Lang = default
        self._scheduler = scheduler
        self._directory = directory

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
            found = await self._cache.get(user_id)
            if found is None and self._scheduler is not None:
                await schedule(self._scheduler, LearnLocale(user_id=user_id))
        except (RedisError, ValueError) as exc:  # ValueError: not a user ID LearnLocale accepts
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
        """A worker's lookup: the cache, else Slack (then cached)."""
        if (found := await self._cache.get(user_id)) is not None:
            return found
        if self._directory is None or not user_id:
            return self.default
        try:
            locale = await self._directory.locale_of(user_id)
        except DirectoryError as exc:
            log.warning("users.info for %s failed (%s); using %s", user_id, exc, self.default)
            if exc.lasting:
                await self._cache.put(user_id, self.default, known=False)
            return self.default
        lang = language_of_locale(locale, self.default)
        await self._cache.put(user_id, lang)
        return lang
