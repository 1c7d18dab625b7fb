from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.local.embedded_redis import EmbeddedRedis


async def test_real_server_answers_and_is_flushed_per_test(redis: aioredis.Redis) -> None:
    assert await redis.dbsize() == 0
    await redis.set("k", "v")
    assert await redis.get("k") == b"v"
    info = await redis.info("server")
    assert "redis_version" in info or "valkey_version" in info


def test_embedded_server_accepts_a_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = EmbeddedRedis(Path(".local/redis"), appendonly=True).start()
    try:
        assert server.process is not None and server.process.poll() is None
        assert (tmp_path / ".local/redis/server.log").exists()
    finally:
        server.stop()
