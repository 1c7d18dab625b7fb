"""Ack latency of ``/backup create <instance> <name>``: the real web path against a Bolt app that only acks.

What is measured: the time from the moment the client starts sending one signed, form-encoded slash
command over HTTP (loopback) until it has read the whole answer, for bursts of 10, 50 and 200
simultaneous commands. Figures are p50/p99/max over every request of every measured round.

The four servers, each a child process of this script (one event loop, like a production web
process), all on aiohttp:

- ``real``  — the bot's own web process: ``build_app`` + ``build_web`` over ``open_services`` (a warm,
  bounded Redis pool against an embedded Redis), identity from ``identify_bot`` (``auth.test`` against
  the fake Slack, once at start). Each command is parsed, validated, recorded in Redis and scheduled,
  then acked. No worker runs: this is the web path only.
- ``stock`` — the goal's reference as the issue names it: a Bolt ``AsyncApp`` with a signing secret and
  one ``/backup`` listener that only acks, served by ``app.start()`` (Bolt's own aiohttp server), its
  logger as shipped. The goal is p99(real) ≤ 1.5 × p99(stock) at 50.
- ``bare``  — a Bolt ``AsyncApp`` built with the same options (signing secret and verification, the same
  ``authorize`` that returns a fixed identity, the same Web API client) served by the same ``build_web``,
  whose ``/backup`` listener only calls ``ack()``: the stricter reference, which differs from ``real``
  only by what the listeners do.
- ``null``  — a plain aiohttp handler that reads the body and answers 200: the floor of what the client,
  loopback and aiohttp cost together, to show the client is not what is being measured.

Why it is fair: same machine, same run, same signing, the same aiohttp server underneath; every body is
signed before the clock starts; bursts of the servers are interleaved (the order rotates each round) so
they share the machine's noise; one warm-up burst per server and level opens the keep-alive connections
and the Redis pool before anything is measured; the client keeps enough connections to each server for
the largest burst (by default pre-serialised HTTP/1.1 on kept-alive sockets; ``--client httpx``: one
persistent ``httpx.AsyncClient``). The client's own share is reported: how long it took to start the
last request of a burst, and the CPU it used. On a 2-core machine the client, the server and Redis
compete for the cores; that is the same for every server except that only ``real`` talks to Redis.
There, when the web process sends a burst's scripts, Linux tends to run the woken Redis on the web
process's own core, and the web process waits in the run queue (about 2 ms a burst, measured with
``/proc/thread-self/schedstat``) while the other core idles. ``--pin`` puts every server on the first
core and this process (the client, the fake Slack) and Redis on the others, as a deployment with
Redis on a host of its own would have it; the default leaves placement to the kernel, and the
published figures are the default's.

Run: ``python bench/ack_latency.py`` (about a minute), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    USER,
    Child,
    RawHttpClient,
    child_env,
    machine_header,
    ms,
    percentile,
    private_redis,
    proc_cpu_precise,
    scrub_environment,
    table,
    wait_http,
)
from _profile import Profiler, breakdown, read_profile, top_tables

HERE = Path(__file__).resolve()
KINDS = ("null", "stock", "bare", "real")
LABELS = {
    "null": "null aiohttp (floor)",
    "stock": "stock Bolt app.start(), ack only",
    "bare": "bare Bolt on the bot's web, ack only",
    "real": "backup-bot",
}
INSTANCE = "orders-dev"


# --- the servers (child processes) ---------------------------------------------------------------


async def _serve(kind: str, port: int, *, stock_logger: bool = True) -> None:
    from bot.bootstrap import open_runtime, settle_heap
    from bot.config import load_settings
    from bot.slack.app import build_app, identify_bot
    from bot.slack.web import build_web

    services = None
    if kind == "null":

        async def events(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="")

        async def healthz(_: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_post("/slack/events", events)
        app.router.add_get("/healthz", healthz)
    else:
        settings = load_settings()
        assert settings.redis_url is not None
        runtime = await open_runtime(settings, redis_url=settings.redis_url, with_cloud=False)
        services = runtime.services
        identity = await identify_bot(settings, runtime.slack)
        if kind == "real":
            bolt = build_app(runtime.front, runtime.slack, identity)
        else:
            bolt = _bare_app(runtime, identity, stock_logger=stock_logger)
        app = build_web(bolt, services)

    settle_heap()  # as bot.bootstrap.serve does at start-up, for these three servers alike
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if services is not None:
            await services.close()


def _serve_stock(port: int) -> None:
    """The reference the goal names, as a Bolt user writes it: ``AsyncApp(signing_secret=…)`` with a
    Web API client (pointed at the fake Slack, which answers the one ``auth.test`` Bolt makes), one
    listener that acks, and ``app.start()`` (Bolt's own aiohttp server; blocks). Nothing tuned: its
    logger as shipped, no heap freeze. Only aiohttp's access log is off, as the bot's (a line per
    request to stderr would be the benchmark's own cost, not Bolt's)."""
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=os.environ["SLACK_API_URL"].rstrip("/") + "/")
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET)

    @app.command("/backup")
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.start(port=port, host="127.0.0.1")


def _bare_app(runtime: Any, identity: Any, *, stock_logger: bool) -> Any:
    """The bot's own app configuration (``configured_app``) whose only listener acks. With
    ``stock_logger`` its logger is as Bolt ships it (the bot pins the level: bot.logs.pinned), so the
    reference is the bare ``AsyncApp`` the goal names, not one tuned like the bot."""
    from slack_bolt.async_app import AsyncAck

    from bot.slack.app import configured_app

    app = configured_app(runtime.services.settings, runtime.slack, identity)

    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    app.command("/backup")(only_ack)
    if stock_logger:
        app.logger.setLevel(logging.NOTSET)
    return app


# --- the client -----------------------------------------------------------------------------------


class HttpxClient:
    """The same interface over one persistent ``httpx.AsyncClient`` (``--client httpx``)."""

    def __init__(self, url: str, connections: int) -> None:
        self._url = url
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=600.0
            ),
        )
        self._pending: dict[int, tuple[bytes, dict[str, str]]] = {}

    async def open(self) -> None:
        return None

    def encode(self, body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        return body, headers

    async def send(self, prepared: tuple[bytes, dict[str, str]]) -> tuple[int, bytes]:
        body, headers = prepared
        response = await self._client.post(self._url, content=body, headers=headers)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    send_spread: list[float] = field(default_factory=list)  # per burst: last request start − burst start
    cpu_share: list[float] = field(default_factory=list)  # per burst: client CPU time / burst wall time
    server_cpu: float = 0.0  # CPU seconds the server process used during the measured bursts
    bad_status: int = 0
    recorded_acks: int = 0  # real only: acks that say the request was recorded


@dataclass
class Target:
    kind: str
    url: str
    client: Any  # RawHttpClient | HttpxClient
    pid: int
    samples: dict[int, Samples] = field(default_factory=dict)


_serial = 0


def _bodies(target: Target, level: int) -> list[Any]:
    """Signed slash-command requests, serialised before the clock starts."""
    from bot.local.fake_slack import sign_request, slash_command_body

    global _serial
    out = []
    for _ in range(level):
        _serial += 1
        name = f"ack-{target.kind}-{_serial:06d}"
        body = slash_command_body(f"create {INSTANCE} {name}", user_id=USER, channel_id=CHANNEL)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_request(SIGNING_SECRET, body)}
        out.append(target.client.encode(body, headers))
    return out


async def burst(target: Target, level: int, *, record: bool) -> None:
    prepared = _bodies(target, level)
    go = asyncio.Event()
    starts: list[float] = [0.0] * level
    results: list[tuple[float, int, bytes]] = [(0.0, 0, b"")] * level

    async def one(i: int) -> None:
        await go.wait()
        t0 = time.perf_counter()
        starts[i] = t0
        status, content = await target.client.send(prepared[i])
        results[i] = (time.perf_counter() - t0, status, content)

    tasks = [asyncio.create_task(one(i)) for i in range(level)]
    await asyncio.sleep(0)  # every task is now parked on go.wait()
    cpu0 = time.process_time()
    began = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu0
    if not record:
        return
    samples = target.samples.setdefault(level, Samples())
    samples.send_spread.append(max(starts) - began)
    samples.cpu_share.append(cpu / wall if wall > 0 else 0.0)
    for latency, status, content in results:
        samples.latencies.append(latency)
        if status != 200:
            samples.bad_status += 1
        elif target.kind == "real" and _is_recorded_ack(content):
            samples.recorded_acks += 1


def _is_recorded_ack(content: bytes) -> bool:
    try:
        return str(json.loads(content).get("text", "")).startswith(":inbox_tray:")
    except ValueError:
        return False


async def count_requests(redis_url: str) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        return sum([1 async for _ in client.scan_iter(match="{bb}:req:*", count=1000)])
    finally:
        await client.aclose()


async def know_the_user(redis_url: str) -> None:
    """What a worker leaves after the user's first request: their language in the cache. Without it
    (``--cold-user``) every request also reads the cache and schedules a lookup, as the very first
    request of a user the bot has never seen does."""
    import redis.asyncio as aioredis

    from bot.store import keys

    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.hset(keys.user(USER), mapping={"lang": "en-us", "guest": "0", "source": "slack"})
    finally:
        await client.aclose()


async def run(args: argparse.Namespace) -> None:
    from bot.local.fake_slack import FakeSlack

    levels: Sequence[int] = args.levels
    rounds: int = args.rounds
    scrub_environment()
    servers_cpu = _pin_self(args.pin)  # before Redis starts: it inherits this process's cores
    with private_redis() as redis_url, tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        if not args.cold_user:
            await know_the_user(redis_url)
        async with FakeSlack() as fake:
            children: list[Child] = []
            targets: list[Target] = []
            profiler: Profiler | None = None
            try:
                for kind in KINDS:
                    port = _free_port()
                    env = child_env(
                        SLACK_BOT_TOKEN=BOT_TOKEN,
                        SLACK_SIGNING_SECRET=SIGNING_SECRET,
                        SLACK_API_URL=fake.url,
                        REDIS_URL=redis_url,
                        PORT=str(port),
                        LOG_LEVEL="INFO",
                    )
                    argv = [sys.executable, str(HERE), "--serve", kind, "--port", str(port)]
                    argv += ["--bare-logger", args.bare_logger]
                    children.append(Child(f"{kind}-server", argv, env, Path(tmp)))
                    if servers_cpu is not None:
                        os.sched_setaffinity(children[-1].pid, servers_cpu)
                    url = f"http://127.0.0.1:{port}/slack/events"
                    client: RawHttpClient | HttpxClient = (
                        RawHttpClient("127.0.0.1", port, "/slack/events", max(levels))
                        if args.client == "raw"
                        else HttpxClient(url, max(levels))
                    )
                    targets.append(Target(kind, url, client, children[-1].pid))
                for child, target in zip(children, targets, strict=True):
                    # the stock server has no /healthz; its GET /slack/events answers 404 once it listens
                    probe = "/slack/events" if target.kind == "stock" else "/healthz"
                    await wait_http(target.url.replace("/slack/events", probe), child)
                    await target.client.open()

                started = time.monotonic()
                for level in levels:
                    for target in targets:  # warm-up: keep-alive connections, Redis pool, code paths
                        await burst(target, level, record=False)
                        await asyncio.sleep(args.gap)
                    if profiler is None and args.profile is not None:
                        profiler = Profiler(targets[KINDS.index(args.profile_server)].pid, args.profile)
                        profiler.start()
                    for round_no in range(rounds):
                        shift = round_no % len(targets)
                        for target in targets[shift:] + targets[:shift]:
                            server0 = proc_cpu_precise(target.pid)
                            await burst(target, level, record=True)
                            await asyncio.sleep(args.gap)  # whatever the server does after its answers
                            target.samples[level].server_cpu += proc_cpu_precise(target.pid) - server0
                elapsed = time.monotonic() - started
                if profiler is not None:
                    await profiler.stop()
                stored = await count_requests(redis_url)
            finally:
                for target in targets:
                    await target.client.aclose()
                for child in children:
                    await child.stop()
            errors = {child.name: child.error_lines() for child in children}
    report(args, targets, elapsed, stored, errors)
    if args.profile is not None:
        profiled = targets[KINDS.index(args.profile_server)]
        measured = sum(len(s.latencies) for s in profiled.samples.values())
        print()
        print(f"### Profile of the {LABELS[profiled.kind]} server (py-spy, {measured} measured requests)\n")
        profile = read_profile(args.profile)
        print(top_tables(profile))
        if profiled.kind == "real":
            for frame in ("register.<locals>.backup_command", "take (bot/app/intake.py)"):
                print()
                print(breakdown(profile, frame))


def report(
    args: argparse.Namespace, targets: list[Target], elapsed: float, stored: int, errors: dict[str, int]
) -> None:
    by_kind = {t.kind: t for t in targets}
    rows = []
    for level in args.levels:
        for kind in KINDS:
            s = by_kind[kind].samples[level]
            rows.append(
                [
                    level,
                    LABELS[kind],
                    len(s.latencies),
                    ms(percentile(s.latencies, 50)),
                    ms(percentile(s.latencies, 99)),
                    ms(max(s.latencies)),
                    f"{1000 * s.server_cpu / len(s.latencies):.2f}",
                    ms(max(s.send_spread)),
                    f"{100 * max(s.cpu_share):.0f}%",
                    s.bad_status,
                ]
            )
    ratios = []
    for level in args.levels:
        real = by_kind["real"].samples[level]
        row: list[object] = [level]
        for ref in ("stock", "bare"):
            other = by_kind[ref].samples[level]
            p50 = percentile(real.latencies, 50) / percentile(other.latencies, 50)
            p99 = percentile(real.latencies, 99) / percentile(other.latencies, 99)
            cpu = (real.server_cpu / len(real.latencies)) / (other.server_cpu / len(other.latencies))
            row += [f"{p50:.2f}×", f"{p99:.2f}×", f"{cpu:.2f}×"]
            if ref == "stock":
                goal = ("met" if p99 <= 1.5 else f"missed by {p99 / 1.5:.2f}×") if level == 50 else ""
        ratios.append([*row, "≤ 1.5× at 50" if level == 50 else "", goal])

    sent_real = sum(len(s.latencies) for s in by_kind["real"].samples.values())
    recorded = sum(s.recorded_acks for s in by_kind["real"].samples.values())
    print(machine_header("Ack latency of /backup create (HTTP answer, loopback)"))
    print(
        f"{args.rounds} measured round(s) per level after one warm-up burst per server; the order of the "
        "four servers rotates each round. Latency = first byte sent → whole answer read, per request "
        "(ms). The user is "
        + (
            "one the bot has never seen (--cold-user: language not cached).\n"
            if args.cold_user
            else "a known one (language cached, as after their first request; --cold-user for the first).\n"
        )
    )
    print(
        table(
            [
                "simultaneous",
                "server",
                "requests",
                "p50 ms",
                "p99 ms",
                "max ms",
                "server CPU ms per request",
                "client: last send starts after (ms, worst burst)",
                "client CPU (worst burst)",
                "non-200",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            [
                "simultaneous",
                "p50 real/stock",
                "p99 real/stock",
                "CPU real/stock",
                "p50 real/bare",
                "p99 real/bare",
                "CPU real/bare",
                "goal (p99 real/stock)",
                "verdict",
            ],
            ratios,
        )
    )
    print()
    print(
        f"- backup-bot acks that recorded the request: {recorded} of {sent_real} measured; requests stored "
        f"in Redis (warm-ups included): {stored}"
    )
    print(f"- errors or tracebacks in the servers' logs: {errors}")
    print(
        "- client check: the null server's p99 is the floor the client + loopback + aiohttp impose; "
        "the client runs in this process, one core at most (CPU column)."
    )
    print(
        "- cores: "
        + (
            "pinned (--pin): every server on the first core; the client, fake Slack and Redis on the rest"
            if args.pin
            else "left to the kernel (--pin: servers on a core of their own, Redis and the client beside)"
        )
    )
    print(f"- wall time of the measured part: {elapsed:.1f} s")


def _pin_self(pin: bool) -> set[int] | None:
    """With ``pin``: this process (and what it starts from now on) on every core but the first,
    which is returned for the servers. Without: None, placement left to the kernel."""
    if not pin:
        return None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        sys.exit("--pin needs at least two cores")
    os.sched_setaffinity(0, cores[1:])
    return {cores[0]}


def _free_port() -> int:
    from bot.local.embedded_redis import free_port

    return free_port()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: levels 10 and 50, one round")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per level (default 10)")
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--gap", type=float, default=0.25, help="seconds of rest between bursts")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="raw: pre-serialised HTTP/1.1 on kept-alive sockets (default); httpx: one httpx.AsyncClient",
    )
    parser.add_argument(
        "--cold-user",
        action="store_true",
        help="the user's language is not cached (their first request); default: a known user",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="RAW",
        help="record one server (--profile-server) with py-spy during the measured rounds into RAW (py-spy's "
        "raw format) and print its top entries; latency figures of such a run are not the ones to publish",
    )
    parser.add_argument(
        "--profile-server",
        choices=KINDS,
        default="real",
        help="which server --profile records (default real)",
    )
    parser.add_argument(
        "--bare-logger",
        choices=("stock", "pinned"),
        default="stock",
        help="stock (default): the bare app's logger as Bolt ships it (level NOTSET, so Bolt builds "
        "its debug lines and drops them); pinned: its level pinned as the bot pins its own",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="servers on the first core; the client, the fake Slack and Redis on the others",
    )
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        logging.basicConfig(
            level=os.environ.get("LOG_LEVEL", "INFO"),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
            stream=sys.stderr,
        )
        if args.serve == "stock":
            _serve_stock(args.port)
            return
        asyncio.run(_serve(args.serve, args.port, stock_logger=args.bare_logger == "stock"))
        return
    if args.quick:
        args.levels, args.rounds = [10, 50], 1
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
