"""Issue 15 §1 over the real processes: the web process and two workers on a Redis Cluster of three
primaries with a replica each, seeded with a node that does NOT serve the bot's ``{bb}`` slot (no
setting says "cluster": the bot finds out). Backups run end to end; the ``{bb}`` slot is resharded
key by key while backups are in flight, then its primary is SIGKILLed and the replica promoted; every
backup is made once and every final reply posted once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.domain.request import State
from bot.local.fake_slack import FakeSlack
from bot.local.redis_cluster import LocalCluster, Node
from bot.store.connection import open_redis
from tests.e2e.harness import (
    ANALYTICS_DEV,
    ORDERS_DEV,
    STAGING_A,
    STAGING_B,
    Deployment,
    eventually,
    final_replies,
    problems_in,
    wait_parent,
    wait_state,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

BB_SLOT = 8620  # CLUSTER KEYSLOT {bb}
INSTANCES = (ORDERS_DEV, ANALYTICS_DEV, STAGING_A, STAGING_B)


class Env:
    def __init__(
        self, cluster: LocalCluster, bot: Deployment, slack: FakeSlack, redis: aioredis.RedisCluster
    ):
        self.cluster, self.bot, self.slack, self.redis = cluster, bot, slack, redis

    async def backups_of(self, names: list[str]) -> dict[str, int]:
        made = [b["name"] for b in await self.bot.backups()]
        return {name: made.count(name) for name in names}

    async def run_round(self, tag: str, during: threading.Thread | None = None) -> None:
        """A backup of each instance, each in its own channel; ``during`` runs while they are in flight."""
        names = [f"{tag}-{i}" for i in range(len(INSTANCES))]
        channels = [f"C0CL{tag.upper()}{i}" for i in range(len(INSTANCES))]
        for instance, name, channel in zip(INSTANCES, names, channels, strict=True):
            response = await self.bot.command(
                f"create {instance} {name}", user_id="U0CLUS1", channel_id=channel
            )
            assert response.status_code == 200 and "cannot reach" not in response.text, response.text
        if during is not None:
            await asyncio.gather(*(wait_parent(self.slack, c) for c in channels))
            during.start()
            await asyncio.to_thread(during.join)
        await eventually(
            lambda: all(any(m["channel"] == c for m in final_replies(self.slack)) for c in channels) or None,
            what=f"a final reply in each of {channels}",
            within=60,
        )
        await asyncio.sleep(0.5)  # a duplicate would show by now
        for channel in channels:
            finals = [m for m in final_replies(self.slack) if m["channel"] == channel]
            assert len(finals) == 1 and "complete" in finals[0]["text"].lower(), finals
        assert await self.backups_of(names) == dict.fromkeys(names, 1)  # made once each


def _non_owner(cluster: LocalCluster) -> Node:
    owner = cluster.owner(BB_SLOT)
    return next(n for n in cluster.primaries() if n is not owner)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(primaries=3, replicas=1) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Env]:
    seed = _non_owner(cluster)
    log_dir: Path = tmp_path_factory.mktemp("cluster")
    failed_before = request.session.testsfailed
    async with FakeSlack() as slack:
        bot = Deployment(redis_url=seed.url, slack=slack, log_dir=log_dir)
        client = await open_redis(cluster.seed_urls()[0])
        assert isinstance(client, aioredis.RedisCluster)
        try:
            await bot.start(workers=2)
            yield Env(cluster, bot, slack, client)
        finally:
            bot.stop()
            await client.aclose()
            if request.session.testsfailed > failed_before:
                print(bot.logs())


async def test_seeded_with_a_node_that_does_not_serve_the_slot_the_bot_works(env: Env) -> None:
    assert env.cluster.owner(BB_SLOT).url != env.bot.env["REDIS_URL"]
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{env.bot.web_url}/healthz")
    assert health.status_code == 200 and json.loads(health.text) == {"ok": True}
    await env.run_round("seed")


async def test_a_reshard_while_backups_are_in_flight_loses_nothing_and_does_nothing_twice(env: Env) -> None:
    cluster = env.cluster
    target = _non_owner(cluster)

    def reshard() -> None:  # key by key, slowly: commands meet a slot split between two nodes
        cluster.migrate_slot(BB_SLOT, target, batch=5, between_batches=lambda: threading.Event().wait(0.05))

    await env.run_round("move", during=threading.Thread(target=reshard))
    assert cluster.owner(BB_SLOT) is target


async def test_the_primary_dies_and_its_replica_takes_over(env: Env) -> None:
    cluster = env.cluster
    owner = cluster.owner(BB_SLOT)

    def failover() -> None:
        cluster.sync_replicas(owner)  # replication is asynchronous: see the README
        cluster.kill(owner)
        threading.Event().wait(1.0)  # a moment without any node serving {bb}
        cluster.promote_replica(owner)

    await env.run_round("fail", during=threading.Thread(target=failover))
    assert cluster.owner(BB_SLOT) is not owner
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{env.bot.web_url}/healthz")).status_code == 200
    for proc in env.bot.processes:
        assert proc.proc is not None and proc.proc.poll() is None, f"{proc.name} died"
        assert not [p for p in problems_in(proc.log()) if "Traceback" in p], proc.log()[-3000:]
    request_ids = [k.decode() async for k in env.redis.scan_iter(match="{bb}:req:r-*")]
    for key in request_ids:
        await wait_state(env.redis, key.removeprefix("{bb}:req:"), State.COMPLETED)
