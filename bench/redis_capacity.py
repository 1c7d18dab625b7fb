"""One Redis shard's capacity for this workload: the Redis server's own CPU per backup request (its
whole life) and per tracked backup per poll tick, and what one core of Redis can therefore carry.

Why: every key of the bot shares the ``{bb}`` hash tag, so on Redis Cluster they all live in one slot
on one shard — a cluster adds availability (replicas, failover), not capacity. What one server can
do is the capacity, and it is measured here, from the server's side.

What is measured: ``INFO cpu`` (``used_cpu_user + used_cpu_sys`` of the main thread, the one that
runs every command; all threads are shown too) and ``INFO commandstats`` (calls and the time spent
inside each command) of the embedded Redis, read before and after each phase, with the bot's real
processes (``python -m bot web`` ×2, ``python -m bot worker`` ×3) running against it:

1. **idle**: nothing to do — what the processes cost Redis by just being there (workers looking for
   due work, clock syncs). Its rate is subtracted from the two phases below.
2. **lifecycle**: N signed ``/backup create`` commands (at most 50 in flight) over HTTP to the webs,
   each one's whole life — recorded, resolved, parent posted, backup created, announced, polled
   until done, final reply posted — until every final reply has reached the fake Slack. Backups
   last ``--backup-seconds``, so each request is also polled for a few ticks.
3. **tracking**: M backups in flight that do not finish (written as the worker leaves them after a
   create, as ``bench/polling.py`` does), polled every ``BACKUP_POLL_INTERVAL`` for a while: Redis
   CPU ÷ (M × ticks) is the cost of watching one backup for one tick.

Why it is fair: Redis's own accounting, on the same machine, with the same processes a deployment
runs; the idle cost is measured in the same run and taken out. The simulator and the fake Slack run
in this process and do not touch Redis. Redis here is the embedded server the tests use; a managed
shard on its own core has no neighbours, so the capacity figures are per core of Redis time.

Run: ``python bench/redis_capacity.py`` (about a minute), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BOT_TOKEN,
    PROJECT_ID,
    SIGNING_SECRET,
    USER,
    Child,
    RawHttpClient,
    add_instances,
    bench_channel,
    bench_instance_name,
    bot_child,
    child_env,
    is_final_reply,
    is_tick_start,
    machine_header,
    on_simulator_call,
    private_redis,
    redis_clients,
    scrub_environment,
    start_backups_in_flight,
    table,
    wait_http,
)

WEBS = 2
WORKERS = 3


@dataclass
class Reading:
    """Redis's counters at one moment."""

    at: float
    main_cpu: float  # seconds, main thread (user + sys)
    all_cpu: float  # seconds, every thread
    commands: dict[str, tuple[int, int]]  # command → (calls, usec inside it)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    main_cpu: float = 0.0
    all_cpu: float = 0.0
    commands: dict[str, tuple[float, float]] = field(default_factory=dict)
    units: float = 0.0  # requests, or tracked backups × ticks


async def read(redis: Any) -> Reading:
    cpu = await redis.info("cpu")
    stats = await redis.info("commandstats")
    commands = {
        name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for name, v in stats.items()
        if name.startswith("cmdstat_")
    }
    main = float(cpu.get("used_cpu_user_main_thread", cpu["used_cpu_user"]))
    main += float(cpu.get("used_cpu_sys_main_thread", cpu["used_cpu_sys"]))
    return Reading(time.monotonic(), main, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), commands)


def between(name: str, before: Reading, after: Reading, idle: Phase | None = None) -> Phase:
    """What Redis spent from ``before`` to ``after``, less the idle rate over as long (the INFO
    calls of this script are left out: they are the same in every phase and counted in idle)."""
    seconds = after.at - before.at
    share = seconds / idle.seconds if idle is not None and idle.seconds > 0 else 0.0
    phase = Phase(name, seconds)
    phase.main_cpu = after.main_cpu - before.main_cpu - (idle.main_cpu * share if idle else 0.0)
    phase.all_cpu = after.all_cpu - before.all_cpu - (idle.all_cpu * share if idle else 0.0)
    for command, (calls, usec) in after.commands.items():
        was_calls, was_usec = before.commands.get(command, (0, 0))
        idle_calls, idle_usec = idle.commands.get(command, (0.0, 0.0)) if idle else (0.0, 0.0)
        phase.commands[command] = (
            calls - was_calls - idle_calls * share,
            usec - was_usec - idle_usec * share,
        )
    return phase


