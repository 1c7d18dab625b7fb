"""What a finished backup costs the worker, in one process: ``RequestFlow.advance`` of requests whose
backup just ended, the step that posts the final reply in the thread, updates the parent message,
audits and untracks.

The fake Slack runs in a child process, so this process's CPU is the worker's own; Redis is a private
embedded server. Each round records ``N`` requests as a poll tick leaves them (``COMPLETED``, the
parent posted to the fake Slack, tracked, its work leased as a worker's handler holds it), then
advances them 32 at a time (the worker's handlers), each inside its lease's run (``ports.running``).
Variants, their rounds interleaved so they share the machine's noise:

- ``finish``: the real step, every Slack call made over HTTP;
- ``no-http``: the same, slack_sdk's HTTP exchange answered at once (a measuring device: what the
  step costs without the aiohttp request and response of its two Slack calls; the pacing, slack_sdk's
  own work and the response's checks still run).

Reported: CPU of this process per finished backup (``time.process_time``) and the Redis commands
each one sends (counted in the client). No figure is asserted; compare variants of one run.

Run: ``python bench/finish_breakdown.py`` (about 30 s), ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BOT_TOKEN,
    ROOT,
    USER,
    bench_channel,
    machine_header,
    private_redis,
    scrub_environment,
    table,
)

CONCURRENCY = 32  # the worker's handlers (bot/worker/main.py)
VARIANTS = ("finish", "no-http")
_FAKE_SLACK = """
import asyncio
from bot.local.fake_slack import FakeSlack
async def main():
    fake = await FakeSlack().start()
    print(fake.url, flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def run(url: str, n: int, rounds: int) -> tuple[dict[str, float], Counter[str]]:
    from bot.app.lifecycle import RequestFlow
    from bot.store.scheduler import Lease

    try:
        from bot.app.ports import running
    except ImportError:  # a tree from before handlers told the use cases their lease (stop 25's)
        running = None  # type: ignore[assignment]
    from bot.app.work import AdvanceRequest, schedule
    from bot.bootstrap import open_runtime
    from bot.config import load_settings
    from bot.domain.request import BackupRequest, State, utcnow
    from bot.store.batch import BatchingRedis

    scrub_environment()
    with private_redis() as redis_url:
        # the fake limits nothing: the bot's own budgets raised, as the other benchmarks do
        os.environ.update(BACKUP_SLACK_POST_RATE="100", BACKUP_SLACK_TIER_SCALE="1000")
        settings = load_settings(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=url, REDIS_URL=redis_url)
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=False)
        services, slack = runtime.services, runtime.slack
        flow = RequestFlow(services)
        serial = 0
        commands: Counter[str] = Counter()
        counting = False
        send = BatchingRedis.execute_command

        async def counted(self: BatchingRedis, *args: Any, **options: Any) -> Any:
            if counting:
                commands[str(args[0])] += 1
            return await send(self, *args, **options)

        BatchingRedis.execute_command = counted  # type: ignore[method-assign]

        leases: dict[str, Lease] = {}

        async def ended() -> list[str]:
            nonlocal serial
            ids = []
            for _ in range(n):
                serial += 1
                now = utcnow()
                request = BackupRequest(
                    state=State.COMPLETED,
                    team_id="T0BENCH01",
                    channel_id=bench_channel(serial),
                    user_id=USER,
                    instance_ref="orders-dev",
                    instance_id=f"{serial:032d}in07",
                    instance_name="orders-dev",
                    backup_name=f"finish-{serial:06d}",
                    description="before the schema change",
                    response_url="https://hooks.slack.com/commands/T0BENCH01/1/abc",
                    backup_id=f"{serial:032d}br07",
                    job_id=f"job-{serial}",
                    project_id="0" * 32,
                    begin_time=now - timedelta(minutes=3),
                    end_time=now,
                    size_mb=1234.5,
                    progress=100,
                    create_attempted=True,
                    create_tries=1,
                    created_reply_ts=f"1700000001.{serial:06d}",
                    role="requester",
                    language="en-us",
                )
                posted = await slack.chat_postMessage(channel=request.channel_id, text="parent")
                request = request.model_copy(update={"parent_ts": str(posted["ts"])})
                await services.store.create(request, dedupe_key=f"finish:{serial}")
                await services.store.track(request.project_id, request)
                ids.append(request.id)
                await schedule(services.scheduler, AdvanceRequest(request_id=request.id))
            # each request's work leased, as a worker holds it while its handler runs (untimed)
            for lease in await services.scheduler.claim(limit=len(ids), lease_seconds=600):
                leases[lease.key] = lease
            return ids

        gate = asyncio.Semaphore(CONCURRENCY)

        async def advance_all(ids: list[str]) -> None:
            """Every request's runs, as the worker makes them: each one's background run (the
            parent's update) after every first run (the final reply)."""

            async def advance(request_id: str) -> bool:
                work = AdvanceRequest(request_id=request_id)
                # inside a worker's run, as the handler sets it (its replies are posted once)
                held = running.set(leases[str(work.key)]) if running is not None else None
                try:
                    async with gate:
                        return (await flow.advance(work)).background
                finally:
                    if running is not None and held is not None:
                        running.reset(held)

            again = await asyncio.gather(*(advance(r) for r in ids))
            await asyncio.gather(*(advance(r) for r, more in zip(ids, again, strict=True) if more))

        real_request = slack._request
        answered = 0

        async def at_once(**_: Any) -> dict[str, Any]:
            nonlocal answered
            answered += 1
            body = {"ok": True, "ts": f"1800000000.{answered:06d}", "channel": "C0BENCH"}
            return {"data": body, "headers": {}, "status_code": 200}

        spent = dict.fromkeys(VARIANTS, 0.0)
        try:
            await advance_all(await ended())  # warm-up
            for round_no in range(rounds):
                shift = round_no % len(VARIANTS)
                for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                    ids = await ended()
                    slack._request = at_once if variant == "no-http" else real_request  # type: ignore[method-assign]
                    counting = variant == "finish"
                    began = time.process_time()
                    await advance_all(ids)
                    spent[variant] += time.process_time() - began
                    counting = False
                    slack._request = real_request  # type: ignore[method-assign]
        finally:
            BatchingRedis.execute_command = send  # type: ignore[method-assign]
            await services.close()
        per_finish = {variant: spent[variant] / (rounds * n) for variant in VARIANTS}
        return per_finish, Counter({k: v // (rounds * n) for k, v in commands.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: one small round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per variant")
    parser.add_argument("--n", type=int, default=500, help="finished backups per round")
    args = parser.parse_args()
    rounds, n = (1, 20) if args.quick else (args.rounds, args.n)
    fake = subprocess.Popen([sys.executable, "-c", _FAKE_SLACK], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        per_finish, commands = asyncio.run(run(url, n, rounds))
    finally:
        fake.kill()
        fake.wait()
    print(machine_header("A finished backup in the worker (RequestFlow.advance in one process)"))
    print(
        f"{rounds} round(s) of {n} finished backups per variant, {CONCURRENCY} at a time, interleaved;"
        " CPU of this process (the fake Slack runs in a child).\n"
    )
    full = per_finish["finish"]
    rows = [[v, f"{1000 * cpu:.3f}", f"{cpu / full:.2f}×"] for v, cpu in per_finish.items()]
    print(table(["variant", "CPU ms per finished backup", "÷ finish"], rows))
    print()
    rows = [[name, str(count)] for name, count in commands.most_common()]
    print(table(["Redis command (each script by name: EVALSHA)", "per finished backup"], rows))


if __name__ == "__main__":
    main()
