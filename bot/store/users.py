"""What the bot knows about a Slack user, cached in Redis (filled by workers from ``users.info``,
read by the web process): their language, time zone, and whether they are a guest."""

from __future__ import annotations

from dataclasses import dataclass

from redis.typing import EncodableT, FieldT

from bot.i18n import LANGUAGES, Lang
from bot.store import keys
from bot.store.codec import as_text
from bot.store.connection import RedisClient

KNOWN_TTL = 24 * 3600
"""How long a user record is trusted: a person who switches Slack's language, or stops being a
guest, is read anew within a day."""
UNKNOWN_TTL = 10 * 60
"""Slack refused to say (no scope, unknown user…): defaults are used, and asked again after this
long rather than on every message."""

_GUEST = {"1": True, "0": False}


@dataclass(frozen=True, slots=True)
class UserRecord:
    lang: Lang
    tz: str = ""  # IANA zone name, "" when Slack did not say
    guest: bool | None = None  # None: not known (Slack did not say)
    from_slack: bool = True  # False: defaults stored after Slack refused


class UserCache:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def get(self, user_id: str) -> UserRecord | None:
        raw = await self._redis.hgetall(keys.user(user_id))  # a burst's reads: one pipeline
        if not raw:
            return None
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        lang = next((known for known in LANGUAGES if known == fields.get("lang")), None)
        if lang is None:
            return None
        return UserRecord(
            lang=lang,
            tz=fields.get("tz", ""),
            guest=_GUEST.get(fields.get("guest", "")),
            from_slack=fields.get("source", "slack") == "slack",
        )

    async def put(self, user_id: str, record: UserRecord) -> None:
        fields: dict[FieldT, EncodableT] = {
            "lang": record.lang,
            "tz": record.tz,
            "guest": "" if record.guest is None else ("1" if record.guest else "0"),
            "source": "slack" if record.from_slack else "default",
        }
        key = keys.user(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, KNOWN_TTL if record.from_slack else UNKNOWN_TTL)
            await pipe.execute()

    async def claim_lookup(self, user_id: str, seconds: float) -> bool:
        """Become the one process asking Slack about ``user_id`` for up to ``seconds`` (False: another
        process asks already; its answer lands in the cache)."""
        return bool(await self._redis.set(keys.user_lookup(user_id), "1", nx=True, px=int(seconds * 1000)))

    async def end_lookup(self, user_id: str) -> None:
        await self._redis.delete(keys.user_lookup(user_id))