async def run(args: argparse.Namespace) -> None:
    import redis.asyncio as aioredis

    from bot.app.work import PollProject
    from bot.cloud.factory import build_taurusdb
    from bot.config import load_settings
    from bot.local.embedded_redis import free_port
    from bot.local.fake_slack import Call, FakeSlack, sign_request, slash_command_body
    from bot.local.simulator import SimulatorConfig, start_simulator
    from bot.local.simulator.traffic import TRAFFIC
    from bot.slack.client import build_web_client
    from bot.store.pacing import Pacing
    from bot.store.requests import RequestStore
    from bot.store.scheduler import Scheduler

    scrub_environment()
    n, m = args.requests, args.tracked
    with private_redis() as redis_url, tempfile.TemporaryDirectory(prefix="bench-redis-cap-") as tmp:
        admin = aioredis.Redis.from_url(redis_url)
        version = (await admin.info("server")).get("valkey_version") or (await admin.info("server"))[
            "redis_version"
        ]
        sim = await start_simulator(
            SimulatorConfig(project_id=PROJECT_ID, backup_seconds=args.backup_seconds)
        )
        on_simulator_call(sim.app[TRAFFIC])
        instances = add_instances(sim.state, n + m)
        fake = await FakeSlack().start()
        finals: Counter[str] = Counter()
        all_in = asyncio.Event()

        def listen(call: Call) -> None:
            text = call.args.get("text")
            if call.method == "chat.postMessage" and call.error is None and is_final_reply(text):
                finals[str(call.args.get("thread_ts") or "")] += 1
                if sum(finals.values()) >= n:
                    all_in.set()

        fake.add_listener(listen)
        env = child_env(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.url,
            TAURUSDB_ENDPOINT=sim.url,
            HUAWEICLOUD_SDK_PROJECT_ID=PROJECT_ID,
            BACKUP_POLL_INTERVAL=str(args.interval),
            LOG_LEVEL="WARNING",
        )
        children: list[Child] = []
        clients: list[RawHttpClient] = []
        setup_http = None
        try:
            ports = [free_port() for _ in range(WEBS)]
            for i, port in enumerate(ports):
                children.append(
                    bot_child(f"web{i + 1}", "web", env={**env, "PORT": str(port)}, log_dir=Path(tmp))
                )
            for child, port in zip(children, ports, strict=True):
                await wait_http(f"http://127.0.0.1:{port}/healthz", child)
            before = await redis_clients(redis_url)
            for i in range(WORKERS):
                children.append(bot_child(f"worker{i + 1}", "worker", env=env, log_dir=Path(tmp)))
            await _connected(redis_url, before + 8 * WORKERS)
            await asyncio.sleep(args.settle)  # start-up work (group sync, …) done

            # 1. idle
            start = await read(admin)
            await asyncio.sleep(args.idle)
            idle = between("idle", start, await read(admin))

            # 2. lifecycle
            clients = [
                RawHttpClient("127.0.0.1", port, "/slack/events", args.concurrency // WEBS) for port in ports
            ]
            for client in clients:
                await client.open()
            prepared = []
            for i in range(n):
                body = slash_command_body(
                    f"create {bench_instance_name(i)} cap-{i:05d} capacity bench",
                    user_id=USER,
                    channel_id=bench_channel(i),
                    response_url=fake.response_url(),
                )
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **sign_request(SIGNING_SECRET, body),
                }
                prepared.append((i % WEBS, clients[i % WEBS].encode(body, headers)))
            start = await read(admin)
            statuses = await asyncio.gather(*(clients[w].send(raw) for w, raw in prepared))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_in.wait(), args.patience)
            await asyncio.sleep(args.settle)  # the last steps after the final reply (parent update, …)
            lifecycle = between("lifecycle", start, await read(admin), idle)
            lifecycle.units = n
            bad = sum(1 for status, _ in statuses if status != 200)

            # 3. tracking
            settings = load_settings(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_API_URL=fake.url,
                REDIS_URL=redis_url,
                TAURUSDB_ENDPOINT=sim.url,
                HUAWEICLOUD_SDK_PROJECT_ID=PROJECT_ID,
            )
            cloud, setup_http = build_taurusdb(settings, endpoint_override=sim.url)
            tracked = await start_backups_in_flight(
                cloud=cloud,
                slack=build_web_client(settings, Pacing(admin)),
                store=RequestStore(admin),
                project_id=PROJECT_ID,
                instances=instances[n:],
                tag="track",
            )
            for item in tracked:
                sim.state.backups[item.backup_id].finish = time.time() + 1e6  # not during this run
            poll = PollProject(project_id=PROJECT_ID)
            await Scheduler(admin).schedule(str(poll.key), poll.payload())
            await asyncio.sleep(args.interval * 2)  # the first ticks (and their lookups) are behind us
            start, began = await read(admin), time.time()
            await asyncio.sleep(args.track_seconds)
            tracking = between("tracking", start, await read(admin), idle)
            ended = time.time()
            ticks = sum(
                1 for c in sim.app[TRAFFIC].calls if is_tick_start(c) and began <= c.get("at", 0) <= ended
            )
            tracking.units = m * ticks
        finally:
            for client in clients:
                await client.aclose()
            for child in reversed(children):
                await child.stop()
            if setup_http is not None:
                await setup_http.aclose()
            await fake.stop()
            await sim.stop()
            await admin.aclose()
        errors = {c.name: c.error_lines() for c in children}
    report(args, version, idle, lifecycle, tracking, ticks=ticks, finals=finals, bad=bad, errors=errors)


