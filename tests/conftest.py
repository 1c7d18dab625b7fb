"""Shared fixtures: one real Redis server per session (flushed per test), the environment kept clean."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.local.embedded_redis import EmbeddedRedis
from bot.store.batch import BatchingRedis

# Never let a developer's real credentials reach a test.
_CONTRACT_PREFIXES = ("SLACK_", "HUAWEICLOUD_", "TAURUSDB_", "REDIS_URL", "BACKUP_", "AUDIT_CHANNEL", "PORT")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_CONTRACT_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def forget_remembered_languages() -> None:
    """The web process remembers known languages for minutes; each test starts without that memory."""
    from bot.app.users import forget_remembered

    forget_remembered()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    # the bot's own client for a single server: every store under test batches as in production
    client = BatchingRedis.from_url(redis_url, decode_responses=False)
    await client.flushall()
    yield client
    await client.aclose()
