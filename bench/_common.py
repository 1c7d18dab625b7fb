"""Helpers shared by the benchmarks: the machine header, percentiles, Markdown tables, a private Redis,
extra simulator instances, child processes, and backups "in flight" built straight into Redis.

Not a benchmark itself (running it does nothing). Everything here listens on loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
PROJECT_ID = "be0c4be0c4be0c4be0c4be0c4be0c4b0"  # 32 letters/digits, like a real project ID
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
CHANNEL = "C0BENCH01"
CHANNELS = 50  # the channels a benchmark's many backups are spread over (as a real fleet's would be)
USER = "U0BENCH01"

_T = TypeVar("_T")


def bench_channel(index: int) -> str:
    """The channel of a benchmark's ``index``-th backup: ``CHANNELS`` of them, round-robin. Slack
    allows about one post a second per channel, and the bot paces itself to that: a thousand backups
    in one channel would measure the pacing, not the bot."""
    return f"C0BENCH{index % CHANNELS:03d}"


# --- the environment ------------------------------------------------------------------------------

_OWN_PREFIXES = ("SLACK_", "HUAWEICLOUD_", "BACKUP_", "AUDIT_")
_OWN_NAMES = ("REDIS_URL", "TAURUSDB_ENDPOINT", "PORT")


def scrub_environment() -> None:
    """Drop the bot's own variables from this process's environment, so a developer's real tokens or
    endpoints never leak into a benchmark (children get explicit values)."""
    for name in list(os.environ):
        if name.startswith(_OWN_PREFIXES) or name in _OWN_NAMES:
            del os.environ[name]
    # A benchmark's fake Slack limits nothing: the bot need not pace itself for Slack's limits
    # (its own processes and this one read these).
    os.environ.update({"BACKUP_SLACK_POST_RATE": "100", "BACKUP_SLACK_TIER_SCALE": "1000"})


def child_env(**values: str) -> dict[str, str]:
    """This process's (scrubbed) environment plus ``values``, for a ``python -m bot …`` child."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **values}


# --- what the output says about the run -----------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_header(title: str) -> str:
    """A Markdown heading plus the machine and the exact command that produced the figures."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    command = shlex.join([sys.executable, *sys.argv])
    return "\n".join(
        [
            f"## {title}",
            "",
            f"- machine: {cores} cores ({usable} usable), {cpu_model()}, "
            f"{platform.system()} {platform.release()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()})",
            f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; load average at start "
            f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min)",
            f"- command: `{command}`",
            "",
        ]
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; numbers are shown as they are formatted by the caller."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p100 = max); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def secs(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds:.2f}"


# --- servers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """An embedded Redis on a free loopback port (no persistence); yields its URL."""
    from bot.local.embedded_redis import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp, EmbeddedRedis(Path(tmp)) as server:
        yield server.url


def bench_instance_id(index: int) -> str:
    return hashlib.sha256(f"backup-bot-bench/{index}".encode()).hexdigest()[:32] + "in07"


def bench_instance_name(index: int) -> str:
    return f"bench-{index:05d}"


def add_instances(state: Any, count: int, *, start: int = 0) -> list[tuple[str, str]]:
    """Add ``count`` plain ACTIVE instances to a simulator's state (the seed has only a handful, and the
    service allows one building backup per instance). Returns their (id, name)."""
    from bot.local.simulator.seed import SeedInstance
    from bot.local.simulator.state import InstanceState

    added = []
    for index in range(start, start + count):
        seed = SeedInstance(bench_instance_id(index), bench_instance_name(index), data_mb=2048.0)
        state.instances[seed.id] = InstanceState(seed, seed.status, seed.fails_backups)
        added.append((seed.id, seed.name))
    return added


def on_simulator_call(traffic: Any, listener: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Stamp every call an in-process simulator records with the time it answered (``"at"``) and pass it
    to ``listener``. Wraps the simulator's call log; used to see the poll ticks' cadence."""
    record = traffic.record

    def stamped(call: dict[str, Any], route: str) -> None:
        call["at"] = time.time()
        record(call, route)
        if listener is not None:
            listener(call)

    traffic.record = stamped


