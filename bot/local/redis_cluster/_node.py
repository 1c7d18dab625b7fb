"""One server process of a :class:`bot.local.redis_cluster.LocalCluster`, and one node's view of the
cluster (``CLUSTER NODES`` parsed to what the harness needs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import redis

from bot.local.embedded_redis import (
    EmbeddedRedis,
    EmbeddedRedisError,
    find_server_binary,
    free_port,
    spawn_child,
)

SLOTS = 16384
HOST = "127.0.0.1"


class Node(EmbeddedRedis):
    """One cluster-enabled server process. ``node_id`` is its cluster ID (``CLUSTER MYID``)."""

    def __init__(self, index: int, data_dir: Path, *, node_timeout_ms: int = 5000) -> None:
        super().__init__(data_dir)
        self.index = index
        self.bus_port = free_port()  # own bus port: port + 10000 could be taken, or exceed 65535
        self.node_timeout_ms = node_timeout_ms
        self.node_id = ""

    @property
    def name(self) -> str:
        """``host:port``, as redis-py names cluster nodes."""
        return f"{HOST}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __repr__(self) -> str:
        return f"Node({self.index}, {self.name}, {self.node_id[:8] or '?'})"

    def start(self, timeout: float = 10.0) -> Node:
        """Start the process and wait until it answers with its cluster ID."""
        self.launch()
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedRedisError(f"{self} exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"{self} did not answer within {timeout}s")
            time.sleep(0.02)
        return self

    def answers(self) -> bool:
        """Whether the server is up; learns its ``node_id`` on the way."""
        try:
            self.node_id = str(self.call("CLUSTER", "MYID", timeout=0.5))
        except (redis.RedisError, OSError):
            return False
        return True

    def launch(self) -> None:
        """Start the process (returns at once: :meth:`answers` tells when it is up)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_server_binary(),
            "--bind", HOST,
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--dir", str(self.data_dir),
            "--logfile", str(self.data_dir / "server.log"),
            "--save", "",
            "--appendonly", "no",
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(self.bus_port),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A replica may take over however long its link was down, and never wanders to another shard.
            "--cluster-replica-validity-factor", "0",
            "--cluster-allow-replica-migration", "no",
            "--repl-diskless-sync-delay", "0",  # the default waits 5 s for more replicas to join a sync
        ]  # fmt: skip
        self.process = spawn_child(args)

    def client(self, timeout: float = 5.0) -> redis.Redis:
        """A fresh synchronous connection to this node alone (no cluster routing): close it after use."""
        return redis.Redis(
            host=HOST, port=self.port, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=1
        )

    def call(self, *args: Any, timeout: float = 5.0) -> Any:
        """One raw command on this node. Returned unparsed (no redis-py response callback)."""
        with self.client(timeout) as conn:
            return conn.execute_command(*args)

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class View:
    """One node's ``CLUSTER NODES``: who is primary, replica of whom, which slots, what is migrating."""

    def __init__(self, text: str) -> None:
        self.flags: dict[str, set[str]] = {}
        self.primary_of: dict[str, str] = {}  # replica id -> primary id
        self.ranges: list[tuple[int, int, str]] = []  # (first, last, owner id), sorted
        self.moving = False  # a slot is IMPORTING or MIGRATING somewhere
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 8:
                continue
            node_id, flags, primary = fields[0], set(fields[2].split(",")), fields[3]
            self.flags[node_id] = flags
            if primary != "-":
                self.primary_of[node_id] = primary
            for item in fields[8:]:
                if item.startswith("["):
                    self.moving = True
                    continue
                first, _, last = item.partition("-")
                self.ranges.append((int(first), int(last or first), node_id))
        self.ranges.sort()

    def owner(self, slot: int) -> str | None:
        return next((node for first, last, node in self.ranges if first <= slot <= last), None)

    def settled(self, node_count: int) -> bool:
        """Knows ``node_count`` nodes, none in handshake, no slot in flux, all slots covered once."""
        if len(self.flags) != node_count or self.moving:
            return False
        if any(f & {"handshake", "noaddr"} for f in self.flags.values()):
            return False
        return sum(last - first + 1 for first, last, _ in self.ranges) == SLOTS
