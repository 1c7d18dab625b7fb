"""open_redis() packs commands with hiredis: the same bytes redis-py would send, the same errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError

from bot.local.embedded_redis import EmbeddedRedis
from bot.local.redis_cluster import LocalCluster
from bot.store import keys
from bot.store.connection import fast_packing, open_redis

pytest_plugins = ["tests.integration.test_redis_cluster_fixtures"]  # the shared clusters

_PLAIN = Connection()
_PACKED = fast_packing(Connection)()
_VALUES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
)


@given(
    name=st.sampled_from(["SET", "EVALSHA", "CONFIG GET", b"HSET", b"CLIENT SETNAME"]), args=st.lists(_VALUES)
)
def test_the_bytes_are_those_redis_py_packs(name: str | bytes, args: list[object]) -> None:
    assert b"".join(_PACKED.pack_command(name, *args)) == b"".join(_PLAIN.pack_command(name, *args))


def test_buffers_are_sent_as_their_bytes() -> None:
    packed = b"".join(_PACKED.pack_command("SET", bytearray(b"k"), memoryview(b"v")))
    assert packed == b"".join(_PLAIN.pack_command("SET", b"k", b"v"))


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}])
def test_a_value_of_the_wrong_type_is_a_data_error(value: object) -> None:
    with pytest.raises(DataError):
        _PLAIN.pack_command("SET", "k", value)
    with pytest.raises(DataError):
        _PACKED.pack_command("SET", "k", value)


async def test_the_single_server_client_packs_with_hiredis(redis_server: EmbeddedRedis) -> None:
    client = await open_redis(redis_server.url)
    try:
        assert isinstance(client, aioredis.Redis)
        assert client.connection_pool.connection_class is fast_packing(Connection)
        key = keys.tagged("packing")
        await client.hset(key, mapping={"text": "héllo ✓", "n": 7, "x": 0.1})
        assert await client.hgetall(key) == {b"text": "héllo ✓".encode(), b"n": b"7", b"x": b"0.1"}
        with pytest.raises(DataError):
            await client.set(key, None)  # type: ignore[arg-type]
        await client.delete(key)
    finally:
        await client.aclose()


async def test_the_cluster_client_packs_with_hiredis(cluster: LocalCluster) -> None:
    client = await open_redis(cluster.live()[0].url)
    try:
        assert isinstance(client, aioredis.RedisCluster)
        node = client.get_node_from_key(keys.HASH_TAG)
        assert node.connection_class is fast_packing(Connection)
        await client.set(keys.tagged("packing"), "héllo ✓")
        assert await client.getdel(keys.tagged("packing")) == "héllo ✓".encode()
    finally:
        await client.aclose()


async def test_a_write_runs_in_its_callers_task_so_a_cancelled_caller_leaves_no_orphan(
    redis_server: EmbeddedRedis,
) -> None:
    """redis-py bounds each write with ``asyncio.wait_for``, a task of its own per command; one that
    failed after its caller was cancelled was logged as "Task exception was never retrieved". The
    bot's connections bound the write in the caller's own task instead. (Asked here through redis-py's
    own client on the bot's pool: the bot's batching client sends from one task per batch, whose
    failures always reach their callers, tested in test_batching_client.py.)"""
    bots = await open_redis(redis_server.url)
    assert isinstance(bots, aioredis.Redis)
    client = aioredis.Redis(connection_pool=bots.connection_pool)
    loop = asyncio.get_running_loop()
    made: list[object] = []
    factory = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    try:
        assert await client.ping()  # the connection's first write (it connects first)
        loop.set_task_factory(counting)
        for _ in range(20):
            assert await client.set(keys.tagged("test:write"), "x")
        assert made == []
    finally:
        loop.set_task_factory(factory)
        await client.delete(keys.tagged("test:write"))
        await client.aclose()


async def test_a_write_on_a_connection_closed_under_it_is_a_connection_error() -> None:
    """What a write meets when the cluster client closed its connection meanwhile (a failover)."""
    connection = fast_packing(Connection)()
    with pytest.raises(RedisConnectionError):
        await connection._send_packed_command([b"*1\r\n$4\r\nPING\r\n"])