def is_tick_start(call: Mapping[str, Any]) -> bool:
    """The first page of a poll tick's list call: ``GET …/backups`` with no ``backup_id``, offset 0."""
    query = call["query"]
    return (
        call["method"] == "GET"
        and call["path"].endswith("/backups")
        and "backup_id" not in query
        and query.get("offset", "0") == "0"
    )


class Child:
    """A child process whose output goes to a log file; stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                list(argv), cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    async def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Waits in a thread, not blocking the event loop:
        the child may still be talking to a simulator or fake Slack served by this process while it
        shuts down."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                await asyncio.to_thread(self.proc.wait)
        return self.proc.returncode

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def error_lines(self) -> int:
        """Lines of its log at ERROR level (plain or JSON log format) or starting a traceback."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        markers = (" ERROR ", '"level": "ERROR"', "Traceback (most recent call last)")
        return sum(1 for line in text.splitlines() if any(m in line for m in markers))


def bot_child(name: str, *args: str, env: Mapping[str, str], log_dir: Path) -> Child:
    return Child(name, [sys.executable, "-m", "bot", *args], env, log_dir)


async def wait_http(url: str, child: Child | None = None, within: float = 30.0) -> None:
    """Wait until ``url`` answers below 500 (or fail early when ``child`` died)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if child is not None and not child.alive():
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < 500:
                    return
            await asyncio.sleep(0.05)
    tail = f"\n{child.tail()}" if child is not None else ""
    raise TimeoutError(f"{url} did not answer within {within}s{tail}")


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM… of a process from /proc/<pid>/status, in kB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            found[key] = int(value.split()[0])
    return found


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu_precise(pid: int) -> float:
    """CPU seconds a process's threads have run so far, to the nanosecond (``/proc/<pid>/task/*/
    schedstat``; the clock-tick counters of ``stat`` are 10 ms coarse, too coarse for one burst)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def is_final_reply(text: object) -> bool:
    """A thread reply announcing the outcome (the bot's completed/failed texts; not "started" or
    "busy")."""
    return isinstance(text, str) and (":white_check_mark:" in text or ":x:" in text)


async def redis_clients(url: str) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("clients")
        return int(info["connected_clients"]) - 1
    finally:
        await client.aclose()


async def wait_worker_ready(url: str, child: Child, before: int, within: float = 30.0) -> None:
    """A worker is up once its warm Redis pool is connected (it warms 8 connections at start)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
        if await redis_clients(url) >= before + 8:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{child.name} did not connect to Redis within {within}s:\n{child.tail()}")


async def bounded_gather(limit: int, jobs: Iterable[Callable[[], Awaitable[_T]]]) -> list[_T]:
    """Run the coroutine factories at most ``limit`` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[_T]]) -> _T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


