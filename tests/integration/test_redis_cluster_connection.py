"""open_redis(): single server or cluster told apart at start-up; bounded pools; the health probe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, MovedError, NoPermissionError, RedisClusterException

from bot.local.embedded_redis import EmbeddedRedis
from bot.local.redis_cluster import LocalCluster
from bot.store import keys
from bot.store.batch import BatchingRedis
from bot.store.connection import is_cluster, open_redis, probe, warm
from tests.integration.test_redis_cluster_fixtures import BB_SLOT, heal, other_primary

pytest_plugins = ["tests.integration.test_redis_cluster_fixtures"]  # the shared clusters


async def test_a_single_server_gets_the_bounded_plain_client(redis_server: EmbeddedRedis) -> None:
    assert not await is_cluster(redis_server.url)
    client = await open_redis(redis_server.url, max_connections=7)
    try:
        assert type(client) is BatchingRedis  # redis.asyncio.Redis, its commands sent together
        pool = client.connection_pool
        assert isinstance(pool, aioredis.BlockingConnectionPool)
        assert pool.max_connections == 7
        await probe(client)
    finally:
        await client.aclose()


async def test_warm_opens_connections_on_a_single_server(tmp_path: Path) -> None:
    # a server of its own: the shared one's clients come and go with other tests
    server = EmbeddedRedis(tmp_path)
    server.start()
    admin = aioredis.Redis.from_url(server.url)

    async def connections() -> int:
        return int((await admin.info("clients"))["connected_clients"])

    before = await connections()
    client = await open_redis(server.url)
    try:
        await warm(client, connections=6)
        assert await connections() - before >= 6
        assert await client.ping()  # the warmed connections serve commands
    finally:
        await client.aclose()
        await admin.aclose()
        server.stop()


async def test_any_node_of_the_cluster_is_a_good_seed(cluster: LocalCluster) -> None:
    heal(cluster)
    owner = cluster.owner(BB_SLOT)
    for seed in cluster.live():  # primaries that do not serve {bb}, its owner, and replicas
        assert await is_cluster(seed.url)
        client = await open_redis(seed.url)
        try:
            assert isinstance(client, aioredis.RedisCluster)
            await client.set(keys.tagged("seed"), seed.name)
            assert await client.get(keys.tagged("seed")) == seed.name.encode()
            await probe(client)
            assert client.get_node_from_key(keys.HASH_TAG).port == owner.port
        finally:
            await client.aclose()


async def test_the_probe_fails_where_ping_passes(cluster: LocalCluster) -> None:
    heal(cluster)
    plain = aioredis.Redis.from_url(other_primary(cluster).url)  # what the bot did before on a cluster
    try:
        assert await plain.ping()
        with pytest.raises(MovedError):
            await probe(plain)
    finally:
        await plain.aclose()


async def test_a_cluster_has_only_database_0(cluster: LocalCluster) -> None:
    with pytest.raises(RedisClusterException, match="db"):
        await open_redis(cluster.live()[0].url.replace("/0", "/1"))


async def test_callers_wait_for_a_free_connection_instead_of_failing(cluster: LocalCluster) -> None:
    heal(cluster)
    seed = cluster.live()[0]
    raw = aioredis.RedisCluster.from_url(seed.url, max_connections=4)  # redis-py on its own
    bounded = await open_redis(seed.url, max_connections=4)
    try:
        burst = [raw.incr(keys.tagged("raw")) for _ in range(100)]
        results = await asyncio.gather(*burst, return_exceptions=True)
        assert any(isinstance(r, MaxConnectionsError) for r in results)
        await asyncio.gather(*(bounded.incr(keys.tagged("bounded")) for _ in range(100)))
        assert await bounded.get(keys.tagged("bounded")) == b"100"
    finally:
        await raw.aclose()
        await bounded.aclose()


async def test_a_caller_gives_up_after_pool_timeout(cluster: LocalCluster) -> None:
    heal(cluster)
    client = await open_redis(cluster.live()[0].url, max_connections=1, pool_timeout=0.2)
    try:
        holder = asyncio.create_task(client.blpop([keys.tagged("never")], timeout=1))
        await asyncio.sleep(0)  # the holder takes the only turn before its first real wait
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.get(keys.tagged("x"))
        assert await holder is None
        assert await client.get(keys.tagged("x")) is None  # the turn is free again
    finally:
        await client.aclose()


async def test_warm_connects_to_the_node_that_serves_bb(cluster: LocalCluster) -> None:
    heal(cluster)
    owner = cluster.owner(BB_SLOT)

    def connections() -> int:
        return len(str(owner.call("CLIENT", "LIST")).splitlines()) - 1  # minus the asking connection

    before = connections()
    client = await open_redis(other_primary(cluster).url)
    try:
        await warm(client, connections=6)
        assert connections() - before >= 6
    finally:
        await client.aclose()


async def test_cluster_mode_is_told_apart_where_info_is_denied(
    redis_server: EmbeddedRedis, cluster: LocalCluster
) -> None:
    """Some managed services deny INFO to the application's user; CLUSTER INFO decides then."""
    for node, clustered in ((redis_server, False), (cluster.live()[0], True)):
        admin = aioredis.Redis.from_url(node.url)
        await admin.acl_setuser(
            "no-info", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-info"]
        )
        try:
            url = node.url.replace("redis://", "redis://no-info:pw@")
            limited = aioredis.Redis.from_url(url)
            with pytest.raises(NoPermissionError):
                await limited.info("cluster")
            await limited.aclose()
            assert await is_cluster(url) is clustered
        finally:
            await admin.acl_deluser("no-info")
            await admin.aclose()
