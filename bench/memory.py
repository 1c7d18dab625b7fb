"""Memory: Redis bytes per tracked request, and the worker's resident memory with 1,000 backups in flight.

What is measured:

- **Redis**: 1,000 requests recorded exactly as the bot leaves them while their backups build — the
  request hash written by the web path's ``RequestStore.create`` (with its Slack de-duplication key), the
  fields the worker adds, the backup-ID index and the entry in the project's in-flight set
  (``RequestStore.track``). Reported two ways: ``INFO memory`` ``used_memory`` before/after ÷ 1,000 (what
  the server really spends, allocator overhead included), and ``MEMORY USAGE`` of each key (exact for the
  hashes and strings; the in-flight sorted set is divided by its size). Field values are realistic (a
  Slack ``response_url``, a description, IDs of real length), since Redis switches a hash from its
  compact encoding to a hash table once a value passes 64 bytes.
- **worker RSS**: ``VmRSS`` and ``VmHWM`` from ``/proc/<pid>/status`` of a real ``python -m bot worker``
  process — once idle with nothing in flight, once with the 1,000 backups in flight after a few poll ticks
  (each tick loads every request, lists every backup and reads a few jobs).

Why it is fair: the keys are written by the bot's own store code, not by hand; the backups exist in the
simulator (created through the bot's TaurusDB client), so the worker's ticks do their full work; the
worker is measured as its own process with nothing else in it.

Run: ``python bench/memory.py`` (under a minute), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BOT_TOKEN,
    PROJECT_ID,
    Child,
    add_instances,
    bot_child,
    child_env,
    is_tick_start,
    machine_header,
    on_simulator_call,
    private_redis,
    proc_status,
    redis_clients,
    scrub_environment,
    start_backups_in_flight,
    table,
    wait_worker_ready,
)


async def _used_memory(redis: Any) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def _usage(redis: Any, key: str) -> int:
    return int(await redis.memory_usage(key, samples=0) or 0)


async def measure_worker(
    label: str, env: dict[str, str], redis_url: str, log_dir: Path, settle: Any
) -> dict[str, Any]:
    before = await redis_clients(redis_url)
    worker: Child = bot_child(f"worker-{label}", "worker", env=env, log_dir=log_dir)
    try:
        await wait_worker_ready(redis_url, worker, before)
        detail = await settle()
        if not worker.alive():
            raise RuntimeError(f"{worker.name} exited during the measurement:\n{worker.tail()}")
        status = proc_status(worker.pid)
    finally:
        await worker.stop()
    return {"label": label, **status, **detail}


async def run(args: argparse.Namespace) -> None:
    import redis.asyncio as aioredis

    from bot.app.work import PollProject
    from bot.cloud.factory import build_taurusdb
    from bot.config import load_settings
    from bot.local.fake_slack import FakeSlack
    from bot.local.simulator import SimulatorConfig, start_simulator
    from bot.local.simulator.traffic import TRAFFIC
    from bot.slack.client import build_web_client
    from bot.store import keys
    from bot.store.codec import as_text
    from bot.store.pacing import Pacing
    from bot.store.requests import RequestStore
    from bot.store.scheduler import Scheduler

    scrub_environment()
    n = args.count
    with private_redis() as redis_url, tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        admin = aioredis.Redis.from_url(redis_url)
        sim = await start_simulator(SimulatorConfig(project_id=PROJECT_ID, backup_seconds=3600))
        fake = await FakeSlack().start()
        setup_http = None
        try:
            instances = add_instances(sim.state, n)
            settings = load_settings(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_API_URL=fake.url,
                REDIS_URL=redis_url,
                TAURUSDB_ENDPOINT=sim.url,
                HUAWEICLOUD_SDK_PROJECT_ID=PROJECT_ID,
            )
            env = child_env(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_API_URL=fake.url,
                REDIS_URL=redis_url,
                TAURUSDB_ENDPOINT=sim.url,
                HUAWEICLOUD_SDK_PROJECT_ID=PROJECT_ID,
                BACKUP_POLL_INTERVAL=str(args.interval),
                LOG_LEVEL="WARNING",
            )

            # 1. the worker with nothing to do
            async def idle() -> dict[str, Any]:
                await asyncio.sleep(args.idle_seconds)
                return {"ticks": 0}

            idle_worker = await measure_worker("idle", env, redis_url, Path(tmp), idle)

            # 2. Redis: 1,000 requests in flight
            await admin.flushall()
            # Open the connections the set-up will use first: each client costs Redis some memory too.
            await asyncio.gather(*(admin.ping() for _ in range(32)))
            base = await _used_memory(admin)
            setup_cloud, setup_http = build_taurusdb(settings, endpoint_override=sim.url)
            tracked = await start_backups_in_flight(
                cloud=setup_cloud,
                slack=build_web_client(settings, Pacing(admin)),
                store=RequestStore(admin),
                project_id=PROJECT_ID,
                instances=instances,
                tag="mem",
            )
            used = await _used_memory(admin) - base
            hashes = [await _usage(admin, keys.request(t.request_id)) for t in tracked]
            index = [await _usage(admin, keys.backup_index(t.backup_id)) for t in tracked]
            dedupe_keys = [k async for k in admin.scan_iter(match=keys.dedupe("*"), count=1000)]
            dedupe = [await _usage(admin, k) for k in dedupe_keys]
            zset = await _usage(admin, keys.in_flight(PROJECT_ID))
            audit_lists = [await _usage(admin, keys.audit_request(t.request_id)) for t in tracked]
            stream = await _usage(admin, keys.audit_stream())
            sample = keys.request(tracked[0].request_id)
            encoding = as_text(await admin.object("encoding", sample))
            raw = await admin.hgetall(sample)
            payload = sum(len(k) + len(v) for k, v in raw.items())
            longest = max(raw.items(), key=lambda kv: len(kv[1]))
            ttl = await admin.ttl(sample)

            # 3. the worker with them in flight, after a few ticks
            ticks: list[float] = []
            enough = asyncio.Event()

            def count(call: dict[str, Any]) -> None:
                if is_tick_start(call):
                    ticks.append(call["at"])
                    if len(ticks) > args.ticks:  # the wanted ticks are over once the next one starts
                        enough.set()

            on_simulator_call(sim.app[TRAFFIC], count)
            await Scheduler(admin).schedule(
                str(PollProject(project_id=PROJECT_ID).key),
                PollProject(project_id=PROJECT_ID).payload(),
                delay=0,
            )

            async def ticking() -> dict[str, Any]:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(enough.wait(), 120)
                return {"ticks": len(ticks) - 1}

            busy_worker = await measure_worker(f"{n}-in-flight", env, redis_url, Path(tmp), ticking)
        finally:
            if setup_http is not None:
                await setup_http.aclose()
            await fake.stop()
            await sim.stop()
            await admin.aclose()

    per_key = (
        statistics.mean(hashes)
        + statistics.mean(index)
        + statistics.mean(dedupe)
        + zset / n
        + statistics.mean(audit_lists)
        + stream / n
    )
    print(machine_header("Memory: Redis per tracked request, worker RSS"))
    print(
        f"{n} requests in flight (state BUILDING, tracked), written by the bot's RequestStore and AuditLog.\n"
    )
    print(
        table(
            ["Redis, per request", "bytes"],
            [
                ["INFO used_memory delta ÷ requests", f"{used / n:,.0f}"],
                [
                    "MEMORY USAGE request hash (mean / min / max)",
                    f"{statistics.mean(hashes):,.0f} / {min(hashes):,} / {max(hashes):,}",
                ],
                ["MEMORY USAGE backup-ID index string (mean)", f"{statistics.mean(index):,.0f}"],
                ["MEMORY USAGE Slack de-duplication key (mean)", f"{statistics.mean(dedupe):,.0f}"],
                ["in-flight sorted set ÷ requests", f"{zset / n:,.0f}"],
                [
                    "MEMORY USAGE per-request audit list, 2 entries (mean)",
                    f"{statistics.mean(audit_lists):,.0f}",
                ],
                ["audit stream ÷ requests (2 entries each)", f"{stream / n:,.0f}"],
                ["sum of MEMORY USAGE per request", f"{per_key:,.0f}"],
                ["request hash: fields / field+value bytes", f"{len(raw)} / {payload:,}"],
            ],
        )
    )
    print()
    print(
        f"- request hash encoding: `{encoding}` (Redis keeps a hash compact as a listpack only while "
        f"every value is ≤ 64 bytes; the longest value here is `{as_text(longest[0])}` at "
        f"{len(longest[1])} bytes)"
    )
    print(f"- request hash TTL: {ttl} ({'never expires' if ttl == -1 else 'seconds'})")
    print()
    rows = []
    for w in (idle_worker, busy_worker):
        rows.append(
            [
                w["label"],
                w["ticks"],
                f"{w.get('VmRSS', 0) / 1024:.1f}",
                f"{w.get('VmHWM', 0) / 1024:.1f}",
            ]
        )
    delta = (busy_worker.get("VmHWM", 0) - idle_worker.get("VmHWM", 0)) / n
    headers = ["worker (`python -m bot worker`)", "poll ticks done", "VmRSS MiB", "VmHWM (peak) MiB"]
    print(table(headers, rows))
    print()
    print(f"- peak RSS growth per backup in flight: {delta:.1f} KiB")
    print(f"- poll interval {args.interval:g} s; idle worker measured after {args.idle_seconds:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 requests, 2 ticks")
    parser.add_argument("--count", type=int, default=1000, help="requests in flight (default 1000)")
    parser.add_argument("--ticks", type=int, default=4, help="poll ticks before reading RSS (default 4)")
    parser.add_argument("--interval", type=float, default=1.0, help="BACKUP_POLL_INTERVAL (default 1 s)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="how long the idle worker runs")
    args = parser.parse_args()
    if args.quick:
        args.count, args.ticks, args.interval, args.idle_seconds = 50, 2, 0.5, 1.0
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
