"""The local cluster harness itself: layout, slot ownership, resharding, failover, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import MovedError

from bot.local.redis_cluster import LocalCluster
from bot.store import keys
from tests.integration.test_redis_cluster_fixtures import BB_SLOT, heal, other_primary

pytest_plugins = ["tests.integration.test_redis_cluster_fixtures"]  # the shared clusters


def test_every_key_of_the_bot_lands_in_the_bb_slot(cluster: LocalCluster) -> None:
    for key in (keys.tagged("x"), keys.request("r-1"), keys.scheduler_due("work"), keys.METRICS):
        assert cluster.keyslot(key) == BB_SLOT


def test_every_node_agrees_who_serves_each_slot(cluster: LocalCluster) -> None:
    heal(cluster)
    owner = cluster.owner(BB_SLOT)
    assert len(cluster.primaries()) == 3
    for node in cluster.live():
        view = cluster.view(node)
        assert view.owner(BB_SLOT) == owner.node_id
        assert view.ranges == cluster.view().ranges
    replicas = len(cluster.nodes) // 3 - 1
    assert all(len(cluster.replicas_of(p)) == replicas for p in cluster.primaries())


async def test_a_plain_client_on_another_node_answers_ping_but_is_moved_away(cluster: LocalCluster) -> None:
    """The failure of issue 15: PING works anywhere, every {bb} command is MOVED elsewhere."""
    heal(cluster)
    plain = aioredis.Redis.from_url(other_primary(cluster).url)
    try:
        assert await plain.ping()
        with pytest.raises(MovedError) as moved:
            await plain.get(keys.tagged("x"))
        assert moved.value.slot_id == BB_SLOT
        assert moved.value.port == cluster.owner(BB_SLOT).port
    finally:
        await plain.aclose()


@pytest.mark.parametrize("atomic", [False, True], ids=["key-by-key", "atomic"])
def test_migrating_a_slot_moves_every_key_to_the_new_owner(cluster: LocalCluster, atomic: bool) -> None:
    heal(cluster)
    source = cluster.owner(BB_SLOT)
    target = other_primary(cluster)
    with source.client() as conn:
        conn.flushall()
        conn.mset({keys.tagged("m", str(i)): str(i) for i in range(250)})
    assert cluster.migrate_slot(BB_SLOT, target, batch=40, atomic=atomic) == 250
    assert cluster.owner(BB_SLOT) is target
    assert int(source.call("CLUSTER", "COUNTKEYSINSLOT", BB_SLOT)) == 0
    assert int(target.call("CLUSTER", "COUNTKEYSINSLOT", BB_SLOT)) == 250
    with target.client() as conn:
        assert conn.get(keys.tagged("m", "249")) == "249"


def test_killing_a_primary_promotes_its_replica(cluster_with_replicas: LocalCluster) -> None:
    cluster = cluster_with_replicas
    heal(cluster)
    owner = cluster.owner(BB_SLOT)
    [replica] = cluster.replicas_of(owner)
    owner.call("SET", keys.tagged("failover"), "kept")
    cluster.sync_replicas(owner)
    cluster.kill(owner)
    try:
        assert cluster.promote_replica(owner) is replica
        assert cluster.owner(BB_SLOT) is replica
        assert replica.call("GET", keys.tagged("failover")) == "kept"
    finally:
        cluster.revive(owner)
    assert cluster.replicas_of(replica) == [owner]  # the shard has its redundancy back


_CHILD = """
import sys, time
from pathlib import Path
from bot.local.redis_cluster import Node
node = Node(0, Path(sys.argv[1]))
node.launch()
print(node.process.pid, flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie whose new parent has not reaped it yet is dead too


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_a_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "node")], stdout=subprocess.PIPE, cwd=os.getcwd()
    )
    assert child.stdout is not None
    server = int(child.stdout.readline())
    assert not _gone(server)
    child.send_signal(signal.SIGKILL)  # no cleanup code of the child runs
    child.wait()
    deadline = time.monotonic() + 10
    while not _gone(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(server):
        os.kill(server, signal.SIGKILL)
        pytest.fail(f"server {server} outlived the process that started it")
