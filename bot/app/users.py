"""What each person is to the bot beyond the policy: the language they read, their time zone, and
whether Slack counts them as a guest — from ``users.info``, cached in Redis.

Slack tells these only through ``users.info``, a call the web process must not make before
``ack()``. So the web process only reads the cache: on a hit it answers in the person's language
(and knows whether they are a guest); on a miss it answers in the deployment's default language and
schedules :class:`~bot.app.work.LearnLocale`, for which a worker asks Slack and fills the cache.
Workers resolve the record (cache, else Slack) before they post anything about a request.

``zh-*`` locales read Chinese, every other locale English; when Slack gives no locale the
deployment's default (``BACKUP_DEFAULT_LANGUAGE``) applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.exceptions import RedisError

from bot.app.ports import Directory, DirectoryError
from bot.app.work import LearnLocale, schedule
from bot.i18n import Lang, language_of_locale
from bot.store.scheduler import Scheduler
from bot.store.users import UserCache, UserRecord

log = logging.getLogger("bot.app.users")

# user ID → (valid until, record): the web process's short memory of the Redis cache.
_MEMO: dict[str, tuple[float, UserRecord]] = {}
_MEMO_HIT_SECONDS = 300.0
_MEMO_MAX = 10_000
LOOKUP_LOCK_SECONDS = 3.0  # how long other processes wait for the one asking Slack about someone


def forget_remembered() -> None:
    """Drop this process's memory of known users (tests start without it)."""
    _MEMO.clear()


class UserProfiles:
    """The web process needs ``scheduler`` (to ask a worker on a miss); workers need ``directory``
    (to ask Slack)."""

    def __init__(
        self,
        cache: UserCache,
        *,
        default: Lang,
        scheduler: Scheduler | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._cache = cache
        self.default: Lang = default
        self._scheduler = scheduler
        self._directory = directory
        self._lookups: dict[str, asyncio.Future[UserRecord]] = {}

    async def record(self, user_id: str) -> UserRecord | None:
        """The web process's lookup: the cached record, or None after scheduling a worker to find
        it. A known record is remembered in this process for a few minutes (it rarely changes), so a
        busy user costs no Redis read; a miss is not remembered, so the worker's answer is used as
        soon as it lands. Redis errors propagate: the caller's budget decides what they mean."""
        if not user_id:
            return None
        now = time.monotonic()
        if (memo := _MEMO.get(user_id)) is not None and memo[0] > now:
            return memo[1]
        found = await self._cache.get(user_id)
        if found is None:
            if self._scheduler is not None:
                with contextlib.suppress(ValueError):  # not a user ID LearnLocale accepts: nothing to learn
                    await schedule(self._scheduler, LearnLocale(user_id=user_id))
            return None
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[user_id] = (now + _MEMO_HIT_SECONDS, found)
        return found

    async def known(self, user_id: str) -> Lang | None:
        """The language, when the cache knows it (never raises: a failed lookup means the default)."""
        try:
            found = await self.record(user_id)
        except RedisError as exc:
            log.info("language of %s unknown (%s); using the default", user_id, exc)
            return None
        return found.lang if found is not None else None

    async def for_reply(self, user_id: str) -> Lang:
        """The language to answer ``user_id`` in now: cached, else the default (and a worker warms
        the cache for next time)."""
        return await self.known(user_id) or self.default

    async def resolve(self, user_id: str) -> UserRecord:
        """A worker's lookup: the cache, else Slack (then cached). However many requests of one
        person arrive at once, Slack is asked once: callers in this process share one lookup, and
        across processes one holds a short lock while the others wait for its answer in the cache."""
        if (found := await self._cache.get(user_id)) is not None:
            return found
        if self._directory is None or not user_id:
            return UserRecord(self.default, from_slack=False)
        lookup = self._lookups.get(user_id)
        if lookup is None:
            lookup = asyncio.ensure_future(self._look_up(user_id))
            self._lookups[user_id] = lookup
            lookup.add_done_callback(lambda _: self._lookups.pop(user_id, None))
        return await asyncio.shield(lookup)

    async def _look_up(self, user_id: str) -> UserRecord:
        if not await self._cache.claim_lookup(user_id, LOOKUP_LOCK_SECONDS):
            deadline = time.monotonic() + LOOKUP_LOCK_SECONDS
            while time.monotonic() < deadline:  # another process is asking Slack right now
                await asyncio.sleep(0.05)
                if (found := await self._cache.get(user_id)) is not None:
                    return found
            # It did not answer in time (it died, or Slack is slow): ask ourselves.
        try:
            return await self._ask_slack(user_id)
        finally:
            with contextlib.suppress(RedisError):
                await self._cache.end_lookup(user_id)

    async def _ask_slack(self, user_id: str) -> UserRecord:
        assert self._directory is not None
        fallback = UserRecord(self.default, from_slack=False)
        try:
            slack_user = await self._directory.user(user_id)
        except DirectoryError as exc:
            log.warning("users.info for %s failed (%s); using %s", user_id, exc, self.default)
            if exc.lasting:
                await self._cache.put(user_id, fallback)
            return fallback
        record = UserRecord(
            lang=language_of_locale(slack_user.locale, self.default), tz=slack_user.tz, guest=slack_user.guest
        )
        await self._cache.put(user_id, record)
        return record

    async def language(self, user_id: str) -> Lang:
        return (await self.resolve(user_id)).lang
