from __future__ import annotations

import redis.asyncio as aioredis


async def test_real_server_answers_and_is_flushed_per_test(redis: aioredis.Redis) -> None:
    assert await redis.dbsize() == 0
    await redis.set("k", "v")
    assert await redis.get("k") == b"v"
    info = await redis.info("server")
    assert "redis_version" in info or "valkey_version" in info
