"""BatchingRedis against a real Redis: commands made together go in one pipeline, each caller gets
its own reply (read as redis-py's own method reads it) or its own error, and a server that forgot its
scripts is reminded."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.local.embedded_redis import EmbeddedRedis, free_port
from bot.store.batch import BatchingRedis
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

    exchanges = 0

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        _CountingPool.exchanges += 1
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


def _counting(url: str, **kwargs: Any) -> BatchingRedis:
    return BatchingRedis(connection_pool=_CountingPool.from_url(url), **kwargs)


@pytest.fixture
async def client(redis_server: EmbeddedRedis) -> Any:
    redis = _counting(redis_server.url)
    await redis.delete(_KEY, _KEY + ":z", _KEY + ":list")
    _CountingPool.exchanges = 0
    yield redis
    await redis.aclose()


async def _loaded(client: BatchingRedis) -> Any:
    script = client.register_script(_SCRIPT)
    await client.script_load(_SCRIPT)
    _CountingPool.exchanges = 0
    return script


async def test_scripts_called_together_share_one_pipeline_and_get_their_own_replies(
    client: BatchingRedis,
) -> None:
    script = await _loaded(client)
    replies = await asyncio.gather(*(script(keys=[_KEY], args=[f"c{i}"]) for i in range(60)))
    assert replies == [f"c{i}!".encode() for i in range(60)]
    assert _CountingPool.exchanges == 1
    counts = await client.hgetall(_KEY)
    assert counts == {f"c{i}".encode(): b"1" for i in range(60)}


async def test_a_burst_larger_than_a_pipeline_is_split(redis_server: EmbeddedRedis) -> None:
    client = _counting(redis_server.url, most=16)
    try:
        await client.delete(_KEY)
        script = await _loaded(client)
        replies = await asyncio.gather(*(script(keys=[_KEY], args=[f"c{i}"]) for i in range(40)))
        assert replies == [f"c{i}!".encode() for i in range(40)]
        assert _CountingPool.exchanges == 3
        assert len(await client.hgetall(_KEY)) == 40
    finally:
        await client.aclose()


async def test_one_failing_command_fails_alone(client: BatchingRedis) -> None:
    script = client.register_script(_SCRIPT)
    await client.set(_KEY + ":list", "not a list")
    results = await asyncio.gather(
        script(keys=[_KEY], args=["a"]),
        script(keys=[_KEY], args=["boom"]),
        client.lpush(_KEY + ":list", "x"),  # WRONGTYPE
        script(keys=[_KEY], args=["b"]),
        return_exceptions=True,
    )
    assert results[0] == b"a!" and results[3] == b"b!"
    assert isinstance(results[1], ResponseError) and "BOOM as asked" in str(results[1])
    assert isinstance(results[2], ResponseError) and "WRONGTYPE" in str(results[2])
    assert await client.hgetall(_KEY) == {b"a": b"1", b"b": b"1"}


async def test_a_server_that_forgot_its_scripts_runs_each_call_once(client: BatchingRedis) -> None:
    script = client.register_script(_SCRIPT)
    assert await script(keys=[_KEY], args=["first"]) == b"first!"  # never loaded: NOSCRIPT, loaded, sent
    await client.script_flush()
    _CountingPool.exchanges = 0
    replies = await asyncio.gather(*(script(keys=[_KEY], args=[f"c{i}"]) for i in range(10)))
    assert replies == [f"c{i}!".encode() for i in range(10)]
    assert _CountingPool.exchanges == 3  # refused as a whole, the script loaded, all sent again
    assert await client.hgetall(_KEY) == {b"first": b"1", **{f"c{i}".encode(): b"1" for i in range(10)}}


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(client: BatchingRedis) -> None:
    script = client.register_script(_SCRIPT)
    impatient = asyncio.ensure_future(script(keys=[_KEY], args=["gone"]))
    others = [asyncio.ensure_future(script(keys=[_KEY], args=[f"c{i}"])) for i in range(5)]
    await asyncio.sleep(0)
    impatient.cancel()
    assert await asyncio.gather(*others) == [f"c{i}!".encode() for i in range(5)]
    assert impatient.cancelled()


async def test_commands_made_one_after_another_each_go_at_once(client: BatchingRedis) -> None:
    script = await _loaded(client)
    for i in range(3):
        assert await script(keys=[_KEY], args=[f"c{i}"]) == f"c{i}!".encode()
    assert _CountingPool.exchanges == 3


async def test_replies_are_read_as_each_commands_own_method_reads_them(
    client: BatchingRedis, redis_server: EmbeddedRedis
) -> None:
    """Mixed commands in one pipeline: each reply goes through its command's response callback with
    the options its method passed (``withscores``), exactly as when sent alone."""
    await client.hset(_KEY, mapping={"a": "1", "b": "2"})
    await client.zadd(_KEY + ":z", {"x": 1.5, "y": 2})
    _CountingPool.exchanges = 0
    together = await asyncio.gather(
        client.hgetall(_KEY),
        client.hgetall(_KEY + ":none"),
        client.zrange(_KEY + ":z", 0, -1, withscores=True),
        client.exists(_KEY, _KEY + ":none"),
        client.set(_KEY + ":s", "v", nx=True),
        client.set(_KEY + ":s", "w", nx=True),
        client.ping(),
        client.delete(_KEY + ":s"),
    )
    assert _CountingPool.exchanges == 1
    expected = [
        {b"a": b"1", b"b": b"2"},
        {},
        [(b"x", 1.5), (b"y", 2.0)],
        1,
        True,
        None,
        True,
        1,
    ]
    assert together == expected
    plain = aioredis.Redis.from_url(redis_server.url)
    try:
        await plain.set(_KEY + ":s", "v", nx=True)
        alone = [
            await plain.hgetall(_KEY),
            await plain.hgetall(_KEY + ":none"),
            await plain.zrange(_KEY + ":z", 0, -1, withscores=True),
            await plain.exists(_KEY, _KEY + ":none"),
        ]
        assert alone == expected[:4]  # what redis-py's own client makes of the same replies
    finally:
        await plain.delete(_KEY + ":s")
        await plain.aclose()


async def test_a_decoding_client_decodes_except_where_a_method_says_never(
    redis_server: EmbeddedRedis,
) -> None:
    client = BatchingRedis.from_url(redis_server.url, decode_responses=True)
    try:
        await client.set(_KEY + ":d", "hello")
        text, dumped = await asyncio.gather(client.get(_KEY + ":d"), client.dump(_KEY + ":d"))
        assert text == "hello"
        assert isinstance(dumped, bytes)  # DUMP asks for NEVER_DECODE: raw bytes, as redis-py gives
        assert await client.delete(_KEY + ":d") == 1
    finally:
        await client.aclose()


async def test_a_blocking_command_goes_alone_and_holds_nobody_back(client: BatchingRedis) -> None:
    waiting = asyncio.ensure_future(client.blpop([_KEY + ":list"], timeout=5))
    await asyncio.sleep(0)
    assert await client.ping()  # answered while BLPOP still waits on its own connection
    assert not waiting.done()
    await client.rpush(_KEY + ":list", "item")
    assert tuple(await waiting) == (_KEY.encode() + b":list", b"item")


async def test_pipelines_and_transactions_are_still_redis_pys_own(client: BatchingRedis) -> None:
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr(_KEY + ":n").incr(_KEY + ":n").get(_KEY + ":n")
        assert await pipe.execute() == [1, 2, b"2"]
    assert await client.getdel(_KEY + ":n") == b"2"


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
    client = BatchingRedis(
        connection_pool=aioredis.ConnectionPool.from_url(
            redis_server.url, socket_timeout=0.02, retry=Retry(NoBackoff(), 0)
        ),
    )
    try:
        stall = client.register_script(_STALL)
        await client.script_load(_STALL)
        # ~0.1-0.4 s of Lua, then one that takes no time: both in the same exchange, both late
        late = await asyncio.gather(
            stall(keys=[_KEY], args=["20000000", "late"]),
            stall(keys=[_KEY], args=["0", "after it"]),
            return_exceptions=True,
        )
        assert all(isinstance(r, RedisTimeoutError) for r in late), late
        patient = aioredis.Redis.from_url(redis_server.url, socket_timeout=5)
        assert await patient.ping()  # answered once the server is done with the late scripts
        await patient.aclose()
        on_time = await asyncio.gather(*(stall(keys=[_KEY], args=["0", f"now{i}"]) for i in range(5)))
        assert on_time == [f"now{i}".encode() for i in range(5)]
        assert await client.get(_KEY + ":none") is None
    finally:
        await client.aclose()


async def test_a_server_that_cannot_be_reached_fails_every_caller() -> None:
    client = BatchingRedis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    try:
        script = client.register_script(_SCRIPT)
        results = await asyncio.gather(
            *(script(keys=[_KEY], args=[f"c{i}"]) for i in range(3)),
            client.get(_KEY),
            return_exceptions=True,
        )
        assert all(isinstance(r, RedisConnectionError) for r in results), results
    finally:
        await client.aclose()


async def test_the_bots_own_client_batches(redis_server: EmbeddedRedis) -> None:
    redis = await open_redis(redis_server.url)
    try:
        assert isinstance(redis, BatchingRedis)
        script = redis.register_script(_SCRIPT)
        replies = await asyncio.gather(*(script(keys=[_KEY], args=[f"o{i}"]) for i in range(20)))
        assert replies == [f"o{i}!".encode() for i in range(20)]
    finally:
        await redis.delete(_KEY)
        await redis.aclose()


async def test_reads_and_scripts_go_together_and_a_lost_script_cache_resends_only_the_scripts(
    client: BatchingRedis,
) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_flush()
    read, ran = await asyncio.gather(client.hget(_KEY, "r"), script(keys=[_KEY], args=["r"]))
    assert (read, ran) == (None, b"r!")
    assert await client.hget(_KEY, "r") == b"1"  # the script ran once, after its reload


async def test_a_batch_that_fails_after_its_callers_gave_up_leaves_nothing_unretrieved() -> None:
    """The batch is sent from a task of its own; when it fails after every caller was cancelled,
    nothing is left for the loop to report ("Task exception was never retrieved")."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    # nothing listens there: the connect fails, after a short wait in the pool's connect
    client = BatchingRedis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    try:
        callers = [asyncio.ensure_future(client.get(_KEY)) for _ in range(3)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the batch is on its way
        for caller in callers:
            caller.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
        while client._sending:  # the batch's own task, to its end
            await asyncio.gather(*client._sending, return_exceptions=True)
        gc.collect()  # a task with an exception nobody read reports it when collected
        await asyncio.sleep(0)
        assert all(caller.cancelled() for caller in callers)
        assert reported == []
    finally:
        loop.set_exception_handler(handler)
        await client.aclose()


async def test_a_script_sent_in_a_pipeline_goes_redis_pys_own_way(client: BatchingRedis) -> None:
    script = client.register_script(_SCRIPT)
    await client.script_flush()  # the pipeline loads it itself before it runs
    async with client.pipeline(transaction=True) as pipe:
        await script(keys=[_KEY], args=["p"], client=pipe)
        pipe.hget(_KEY, "p")
        assert await pipe.execute() == [b"p!", b"1"]
