"""A real Redis Cluster on loopback, built from the embedded server binary: for tests and benchmarks.

:class:`LocalCluster` owns every process it starts. It lays out ``primaries`` shards (and 0 or 1
replica per shard) the way an operator does without ``redis-cli --cluster``: each node gets its own
directory, client port and bus port, a distinct config epoch, an even share of the 16384 slots
(``CLUSTER ADDSLOTSRANGE``), ``CLUSTER MEET`` to every other node and ``CLUSTER REPLICATE`` for
replicas; :meth:`LocalCluster.start` returns once every node says ``cluster_state:ok``, every
replica's link is up and all nodes agree on who owns which slot.

It can then do to a live cluster what operators and failures do: move a slot with its keys
(:meth:`LocalCluster.migrate_slot`: IMPORTING/MIGRATING/MIGRATE/SETSLOT NODE, or Valkey 9's atomic
``CLUSTER MIGRATESLOTS``), SIGKILL a node (:meth:`LocalCluster.kill`), promote its replica
(:meth:`LocalCluster.promote_replica`) and bring it back as a replica (:meth:`LocalCluster.revive`).
Control calls are synchronous (their own short-lived connections), so a test can run one in a
thread while its event loop keeps talking to the cluster.

Servers die with the process that started them (``PR_SET_PDEATHSIG`` on Linux), so a test run that
is SIGKILLed leaves no server behind; :meth:`LocalCluster.stop` ends them all in the normal case.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import redis

from bot.local.embedded_redis import EmbeddedRedisError
from bot.local.redis_cluster._node import HOST, SLOTS, Node, View

__all__ = ["SLOTS", "ClusterError", "LocalCluster", "Node", "View"]

_T = TypeVar("_T")


class ClusterError(EmbeddedRedisError):
    pass


class LocalCluster:
    """``primaries`` shards with ``replicas`` (0 or 1) replica each, on free loopback ports.

    ``node_timeout_ms`` is ``cluster-node-timeout``: generous by default so a busy machine never
    fails a node over by itself; tests promote replicas explicitly (see :meth:`promote_replica`).
    """

    def __init__(
        self,
        base_dir: Path | None = None,
        *,
        primaries: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 5000,
    ) -> None:
        if primaries < 1 or replicas not in (0, 1):
            raise ValueError("need at least one primary and 0 or 1 replica per primary")
        self._own_dir = base_dir is None
        self.base_dir = Path(tempfile.mkdtemp(prefix="redis-cluster-")) if base_dir is None else base_dir
        self.node_timeout_ms = node_timeout_ms
        count = primaries * (1 + replicas)
        self.nodes = [
            Node(i, self.base_dir / f"node-{i}", node_timeout_ms=node_timeout_ms) for i in range(count)
        ]
        self._shards = primaries
        self._successors: dict[str, Node] = {}  # id of a primary that died -> the replica that took over

    # --- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> LocalCluster:
        """Start every process, build the cluster, and wait until it is fully up and agreed."""
        try:
            for node in self.nodes:
                node.launch()
            deadline = time.monotonic() + timeout
            for node in self.nodes:
                self._until(deadline, f"{node} to answer", node.answers)
            self._assemble(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End every server (SIGTERM, then SIGKILL) and remove the cluster's own temporary directory."""
        for node in self.nodes:  # all at once: each takes a moment to shut down
            if node.process is not None and node.alive:
                node.process.terminate()
        for node in self.nodes:
            node.stop(timeout)
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _assemble(self, deadline: float) -> None:
        primaries, replicas = self.nodes[: self._shards], self.nodes[self._shards :]
        for epoch, node in enumerate(self.nodes, start=1):
            node.call("CLUSTER", "SET-CONFIG-EPOCH", epoch)  # distinct epochs: no collision to resolve
        for i, node in enumerate(primaries):
            first, last = i * SLOTS // self._shards, (i + 1) * SLOTS // self._shards - 1
            node.call("CLUSTER", "ADDSLOTSRANGE", first, last)
        # Every node meets every other itself: the PONG to each MEET carries the other's slots, so
        # nobody waits for heartbeats (one random peer a second) to learn who owns what.
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    node.call("CLUSTER", "MEET", HOST, other.port, other.bus_port)
        self._until(deadline, "every node to know every other", self._meshed)
        for replica, primary in zip(replicas, primaries, strict=False):
            replica.call("CLUSTER", "REPLICATE", primary.node_id)
        for replica in replicas:
            self._until(deadline, f"{replica} to sync", functools.partial(self._link_up, replica))
        self.wait_settled(deadline - time.monotonic())

    # --- what the cluster looks like ------------------------------------------------------------

    def live(self) -> list[Node]:
        return [node for node in self.nodes if node.alive]

    def view(self, node: Node | None = None) -> View:
        return View(str((node or self.live()[0]).call("CLUSTER", "NODES")))

    def by_id(self, node_id: str) -> Node:
        return next(node for node in self.nodes if node.node_id == node_id)

    def primaries(self) -> list[Node]:
        """Live nodes that own slots, by the first live node's view."""
        owners = {owner for _, _, owner in self.view().ranges}
        return [node for node in self.live() if node.node_id in owners]

    def replicas_of(self, primary: Node) -> list[Node]:
        view = self.view()
        return [n for n in self.live() if view.primary_of.get(n.node_id) == primary.node_id]

    def seed_urls(self) -> list[str]:
        """``redis://`` URLs of every live node: any one of them is enough to reach the cluster."""
        return [node.url for node in self.live()]

    def keyslot(self, key: str) -> int:
        """The slot of ``key``, as the server computes it (``{bb}…`` → 8620)."""
        return int(self.live()[0].call("CLUSTER", "KEYSLOT", key))

    def owner(self, slot_or_key: int | str) -> Node:
        """The primary that serves a slot (or a key's slot) now."""
        slot = slot_or_key if isinstance(slot_or_key, int) else self.keyslot(slot_or_key)
        owner = self.view().owner(slot)
        if owner is None:
            raise ClusterError(f"no node owns slot {slot}")
        return self.by_id(owner)

    def wait_settled(self, timeout: float = 10.0) -> None:
        """Until every live node says ``cluster_state:ok`` and all of them agree on slot ownership."""
        deadline = time.monotonic() + timeout
        self._until(deadline, "cluster_state:ok on every node", self._agreed)

    # --- what operators and failures do ---------------------------------------------------------

    def migrate_slot(
        self,
        slot: int,
        to: Node,
        *,
        batch: int = 100,
        between_batches: Callable[[], None] | None = None,
        atomic: bool = False,
        timeout: float = 30.0,
    ) -> int:
        """Move ``slot`` with its keys to primary ``to`` while clients keep using it; returns how many
        keys it held.

        By default key by key, as every Redis Cluster version can: IMPORTING/MIGRATING, then
        ``MIGRATE`` ``batch`` keys at a time (``between_batches`` runs before each, so a test can make
        the in-between state last), then ``SETSLOT NODE``. In between, a command whose keys are
        partly moved is refused with ``TRYAGAIN``. With ``atomic`` the server moves the whole slot
        itself (``CLUSTER MIGRATESLOTS``, Valkey 9+) and hands it over in one step.
        """
        source = self.owner(slot)
        if source is to:
            return 0
        count = int(source.call("CLUSTER", "COUNTKEYSINSLOT", slot))
        if atomic:
            source.call("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", slot, slot, "NODE", to.node_id)
            deadline = time.monotonic() + timeout
            self._until(deadline, f"slot {slot} to move to {to}", lambda: self._exported(source, slot))
            self.wait_settled(deadline - time.monotonic())
            return count
        to.call("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        source.call("CLUSTER", "SETSLOT", slot, "MIGRATING", to.node_id)
        while keys := source.call("CLUSTER", "GETKEYSINSLOT", slot, batch):
            if between_batches is not None:
                between_batches()
            source.call("MIGRATE", HOST, to.port, "", 0, 5000, "KEYS", *keys)
        # Target first (it stops importing and claims the slot), then the source, then the rest.
        # SETSLOT goes to primaries only; replicas learn the new owner from their primaries.
        for node in [to, source, *(p for p in self.primaries() if p not in (to, source))]:
            node.call("CLUSTER", "SETSLOT", slot, "NODE", to.node_id)
        self.wait_settled(timeout)
        return count

    @staticmethod
    def _exported(source: Node, slot: int) -> bool:
        """Whether the atomic migration of ``slot`` from ``source`` has finished (raises if it failed)."""
        jobs = [j for j in source.call("CLUSTER", "GETSLOTMIGRATIONS") if isinstance(j, dict)]
        mine = [
            j for j in jobs if j.get("operation") == "EXPORT" and j.get("slot_ranges") == f"{slot}-{slot}"
        ]
        if not mine:
            return False
        latest = max(mine, key=lambda j: int(j.get("create_time", 0)))
        if latest.get("state") in ("failed", "cancelled"):
            raise ClusterError(f"migration of slot {slot} {latest.get('state')}: {latest.get('message')}")
        return bool(latest.get("state") == "success")

    def sync_replicas(self, primary: Node, timeout: float = 10.0) -> None:
        """Until every replica of ``primary`` has everything it wrote so far. Replication is
        asynchronous: what a primary acknowledged but did not pass on yet dies with it."""
        with primary.client() as conn:
            offset = int(conn.info("replication")["master_repl_offset"])

        def caught_up() -> bool:
            for replica in self.replicas_of(primary):
                with replica.client() as conn:
                    if int(conn.info("replication")["slave_repl_offset"]) < offset:
                        return False
            return True

        self._until(time.monotonic() + timeout, f"the replicas of {primary} to catch up", caught_up)

    def kill(self, node: Node) -> None:
        """SIGKILL ``node``: no shutdown, no goodbye to its peers or clients."""
        node.kill()

    def promote_replica(self, of: Node, *, takeover: bool = True, timeout: float = 15.0) -> Node:
        """Make the replica of (dead) primary ``of`` the owner of its slots; returns the new primary.

        With ``takeover`` the replica is told ``CLUSTER FAILOVER TAKEOVER``: it bumps its epoch and
        claims the slots at once, as an operator would. Without it this waits for the automatic
        failover, which starts only after ``node_timeout_ms`` (so that peers mark the primary FAIL)
        plus a replica delay of 0.5–1 s: too slow and too timing-dependent on a busy test machine.
        """
        view = self.view()
        replica = next((n for n in self.live() if view.primary_of.get(n.node_id) == of.node_id), None)
        if replica is None:
            raise ClusterError(f"{of} has no live replica to promote")
        if takeover:
            replica.call("CLUSTER", "FAILOVER", "TAKEOVER")
        deadline = time.monotonic() + timeout
        slots = {(first, last) for first, last, owner in view.ranges if owner == of.node_id}

        def promoted() -> bool:
            return all(
                {(f, last) for f, last, owner in self.view(n).ranges if owner == replica.node_id} >= slots
                for n in self.live()
            )

        self._until(deadline, f"{replica} to take over from {of}", promoted)
        self._successors[of.node_id] = replica
        self.wait_settled(deadline - time.monotonic())
        return replica

    def revive(self, node: Node, timeout: float = 15.0) -> None:
        """Restart a killed node from its own files. A primary whose replica took over rejoins as that
        replica's replica, so the shard has its redundancy back; any other node rejoins as it was."""
        if node.alive:
            return
        node.launch()
        deadline = time.monotonic() + timeout
        self._until(deadline, f"{node} to answer", node.answers)
        if (successor := self._successors.pop(node.node_id, None)) is not None:
            self._until(deadline, f"{node} to follow {successor}", lambda: self._follows(node, successor))
            # Gossip takes a moment: until every node says so, "replicas of" depends on whom you ask.
            self._until(
                deadline,
                f"every node to see {node} follow {successor}",
                lambda: all(
                    self.view(other).primary_of.get(node.node_id) == successor.node_id
                    for other in self.live()
                ),
            )
        view = self.view(node)
        if node.node_id in view.primary_of:
            self._until(deadline, f"{node} to sync", functools.partial(self._link_up, node))
        self.wait_settled(deadline - time.monotonic())

    def _follows(self, node: Node, primary: Node) -> bool:
        if self.view(node).primary_of.get(node.node_id) == primary.node_id:
            return True
        node.call("CLUSTER", "REPLICATE", primary.node_id)  # it may first come back as an empty primary
        return False

    # --- helpers --------------------------------------------------------------------------------

    def _until(self, deadline: float, what: str, probe: Callable[[], _T | None]) -> _T:
        while True:
            try:
                if result := probe():
                    return result
            except (redis.RedisError, OSError):
                pass  # not up yet, or busy changing: look again
            for node in self.nodes:
                if node.process is not None and node.process.poll() is not None and node.node_id == "":
                    raise ClusterError(f"{node} exited at start:\n{node.log_tail()}")
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}\n{n.log_tail(600)}" for n in self.live())
                raise ClusterError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.02)

    def _views(self) -> Iterator[View]:
        for node in self.live():
            yield self.view(node)

    def _meshed(self) -> bool:
        handshaking = {"handshake", "noaddr"}
        return all(
            len(v.flags) == len(self.nodes) and not any(f & handshaking for f in v.flags.values())
            for v in self._views()
        )

    @staticmethod
    def _link_up(replica: Node) -> bool:
        with replica.client() as conn:
            info = conn.info("replication")
        return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")

    def _agreed(self) -> bool:
        live = self.live()
        if not all("cluster_state:ok" in str(n.call("CLUSTER", "INFO")) for n in live):
            return False
        views = list(self._views())
        agreed = all(v.ranges == views[0].ranges for v in views)
        return agreed and all(v.settled(len(self.nodes)) for v in views)