async def _connected(url: str, clients: int, within: float = 30.0) -> None:
    """Until the workers' warm pools are connected (8 connections each)."""
    deadline = time.monotonic() + within
    while await redis_clients(url) < clients:
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not connect to Redis")
        await asyncio.sleep(0.05)


def _us(seconds: float, units: float) -> str:
    return f"{1e6 * seconds / units:.0f}" if units > 0 else "—"


def _command_rows(phase: Phase, top: int) -> list[list[object]]:
    rows: list[list[object]] = []
    ranked = sorted(phase.commands.items(), key=lambda kv: -kv[1][1])
    for command, (calls, usec) in ranked[:top]:
        if calls < 0.005 * phase.units:
            continue
        rows.append([f"`{command}`", f"{calls / phase.units:.2f}", f"{usec / phase.units:.1f}"])
    return rows


def report(
    args: argparse.Namespace,
    version: str,
    idle: Phase,
    lifecycle: Phase,
    tracking: Phase,
    *,
    ticks: int,
    finals: Counter[str],
    bad: int,
    errors: dict[str, int],
) -> None:
    n, m = args.requests, args.tracked
    print(machine_header("One Redis shard: server CPU per request and per tracked backup"))
    print(
        f"Redis (Valkey) {version}, embedded, single server; {WEBS} web + {WORKERS} worker processes; "
        f"BACKUP_POLL_INTERVAL={args.interval:g} s; lifecycle backups last {args.backup_seconds:g} s. "
        "CPU is Redis's own (`INFO cpu`), main thread unless said; the idle rate is taken out of the "
        "other phases.\n"
    )
    print(
        table(
            ["phase", "seconds", "Redis CPU, main thread ms", "all threads ms", "per unit, main thread µs"],
            [
                [
                    "idle (per second)",
                    f"{idle.seconds:.1f}",
                    f"{1e3 * idle.main_cpu:.1f}",
                    f"{1e3 * idle.all_cpu:.1f}",
                    _us(idle.main_cpu, idle.seconds),
                ],
                [
                    f"lifecycle, {n} requests (per request)",
                    f"{lifecycle.seconds:.1f}",
                    f"{1e3 * lifecycle.main_cpu:.1f}",
                    f"{1e3 * lifecycle.all_cpu:.1f}",
                    _us(lifecycle.main_cpu, lifecycle.units),
                ],
                [
                    f"tracking, {m} backups × {ticks} ticks (per backup per tick)",
                    f"{tracking.seconds:.1f}",
                    f"{1e3 * tracking.main_cpu:.1f}",
                    f"{1e3 * tracking.all_cpu:.1f}",
                    _us(tracking.main_cpu, tracking.units),
                ],
            ],
        )
    )
    print()
    print(
        "Commands per request (whole life), by time inside Redis; calls made from scripts count in their "
        "own rows too:\n"
    )
    print(
        table(["command", "calls per request", "µs inside Redis per request"], _command_rows(lifecycle, 14))
    )
    print()
    print("Commands per tracked backup per poll tick:\n")
    print(table(["command", "calls per backup per tick", "µs inside Redis"], _command_rows(tracking, 8)))
    print()
    per_request = 1e6 * lifecycle.main_cpu / n if n else float("nan")
    per_tick = 1e6 * tracking.main_cpu / tracking.units if tracking.units else float("nan")
    polled = args.backup_seconds / args.interval
    own = per_request - polled * per_tick
    rows = [
        [
            f"requests/s, each with its whole life (as measured: polled ~{polled:.0f} ticks)",
            f"{1e6 / per_request:,.0f}",
        ],
        ["requests/s, without the polling of their backups", f"{1e6 / own:,.0f}" if own > 0 else "—"],
        [
            f"backups tracked at once, polled every {args.interval:g} s",
            f"{1e6 * args.interval / per_tick:,.0f}",
        ],
        [
            "requests/s with 10-minute backups polled every 1 s (600 ticks each)",
            f"{1e6 / (own + 600 * per_tick):,.0f}" if own > 0 else "—",
        ],
    ]
    print("What one core of Redis time carries (100% of the main thread; plan for well under that):\n")
    print(table(["workload", "capacity"], rows))
    print()
    lost = n - len([t for t in finals if t])
    print(
        f"- final replies: {sum(finals.values())} for {n} requests (lost: {max(lost, 0)}); non-200 acks: "
        f"{bad}; errors or tracebacks in the logs: {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 requests, 50 tracked")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tracked", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50, help="commands in flight at most")
    parser.add_argument("--backup-seconds", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=1.0, help="BACKUP_POLL_INTERVAL")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds measured idle")
    parser.add_argument("--track-seconds", type=float, default=10.0, help="seconds measured tracking")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds of rest before measuring")
    parser.add_argument("--patience", type=float, default=180.0, help="seconds to wait for final replies")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.tracked, args.idle, args.track_seconds, args.settle = 20, 50, 1.0, 3.0, 1.0
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
