"""The one way the bot connects to Redis: a single server, or Redis Cluster, told apart at start-up.

``REDIS_URL`` may name a plain server or any node of a cluster (``INFO cluster`` says
``cluster_enabled:1``); no other setting is needed. On a cluster the client learns the topology from
that node and follows ``MOVED``/``ASK`` redirections itself, so the bot's ``{bb}`` keys are reached
wherever their slot lives now: after a reshard, after a failover.

Both clients are bounded the same way: at most ``max_connections`` exchanges with the server in
flight per process, and one beyond that waits up to ``pool_timeout`` seconds for a turn, then gets
``redis.exceptions.ConnectionError``. redis-py gives a single server that through
``BlockingConnectionPool``; its cluster client raises ``MaxConnectionsError`` at once instead of
waiting, so :class:`BoundedRedisCluster` adds the wait. On a single server an exchange is one
pipeline of the commands made together (:class:`~bot.store.batch.BatchingRedis`); on a cluster it
is one command.

:func:`probe` is what ``/healthz`` should call: a write and a read of a ``{bb}`` key, bounded in time.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import secrets
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

from bot.store import keys
from bot.store.batch import BatchingRedis
from bot.store.codec import as_text

RedisClient: TypeAlias = aioredis.Redis | aioredis.RedisCluster

# redis-py 8.2 spaces the slot-map refreshes that errors ask for by at least a second (its default),
# so after a failover every command kept failing for up to a second past the replica's promotion,
# longer than a command's own retries wait (tests/integration/test_redis_cluster_failover.py failed).
# 0 keeps what older redis-py do, and what the bot was built and tested on: each retry after a
# connection error refreshes the map first. Older redis-py take no such argument.
_REFRESH_OPTIONS: dict[str, Any] = (
    {"topology_refresh_min_interval": 0.0}
    if "topology_refresh_min_interval" in inspect.signature(aioredis.RedisCluster.__init__).parameters
    else {}
)

# A command sent on behalf of one already holding a turn (a pipeline re-sending a redirected
# command, a script loading itself after NOSCRIPT) must not wait for a second turn: with every turn
# taken, it would wait for itself.
_holding_turn: contextvars.ContextVar[bool] = contextvars.ContextVar("holding_turn", default=False)


class _HiredisPacking:
    """Two costs of redis-py's asyncio connections taken off every command the bot sends.

    Packing: by hiredis (C) instead of redis-py's Python loop: the same bytes, about ten times less
    CPU (a 50-argument script call: ~40 µs → ~4 µs). redis-py does this for its sync client only;
    this is the same rule (the command name split on spaces, buffers made bytes, a value of the
    wrong type a ``DataError``) for the asyncio connections the bot uses.

    Writing: redis-py bounds each write with ``asyncio.wait_for``, which on Python 3.11 runs the
    write as a task of its own (two more turns of the event loop per command; the CPU it costs did
    not show beyond noise). ``asyncio.timeout`` bounds it the same way without a task. The same
    errors as redis-py's: ``TimeoutError`` or ``ConnectionError``, the connection closed after any
    failed write. A connection's first write (it connects first) is still redis-py's own.

    The reason it is kept: without that task there is no orphan. When a caller's own deadline
    cancelled a write whose connection the cluster client had just closed (a primary failing over),
    the task's ``AttributeError`` was logged as "Task exception was never retrieved". A write on a
    connection closed under it is now a ``ConnectionError``, which the cluster client retries."""

    async def _send_packed_command(self, command: Any) -> None:
        writer = self._writer  # type: ignore[attr-defined]
        if writer is None:
            raise RedisConnectionError("the connection was closed while a command was being sent")
        writer.writelines(command)
        await writer.drain()

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        timeout = self.socket_timeout  # type: ignore[attr-defined]
        if not timeout or not self.is_connected:  # type: ignore[attr-defined]
            # no bound to keep, or the first use of the connection: redis-py's own way
            await super().send_packed_command(command, check_health)  # type: ignore[misc]
            return
        if check_health:
            await self.check_health()  # type: ignore[attr-defined]
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            async with asyncio.timeout(timeout):
                await self._send_packed_command(command)
        except TimeoutError:
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise RedisConnectionError(f"Error while writing to socket: {exc}") from exc
        except BaseException:
            # a write cut short (cancelled) leaves the stream in an unknown state, as redis-py says
            await self.disconnect(nowait=True)  # type: ignore[attr-defined]
            raise

    def pack_command(self, *args: Any) -> list[bytes]:
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:
            pass  # a buffer hiredis does not take (bytearray), or a value nobody takes
        packed: Any = tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a for a in args)
        try:
            return [hiredis.pack_command(packed)]
        except TypeError as exc:
            raise DataError(str(exc)) from None


_PACKED: dict[type[Any], type[Any]] = {}


def fast_packing(connection_class: type[Any]) -> type[Any]:
    """``connection_class`` (plain, TLS or Unix socket) with hiredis packing; one class per kind."""
    if issubclass(connection_class, _HiredisPacking):
        return connection_class
    if connection_class not in _PACKED:
        name = f"Packed{connection_class.__name__}"
        _PACKED[connection_class] = type(name, (_HiredisPacking, connection_class), {})
    return _PACKED[connection_class]


class _Turns:
    """At most ``size`` callers at once; the rest wait up to ``timeout`` seconds."""

    def __init__(self, size: int, timeout: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._timeout = timeout

    async def run(self, call: Any) -> Any:
        if _holding_turn.get():
            return await call()
        try:
            async with asyncio.timeout(self._timeout):
                await self._semaphore.acquire()
        except TimeoutError:
            raise RedisConnectionError("No connection available.") from None  # as BlockingConnectionPool says
        token = _holding_turn.set(True)
        try:
            return await call()
        finally:
            _holding_turn.reset(token)
            self._semaphore.release()


class BoundedRedisCluster(aioredis.RedisCluster):
    """``RedisCluster`` whose callers wait for a free connection instead of failing at once."""

    def __init__(self, *args: Any, pool_timeout: float = 2.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every node, known now or found later, makes its connections from these kwargs.
        packed = fast_packing(self.connection_kwargs["connection_class"])
        self.connection_kwargs["connection_class"] = packed
        for node in self.startup_nodes:
            node.connection_class = packed
        # Each node allows max_connections; a little headroom covers the client's own topology
        # queries (CLUSTER SLOTS) made while every turn is taken.
        self._turns = _Turns(max(1, self.connection_kwargs["max_connections"] - 4), pool_timeout)

    async def execute_command(self, *args: EncodableT, **kwargs: Any) -> Any:
        command = super().execute_command
        return await self._turns.run(lambda: command(*args, **kwargs))

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises, as redis-py does
        return _BoundedPipeline(self, transaction)  # type: ignore[abstract]  # as redis-py builds its own


class _BoundedPipeline(ClusterPipeline):
    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        client = self.cluster_client
        assert isinstance(client, BoundedRedisCluster)
        run = super().execute
        result: list[Any] = await client._turns.run(lambda: run(raise_on_error, allow_redirections))
        return result


async def is_cluster(url: str, *, connect_timeout: float = 2.0) -> bool:
    """Whether the server at ``url`` runs in cluster mode (``INFO cluster`` → ``cluster_enabled:1``).

    Where ``INFO`` is not allowed (renamed or denied by an ACL, as some managed services do),
    ``CLUSTER INFO`` decides: only a cluster node answers it.
    """
    # INFO is about the whole server: ask on database 0, which every server has (a cluster node
    # refuses SELECT of any other, and the question would go unanswered).
    probe_client = aioredis.Redis.from_url(
        urlsplit(url)._replace(path="").geturl(),
        socket_connect_timeout=connect_timeout,
        socket_timeout=connect_timeout,
        single_connection_client=True,
    )
    try:
        try:
            info = await probe_client.info("cluster")
        except ResponseError:
            try:
                await probe_client.cluster("INFO")
            except ResponseError:
                return False
            return True
        return str(info.get("cluster_enabled", 0)) == "1"
    finally:
        await probe_client.aclose()


async def open_redis(
    url: str,
    *,
    max_connections: int = 64,
    pool_timeout: float = 2.0,
    connect_timeout: float = 2.0,
    socket_timeout: float = 5.0,
    cluster_retries: int = 3,
) -> RedisClient:
    """A client for ``url``: ``RedisCluster`` seeded from it when it is a cluster node, else a
    :class:`~bot.store.batch.BatchingRedis` on a bounded ``BlockingConnectionPool``. Fails here,
    not on first use, when the server cannot be reached.

    ``cluster_retries``: how often one cluster command is retried after a connection error or
    ``CLUSTERDOWN`` (refreshing the slot map each time) before the caller sees the error; a failover
    takes longer than that, and the caller's own retry (the scheduler's runner) covers the rest.
    """
    if not await is_cluster(url, connect_timeout=connect_timeout):
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout,
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
        )
        pool.connection_class = fast_packing(pool.connection_class)
        return BatchingRedis(connection_pool=pool, decode_responses=False)
    cluster = BoundedRedisCluster.from_url(
        url,
        pool_timeout=pool_timeout,
        max_connections=max_connections + 4,
        socket_connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        decode_responses=False,
        # Only the {bb} slot matters to the bot: a shard that lost all its nodes elsewhere must not
        # stop the client from starting.
        require_full_coverage=False,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), cluster_retries),
        **_REFRESH_OPTIONS,
    )
    try:
        await cluster.initialize()
    except BaseException:
        await cluster.aclose()
        raise
    return cluster


async def warm(redis: RedisClient, connections: int = 8) -> None:
    """Open a few connections now (a cold pool costs a connect per request in a burst). On a cluster
    they go to the node that serves the ``{bb}`` slot: every command of the bot goes there."""
    if isinstance(redis, aioredis.RedisCluster):
        await asyncio.gather(*(redis.exists(keys.tagged("warm")) for _ in range(connections)))
        return
    # Commands made together share one connection here (BatchingRedis): take them from the pool.
    pool = redis.connection_pool
    taken = [await pool.get_connection() for _ in range(connections)]  # type: ignore[no-untyped-call]
    for connection in taken:
        await pool.release(connection)


async def probe(redis: RedisClient, *, within: float = 0.8) -> None:
    """Write, read back and delete a ``{bb}`` key within ``within`` seconds, or raise.

    ``PING`` proves little: on a single server it passes while writes fail (a read-only replica, a
    full disk), and on a cluster redis-py sends it to every node, so it fails when an unrelated node
    is down and passes when the ``{bb}`` slot is unreachable. The key is unique per call (no two
    probes race) and expires on its own if the delete never happens.
    """
    key = keys.tagged("health", secrets.token_hex(8))
    token = secrets.token_hex(8)
    async with asyncio.timeout(within):
        await redis.set(key, token, ex=30)
        back = await redis.getdel(key)
    if back is None or as_text(back) != token:
        raise RedisConnectionError(f"health probe read back {back!r} instead of what it wrote")