class RawHttpClient:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams: a pool of open connections, each
    carrying one request at a time. Requests are pre-serialised, answers read by Content-Length.

    It exists because a client must not be what a latency benchmark measures: on the 2-core reference
    machine one ``httpx.AsyncClient`` spends 1–3 ms of CPU per request (part of it a failing
    ``import sniffio`` that httpcore repeats per request when sniffio is not installed), so against a
    server that does nothing a burst of 50 already shows a p99 of 0.2–0.8 s with the client at 100% CPU,
    and the bot and the bare app look alike (``--client httpx`` reproduces it). This client costs a few
    tens of microseconds per request.
    """

    def __init__(self, host: str, port: int, path: str, connections: int) -> None:
        self._host, self._port, self._path = host, port, path
        self._size = connections
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self._all: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        for _ in range(self._size):
            reader, writer = await asyncio.open_connection(self._host, self._port)
            self._all.append(writer)
            self._idle.put_nowait((reader, writer))

    def encode(self, body: bytes, headers: dict[str, str]) -> bytes:
        head = [f"POST {self._path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head += [f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(head).encode() + body

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self._idle.get()
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            length = next(
                int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")
            )
            return status, await reader.readexactly(length)
        finally:
            self._idle.put_nowait((reader, writer))

    async def aclose(self) -> None:
        for writer in self._all:
            writer.close()
        for writer in self._all:
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


# --- backups in flight, built straight into Redis -------------------------------------------------


@dataclass(frozen=True)
class InFlight:
    request_id: str
    backup_id: str
    backup_name: str
    instance_id: str
    parent_ts: str


async def start_backups_in_flight(
    *,
    cloud: Any,
    slack: Any,
    store: Any,
    project_id: str,
    instances: Sequence[tuple[str, str]],
    tag: str,
) -> list[InFlight]:
    """For each instance: create a real backup in the simulator (the bot's own TaurusDB client), post the
    thread's parent message and the "started" reply to the fake Slack, and record the request in Redis
    as the bot leaves it once the backup is building: the request hash (``BUILDING``) with its Slack
    de-duplication key, its audit entries so far (requested, backup started), the backup-ID index and the
    entry in the in-flight set.

    The request hash carries every field the bot stores, with realistic values (a Slack response_url,
    a description), so memory figures are those of a real request.
    """
    from bot.app.requests import audit_entry
    from bot.domain.audit import AuditAction, AuditEntry
    from bot.domain.request import BackupRequest, State, utcnow
    from bot.slack.render import request as blocks
    from bot.store.audit import AuditLog

    audit = AuditLog(store._redis)

    async def one(index: int, instance_id: str, instance_name: str) -> InFlight:
        name = f"{tag}-{index:05d}"
        channel = bench_channel(index)
        created = await cloud.create_backup(instance_id, name, "before the schema change")
        request = BackupRequest(
            state=State.BUILDING,
            team_id="T0BENCH01",
            channel_id=channel,
            user_id=USER,
            instance_ref=instance_name,
            instance_id=instance_id,
            instance_name=instance_name,
            backup_name=name,
            description="before the schema change",
            response_url=f"https://hooks.slack.com/commands/T0BENCH01/{7_000_000_000_000 + index}/"
            + hashlib.sha256(name.encode()).hexdigest()[:24],
            backup_id=created.backup.id,
            job_id=created.job_id,
            begin_time=created.backup.begin_time or utcnow(),
            create_attempted=True,
            create_tries=1,
        )
        parent = blocks.parent_message(request)
        posted = await slack.chat_postMessage(
            channel=channel, text=parent.text, blocks=parent.blocks, unfurl_links=False
        )
        request = request.model_copy(update={"parent_ts": str(posted["ts"])})
        reply = blocks.created_reply(request)
        replied = await slack.chat_postMessage(
            channel=channel, thread_ts=request.parent_ts, text=reply.text, blocks=reply.blocks
        )
        request = request.model_copy(update={"created_reply_ts": str(replied["ts"])})
        await store.create(request, dedupe_key=f"trigger:{index}.{int(time.time())}.{tag}")
        await audit.append(
            AuditEntry(
                actor=request.user_id,
                action=AuditAction.REQUESTED,
                request_id=request.id,
                backup_name=request.backup_name,
                instance_name=request.instance_ref,
            )
        )
        await audit.append(audit_entry(request, AuditAction.BACKUP_STARTED, detail=f"job {request.job_id}"))
        await store.track(project_id, request)
        return InFlight(request.id, created.backup.id, name, instance_id, str(posted["ts"]))

    jobs = [
        (lambda i=i, iid=iid, iname=iname: one(i, iid, iname)) for i, (iid, iname) in enumerate(instances)
    ]
    return await bounded_gather(16, jobs)


if __name__ == "__main__":
    print("bench/_common.py holds helpers for the benchmarks; run bench/<name>.py instead.")
