"""Fixtures for the Redis Cluster tests: real clusters, started once per test session.

Two layouts, each started at most once however many modules use it: 3 primaries, and 3 primaries
with one replica each. ``cluster`` runs a test on both; ``cluster_with_replicas`` on the second.
Tests may reshard, kill and revive nodes; ``cluster_redis`` first brings back any node a failed
test left dead, so the next test starts from a whole cluster.

Modules import these fixtures by name (a conftest would be their natural home).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.local.redis_cluster import LocalCluster, Node
from bot.store.connection import open_redis

BB_SLOT = 8620  # the slot of the hash tag {bb}, where every key of the bot lives
_running: dict[int, LocalCluster] = {}


def shared_cluster(config: pytest.Config, replicas: int) -> LocalCluster:
    if replicas not in _running:
        cluster = LocalCluster(primaries=3, replicas=replicas).start()
        config.add_cleanup(cluster.stop)
        _running[replicas] = cluster
    return _running[replicas]


def heal(cluster: LocalCluster) -> None:
    for node in cluster.nodes:
        if not node.alive:
            cluster.revive(node)


def other_primary(cluster: LocalCluster, than: Node | None = None) -> Node:
    """A primary that does not own the {bb} slot (or is not ``than``)."""
    avoid = than or cluster.owner(BB_SLOT)
    return next(node for node in cluster.primaries() if node is not avoid)


@pytest.fixture(scope="session", params=[0, 1], ids=["3-primaries", "3-primaries-3-replicas"])
def cluster(request: pytest.FixtureRequest) -> LocalCluster:
    return shared_cluster(request.config, request.param)


@pytest.fixture(scope="session")
def cluster_with_replicas(request: pytest.FixtureRequest) -> LocalCluster:
    return shared_cluster(request.config, 1)


async def _client(cluster: LocalCluster) -> AsyncIterator[aioredis.RedisCluster]:
    heal(cluster)
    # Seeded with a node that does NOT serve {bb}: the case that failed before.
    client = await open_redis(other_primary(cluster).url)
    assert isinstance(client, aioredis.RedisCluster)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def cluster_redis(cluster: LocalCluster) -> AsyncIterator[aioredis.RedisCluster]:
    async for client in _client(cluster):
        yield client


@pytest.fixture
async def replicated_redis(cluster_with_replicas: LocalCluster) -> AsyncIterator[aioredis.RedisCluster]:
    async for client in _client(cluster_with_replicas):
        yield client
