"""A thread reply whose answer from Slack never came back (a timeout) is not posted twice: the run
fails without sending it again, and the next run, finding the reply marked as being posted, finds
it in the thread by its metadata. The worker's
own runner and handlers, a real Redis, the simulator, and the fake Slack answering the final reply's
post only after the bot's client gave up on it (it still posts it, as Slack would)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.app.ports import ReplyKind, running
from bot.app.replies import reply_once
from bot.app.work import AdvanceRequest, schedule
from bot.bootstrap import Runtime, open_runtime
from bot.config import load_settings
from bot.domain.request import BackupRequest, State, utcnow
from bot.local.fake_slack import FakeSlack
from bot.local.simulator import SimulatorConfig, start_simulator
from bot.slack.client import build_web_client
from bot.slack.notifier import SlackNotifier
from bot.slack.threads import posted_reply
from bot.store.pacing import Pacing
from bot.store.requests import LeaseLost
from bot.store.scheduler import Lease
from bot.worker.main import build_runner

PROJECT = "0c1ea20c1ea20c1ea20c1ea20c1ea20c"
GIVES_UP_AFTER = 1.0  # seconds the bot's Slack client waits for an answer in this test
ANSWERED_AFTER = 1.2  # the final reply's post is answered (and posted) only then


def _ended(parent_ts: str, n: int = 0) -> BackupRequest:
    now = utcnow()
    return BackupRequest(
        state=State.COMPLETED,
        team_id="T0UNCLEAR",
        channel_id="C0UNCLEAR",
        user_id="U0UNCLEAR",
        instance_ref="orders-dev",
        instance_id=f"{n:032d}in07",
        instance_name="orders-dev",
        backup_name=f"unclear-{n}",
        backup_id=f"{n:032d}br07",
        job_id=f"job-{n}",
        project_id=PROJECT,
        begin_time=now - timedelta(minutes=3),
        end_time=now,
        size_mb=10.0,
        progress=100,
        create_attempted=True,
        create_tries=1,
        created_reply_ts="1700000001.000001",
        parent_ts=parent_ts,
        role="requester",
        language="en-us",
    )


async def test_a_final_reply_whose_answer_was_lost_is_posted_once(redis: Any, redis_url: str) -> None:
    # (``redis``: the database flushed, so the worker runs this request's work alone)
    sim = await start_simulator(SimulatorConfig(project_id=PROJECT))
    async with FakeSlack() as fake:
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-unclear",
            SLACK_API_URL=fake.url,
            REDIS_URL=redis_url,
            HUAWEICLOUD_SDK_PROJECT_ID=PROJECT,
        )
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=True, cloud_endpoint=sim.url)
        services = runtime.services
        impatient = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=GIVES_UP_AFTER))
        client = build_web_client(settings, Pacing(services.redis), session=impatient)
        services.notifier = SlackNotifier(client, runtime.responder)
        try:
            parent = await runtime.slack.chat_postMessage(channel="C0UNCLEAR", text="parent")
            request = _ended(str(parent["ts"]))
            await services.store.create(request)
            fake.knobs.slow_next["chat.postMessage"] = [ANSWERED_AFTER]
            await schedule(services.scheduler, AdvanceRequest(request_id=request.id))
            stop = asyncio.Event()
            worker = asyncio.create_task(build_runner(services).run_forever(stop))
            try:
                for _ in range(200):
                    stored = await services.store.get(request.id)
                    if stored is not None and stored.final_reply_ts and fake.calls("chat.update"):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)  # a second post would be answered by now
            finally:
                stop.set()
                await asyncio.wait_for(worker, 10)
            finals = [m for m in fake.replies("C0UNCLEAR", request.parent_ts) if "backup_bot_final" in str(m)]
            assert len(finals) == 1, finals
            stored = await services.store.get(request.id)
            assert stored is not None and stored.final_reply_ts == finals[0]["ts"]
            # the first run's post was never sent again by the client; the second run looked first
            assert len(fake.calls("conversations.replies")) == 1
            assert len([c for c in fake.calls("chat.postMessage") if c.args.get("thread_ts")]) == 1
        finally:
            await impatient.close()
            await services.close()
            await sim.stop()


async def _leased(runtime: Runtime, n: int, *, lease_seconds: float) -> tuple[BackupRequest, Lease]:
    """An ended request with its parent posted, and its work leased as a worker's handler holds it."""
    services = runtime.services
    parent = await runtime.slack.chat_postMessage(channel="C0UNCLEAR", text="parent")
    request = _ended(str(parent["ts"]), n)
    await services.store.create(request)
    await schedule(services.scheduler, AdvanceRequest(request_id=request.id))
    [lease] = await services.scheduler.claim(limit=1, lease_seconds=lease_seconds)
    return request, lease


async def test_a_reply_is_looked_for_only_after_an_earlier_run_began_posting_it(
    slack_runtime: tuple[Runtime, FakeSlack],
) -> None:
    runtime, fake = slack_runtime
    services, slack = runtime.services, runtime.slack
    request, lease = await _leased(runtime, 1, lease_seconds=30)
    slot = "final_reply_ts"
    assert await posted_reply(slack, request, ReplyKind.FINAL, slot) is None  # nothing posted yet
    token = running.set(lease)  # inside a worker's run that holds the request's work
    try:
        ts = await reply_once(services, request, ReplyKind.FINAL, slot)  # marked, then posted
        assert await posted_reply(slack, request, ReplyKind.FINAL, slot) == ts
        # Its ts was never recorded (the answer was lost): the next run finds it, posts nothing.
        assert await reply_once(services, request, ReplyKind.FINAL, slot) == ts
        assert len(fake.replies("C0UNCLEAR", request.parent_ts)) == 1
        assert len(fake.calls("conversations.replies")) == 3  # two above, one by the rerun
        # Another kind, slot, request or state is not this reply.
        assert await posted_reply(slack, request, ReplyKind.CREATED, slot) is None
        assert await posted_reply(slack, request, ReplyKind.FINAL, "timeout_reply_ts") is None
        other = request.model_copy(update={"id": "r-0therreq01"})
        assert await posted_reply(slack, other, ReplyKind.FINAL, slot) is None
        failed = request.model_copy(update={"state": State.FAILED})
        assert await posted_reply(slack, failed, ReplyKind.FINAL, slot) is None
        # An install without the history scopes: the reply is posted again, not lost.
        fake.knobs.error_next["conversations.replies"] = ["missing_scope"]
        again = await reply_once(services, request, ReplyKind.FINAL, slot)
        assert again != ts and len(fake.replies("C0UNCLEAR", request.parent_ts)) == 2
    finally:
        running.reset(token)


async def test_a_run_whose_lease_is_gone_posts_no_reply(slack_runtime: tuple[Runtime, FakeSlack]) -> None:
    """A run that stalled past its lease (another may have taken the work over) posts nothing."""
    runtime, fake = slack_runtime
    request, stalled = await _leased(runtime, 2, lease_seconds=0.2)
    await asyncio.sleep(0.3)  # its lease ran out while it stood still
    token = running.set(stalled)
    try:
        with pytest.raises(LeaseLost):
            await reply_once(runtime.services, request, ReplyKind.FINAL, "final_reply_ts")
    finally:
        running.reset(token)
    assert fake.replies("C0UNCLEAR", request.parent_ts) == []
