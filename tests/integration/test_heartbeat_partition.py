"""A worker whose heartbeat cannot reach Redis stops its handler before its lease can end, so the
worker that takes the work over is the only one doing it; a short blip the lease outlasts changes
nothing. Real Redis, reached by one worker through a TCP proxy that can be cut (bytes stop flowing
both ways, as in a network partition)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from bot.store.connection import open_redis
from bot.store.outcome import Outcome
from bot.store.scheduler import Lease, Scheduler
from bot.worker.runner import Handler, Runner

LEASE = 1.0


class Cuttable:
    """A TCP proxy to Redis; while it is cut nothing passes (it is held, not dropped)."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    def cut(self, cut: bool) -> None:
        if cut:
            self._flowing.clear()
        else:
            self._flowing.set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        for pipe in (self._pipe(reader, up_writer), self._pipe(up_reader, writer)):
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def close(self) -> None:
        for task in list(self._pipes):
            task.cancel()
        if self._server is not None:
            self._server.close()


async def _two_workers(redis: aioredis.Redis, redis_url: str, *, cut_for: float) -> list[str]:
    """Worker A (through the proxy) starts a 3 s side effect that needs no Redis; the proxy is cut
    for ``cut_for`` seconds; worker B (direct) runs meanwhile. Which side effects happened."""
    proxy = Cuttable(redis_url)
    a_redis = await open_redis(await proxy.start(), socket_timeout=0.3, pool_timeout=0.3, connect_timeout=0.3)
    done: list[str] = []
    started = asyncio.Event()

    def handler(who: str) -> Handler:
        async def side_effect(lease: Lease) -> Outcome:
            started.set()
            await asyncio.sleep(3 * LEASE)  # a cloud call or a Slack post: no Redis needed
            done.append(f"{who} attempt {lease.attempt}")
            return Outcome.finished()

        return side_effect

    await Scheduler(redis).schedule("create:r-partition", {})
    a = Runner(Scheduler(a_redis), {"create": handler("A")}, lease_seconds=LEASE, heartbeat=True)
    a_run = asyncio.create_task(a.run_once())
    await asyncio.wait_for(started.wait(), 5)
    proxy.cut(True)
    b = Runner(Scheduler(redis), {"create": handler("B")}, lease_seconds=LEASE, heartbeat=True)
    stop = asyncio.Event()
    b_runs = asyncio.create_task(b.run_forever(stop))
    await asyncio.sleep(cut_for)
    proxy.cut(False)
    await asyncio.wait_for(a_run, 10)
    for _ in range(100):  # B's own side effect, if it took the work, takes 3 leases
        if len(done) >= 1 and not await Scheduler(redis).pending():
            break
        await asyncio.sleep(0.1)
    stop.set()
    await b_runs
    await a_redis.aclose()
    await proxy.close()
    return done


async def test_a_worker_cut_off_from_redis_stops_before_its_lease_can_end(
    redis: aioredis.Redis, redis_url: str
) -> None:
    done = await _two_workers(redis, redis_url, cut_for=4 * LEASE)
    assert done == ["B attempt 2"], done


async def test_a_blip_shorter_than_the_lease_changes_nothing(redis: aioredis.Redis, redis_url: str) -> None:
    done = await _two_workers(redis, redis_url, cut_for=0.4 * LEASE)
    assert done == ["A attempt 1"], done
