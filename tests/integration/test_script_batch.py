"""ScriptBatch against a real Redis: calls made together go in one pipeline, each caller gets its
own reply or its own error, and a server that forgot its scripts is reminded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.local.embedded_redis import EmbeddedRedis, free_port
from bot.store.batch import ScriptBatch
from bot.store.connection import open_redis

# Counts its calls in a hash, and fails on request (for one caller among many).
_SCRIPT = """
if ARGV[1] == 'boom' then return redis.error_reply('BOOM as asked') end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return ARGV[1] .. '!'
"""
_KEY = "{bb}:test:batch"


class _CountingPool(aioredis.ConnectionPool):
    """The real pool, counting the connections taken from it: one per exchange with the server
    (a write and the reading of its replies)."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        _Counting.exchanges += 1
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


class _Counting(aioredis.Redis):
    """The real client on that pool."""

    exchanges = 0


@pytest.fixture
async def client(redis_server: EmbeddedRedis) -> Any:
    redis = _Counting(connection_pool=_CountingPool.from_url(redis_server.url))
    await redis.delete(_KEY)
    _Counting.exchanges = 0
    yield redis
    await redis.aclose()


async def test_calls_made_together_share_one_pipeline_and_get_their_own_replies(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_load(_SCRIPT)
    _Counting.exchanges = 0
    batch = ScriptBatch(client)
    replies = await asyncio.gather(*(batch.call(script, [_KEY], [f"c{i}"]) for i in range(60)))
    assert replies == [f"c{i}!".encode() for i in range(60)]
    assert _Counting.exchanges == 1
    counts = await client.hgetall(_KEY)
    assert counts == {f"c{i}".encode(): b"1" for i in range(60)}


async def test_a_burst_larger_than_a_pipeline_is_split(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_load(_SCRIPT)
    _Counting.exchanges = 0
    batch = ScriptBatch(client, most=16)
    replies = await asyncio.gather(*(batch.call(script, [_KEY], [f"c{i}"]) for i in range(40)))
    assert replies == [f"c{i}!".encode() for i in range(40)]
    assert _Counting.exchanges == 3
    assert len(await client.hgetall(_KEY)) == 40


async def test_one_failing_call_fails_alone(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    batch = ScriptBatch(client)
    results = await asyncio.gather(
        batch.call(script, [_KEY], ["a"]),
        batch.call(script, [_KEY], ["boom"]),
        batch.call(script, [_KEY], ["b"]),
        return_exceptions=True,
    )
    assert results[0] == b"a!" and results[2] == b"b!"
    assert isinstance(results[1], ResponseError) and "BOOM as asked" in str(results[1])
    assert await client.hgetall(_KEY) == {b"a": b"1", b"b": b"1"}


async def test_a_server_that_forgot_its_scripts_runs_each_call_once(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    batch = ScriptBatch(client)
    assert await batch.call(script, [_KEY], ["first"]) == b"first!"  # never loaded: NOSCRIPT, loaded, sent
    await client.script_flush()
    _Counting.exchanges = 0
    replies = await asyncio.gather(*(batch.call(script, [_KEY], [f"c{i}"]) for i in range(10)))
    assert replies == [f"c{i}!".encode() for i in range(10)]
    assert _Counting.exchanges == 3  # refused as a whole, the script loaded, all sent again
    assert await client.hgetall(_KEY) == {b"first": b"1", **{f"c{i}".encode(): b"1" for i in range(10)}}


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    batch = ScriptBatch(client)
    impatient = asyncio.ensure_future(batch.call(script, [_KEY], ["gone"]))
    others = [asyncio.ensure_future(batch.call(script, [_KEY], [f"c{i}"])) for i in range(5)]
    await asyncio.sleep(0)
    impatient.cancel()
    assert await asyncio.gather(*others) == [f"c{i}!".encode() for i in range(5)]
    assert impatient.cancelled()


async def test_calls_made_one_after_another_each_go_at_once(client: _Counting) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_load(_SCRIPT)
    _Counting.exchanges = 0
    batch = ScriptBatch(client)
    for i in range(3):
        assert await batch.call(script, [_KEY], [f"c{i}"]) == f"c{i}!".encode()
    assert _Counting.exchanges == 3


# Keeps the server busy for ARGV[1] turns of a loop (a script's clock stands still: TIME cannot
# time it), then answers ARGV[2].
_STALL = """
local x = 0
for i = 1, tonumber(ARGV[1]) do x = x + i end
return ARGV[2]
"""


async def test_replies_that_come_too_late_fail_their_callers_and_never_reach_later_ones(
    redis_server: EmbeddedRedis,
) -> None:
    """A read that times out gives up the connection with it: the replies still on their way
    cannot be read by the next exchange as its own. Each caller sees a timeout; later calls get
    their own replies. (No retry here: each try would keep the shared server busy once more.)"""
    client = aioredis.Redis(
        connection_pool=aioredis.ConnectionPool.from_url(
            redis_server.url, socket_timeout=0.02, retry=Retry(NoBackoff(), 0)
        ),
    )
    try:
        stall = client.register_script(_STALL)
        await client.script_load(_STALL)
        batch = ScriptBatch(client)
        # ~0.1-0.4 s of Lua, then one that takes no time: both in the same exchange, both late
        late = await asyncio.gather(
            batch.call(stall, [_KEY], ["20000000", "late"]),
            batch.call(stall, [_KEY], ["0", "after it"]),
            return_exceptions=True,
        )
        assert all(isinstance(r, RedisTimeoutError) for r in late), late
        patient = aioredis.Redis.from_url(redis_server.url, socket_timeout=5)
        assert await patient.ping()  # answered once the server is done with the late scripts
        await patient.aclose()
        on_time = await asyncio.gather(*(batch.call(stall, [_KEY], ["0", f"now{i}"]) for i in range(5)))
        assert on_time == [f"now{i}".encode() for i in range(5)]
        assert await batch.command("GET", _KEY + ":none") is None
    finally:
        await client.aclose()


async def test_a_server_that_cannot_be_reached_fails_every_caller() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    try:
        script = client.register_script(_SCRIPT)
        batch = ScriptBatch(client)
        results = await asyncio.gather(
            *(batch.call(script, [_KEY], [f"c{i}"]) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError) for r in results), results
    finally:
        await client.aclose()


async def test_the_bots_own_client_batches_too(redis_server: EmbeddedRedis) -> None:
    redis = await open_redis(redis_server.url)
    try:
        script = redis.register_script(_SCRIPT)
        batch = ScriptBatch(redis)
        replies = await asyncio.gather(*(batch.call(script, [_KEY], [f"o{i}"]) for i in range(20)))
        assert replies == [f"o{i}!".encode() for i in range(20)]
    finally:
        await redis.delete(_KEY)
        await redis.aclose()


async def test_many_calls_at_once_are_one_pipeline_and_an_error_is_raised_after_all_ran(
    client: _Counting,
) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_load(_SCRIPT)
    _Counting.exchanges = 0
    batch = ScriptBatch(client)
    assert await batch.call_many(script, [([_KEY], [f"m{i}"]) for i in range(10)]) == [
        f"m{i}!".encode() for i in range(10)
    ]
    assert _Counting.exchanges == 1
    with pytest.raises(ResponseError, match="BOOM"):
        await batch.call_many(script, [([_KEY], ["x"]), ([_KEY], ["boom"]), ([_KEY], ["y"])])
    counts = await client.hgetall(_KEY)
    assert counts[b"x"] == counts[b"y"] == b"1"  # the others ran all the same
    assert await batch.call_many(script, []) == []


async def test_plain_reads_made_together_share_one_pipeline_and_read_as_their_own_method_would(
    client: _Counting,
) -> None:
    await client.hset(_KEY, mapping={"a": "1", "b": "2"})
    _Counting.exchanges = 0
    batch = ScriptBatch(client)
    replies = await asyncio.gather(
        *(batch.command("HGETALL", _KEY) for _ in range(20)), batch.command("HGETALL", _KEY + ":none")
    )
    assert _Counting.exchanges == 1
    assert replies[:20] == [await client.hgetall(_KEY)] * 20 == [{b"a": b"1", b"b": b"2"}] * 20
    assert replies[20] == {}


async def test_reads_and_scripts_go_together_and_a_lost_script_cache_resends_only_the_scripts(
    client: _Counting,
) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_flush()
    batch = ScriptBatch(client)
    read, ran = await asyncio.gather(batch.command("HGET", _KEY, "r"), batch.call(script, [_KEY], ["r"]))
    assert (read, ran) == (None, b"r!")
    assert await client.hget(_KEY, "r") == b"1"  # the script ran once, after its reload
