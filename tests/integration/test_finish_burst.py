"""Many backups ending together, through the worker's own runner and handlers in-process, over a real
Redis and the fake Slack: each thread gets its final reply once and its parent one final update,
and the final replies go first: a parent's update waits (in the background) while other final
replies are due, so it never holds one back, even a reply that became due after it (a third of
the backups end once the first parents' updates are due; in due order 8 or more updates go first)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.app.ports import ReplyKind
from bot.app.work import AdvanceRequest, schedule
from bot.bootstrap import open_runtime
from bot.config import load_settings
from bot.domain.request import BackupRequest, State, utcnow
from bot.local.fake_slack import FakeSlack
from bot.local.simulator import SimulatorConfig, start_simulator
from bot.worker.main import build_runner

PROJECT = "0" * 31 + "8"
ENDED = 24
_ended_as: dict[str, State] = {}  # parent ts -> the state its request ended in
FINAL = ReplyKind.FINAL.value
FIRST = 16  # backups that end at once; the rest end once some of their parents' updates are due
HANDLERS = 4  # the worker's handlers at once


async def test_final_replies_of_a_burst_go_before_the_parents_updates(redis_url: str) -> None:
    sim = await start_simulator(SimulatorConfig(project_id=PROJECT))
    async with FakeSlack() as fake:
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-burst",
            SLACK_API_URL=fake.url,
            REDIS_URL=redis_url,
            HUAWEICLOUD_SDK_PROJECT_ID=PROJECT,
            BACKUP_SLACK_POST_RATE="100",
            BACKUP_SLACK_TIER_SCALE="100",
        )
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=True, cloud_endpoint=sim.url)
        services, slack = runtime.services, runtime.slack
        try:
            parents: dict[str, str] = {}  # parent ts -> request id
            _ended_as.clear()
            for n in range(ENDED):
                now = utcnow()
                channel = f"C0BURST{n:02d}"
                posted = await slack.chat_postMessage(channel=channel, text="parent")
                request = BackupRequest(
                    state=State.COMPLETED if n % 3 else State.FAILED,
                    team_id="T0BURST",
                    channel_id=channel,
                    user_id="U0BURST",
                    instance_ref="orders-dev",
                    instance_id=f"{n:032d}in07",
                    instance_name="orders-dev",
                    backup_name=f"burst-{n:02d}",
                    backup_id=f"{n:032d}br07",
                    job_id=f"job-{n}",
                    project_id=PROJECT,
                    begin_time=now - timedelta(minutes=3),
                    end_time=now,
                    size_mb=10.0,
                    progress=100,
                    error_msg="" if n % 3 else "disk full",
                    create_attempted=True,
                    create_tries=1,
                    created_reply_ts=f"1700000001.{n:06d}",
                    parent_ts=str(posted["ts"]),
                    role="requester",
                    language="en-us",
                )
                await services.store.create(request, dedupe_key=f"burst:{n}")
                parents[request.parent_ts] = request.id
                _ended_as[request.parent_ts] = request.state
            fake.clear_calls()
            ids = list(parents.values())
            for request_id in ids[:FIRST]:
                await schedule(services.scheduler, AdvanceRequest(request_id=request_id))

            stop = asyncio.Event()
            worker = asyncio.create_task(build_runner(services, concurrency=HANDLERS).run_forever(stop))
            try:
                # The rest end once the first parents' updates are due: in due order they would go
                # before these replies. A reply past the first HANDLERS takes the slot of a handler
                # that has settled, so at 3 * HANDLERS replies at least 2 * HANDLERS parents wait.
                await fake.wait_for(lambda _: _finals(fake.calls()) >= 3 * HANDLERS, timeout=30)
                # all at once (one pipeline), before the worker can run out of the first replies
                await asyncio.gather(
                    *(
                        schedule(services.scheduler, AdvanceRequest(request_id=request_id))
                        for request_id in ids[FIRST:]
                    )
                )
                await fake.wait_for(lambda _: len(fake.calls("chat.update")) >= ENDED, timeout=30)
                await asyncio.sleep(0.3)  # anything sent twice would arrive by now
            finally:
                stop.set()
                await asyncio.wait_for(worker, 10)
            for request_id in parents.values():
                stored = await services.store.get(request_id)
                assert stored is not None and stored.final_reply_ts
                assert not await services.scheduler.is_scheduled(
                    str(AdvanceRequest(request_id=request_id).key)
                )
        finally:
            await services.close()
            await sim.stop()

    calls = [c for c in fake.calls() if c.method in ("chat.postMessage", "chat.update")]
    finals = [i for i, c in enumerate(calls) if _is_final(c)]
    updates = [i for i, c in enumerate(calls) if c.method == "chat.update"]
    # once each: one final reply per thread, one update per parent, and nothing else
    assert sorted(calls[i].args["thread_ts"] for i in finals) == sorted(parents)
    assert sorted(calls[i].args["ts"] for i in updates) == sorted(parents)
    assert len(calls) == 2 * ENDED
    # each parent's update comes after its own thread's final reply...
    reply_at = {calls[i].args["thread_ts"]: i for i in finals}
    assert all(reply_at[calls[i].args["ts"]] < i for i in updates)
    # ...and the final replies go first: only updates that found a slot free once no reply was left
    # to claim may pass the last reply (in due order, 2 * HANDLERS or more do)
    early = [i for i in updates if i < finals[-1]]
    assert len(early) <= HANDLERS, f"{len(early)} parent updates went before the last final reply"
    # each parent shows how its backup ended
    failed = {r for r in parents if _ended_as[r] is State.FAILED}
    for i in updates:
        text = str(calls[i].args.get("text", ""))
        mark = ":x:" if calls[i].args["ts"] in failed else ":white_check_mark:"
        assert mark in text, text


def _is_final(call: Any) -> bool:
    metadata = call.args.get("metadata") or {}
    return call.method == "chat.postMessage" and metadata.get("event_type") == f"backup_bot_{FINAL}"


def _finals(calls: list[Any]) -> int:
    return sum(_is_final(c) for c in calls)
