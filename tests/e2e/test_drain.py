"""SIGTERM drains a real worker process: a handler stuck in a slow call (Slack's ``Retry-After`` of a
minute) does not hold the exit beyond 10 s, its work is handed back due now rather than left to its
lease, and the next worker does it once."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from bot.app.work import SyncGroups
from bot.local.fake_slack import FakeSlack
from bot.store import keys
from tests.e2e.conftest import DeploymentFactory

EXIT_WITHIN = 10.0  # seconds from SIGTERM to exit: the bound
# A policy naming a Slack user group: every worker syncs its members (usergroups.list) at start.
GROUP_POLICY = 'roles:\n  requester: ["*"]\n  operator: ["@db-oncall"]\n  approver: ["@db-oncall"]\n'
SYNC = str(SyncGroups().key)


def group_reads(slack: FakeSlack, status: int) -> int:
    return len([c for c in slack.calls("usergroups.list") if c.status == status])


async def handed_back(redis: aioredis.Redis, key: str) -> bool:
    """``key`` is scheduled, leased by nobody, and due now (not when a lease would run out)."""
    due = await redis.zscore(keys.scheduler_due("work"), key)
    seconds, micros = await redis.time()
    leased = await redis.hexists(keys.scheduler_tokens("work"), key)
    return due is not None and not leased and due <= seconds + micros / 1e6


async def test_sigterm_hands_a_stuck_handlers_work_to_the_next_worker(
    deploy: DeploymentFactory, fake_slack: FakeSlack, redis: aioredis.Redis
) -> None:
    fake_slack.knobs.usergroups["db-oncall"] = ["U0ONCALL"]
    fake_slack.knobs.rate_limit_next["usergroups.list"] = 1
    fake_slack.knobs.retry_after = 60  # the worker's Slack client waits a minute, inside the handler
    bot = await deploy(workers=1, policy=GROUP_POLICY)
    await fake_slack.wait_for(lambda c: c.method == "usergroups.list" and c.status == 429, timeout=30)

    [worker] = [p for p in bot.processes if p.name.startswith("worker")]
    code = await asyncio.to_thread(worker.stop, EXIT_WITHIN)  # SIGKILLed, and so not 0, past the bound
    assert code == 0, worker.log()[-3000:]
    assert f"handed {SYNC} back unfinished" in worker.log()
    assert await handed_back(redis, SYNC)

    # Slack's Retry-After holds usergroups.list for every worker (a minute here): the next worker
    # would wait it out too. Let that minute pass, as far as the bot can tell.
    hold = keys.pace_hold("usergroups.list")
    assert 50 < await redis.ttl(hold) <= 61
    await redis.delete(hold)
    bot.start_worker()
    await fake_slack.wait_for(lambda c: c.method == "usergroups.list" and c.status == 200, timeout=30)
    await asyncio.sleep(1.0)  # long enough for a second read to show, were there one
    assert group_reads(fake_slack, 200) == 1 and group_reads(fake_slack, 429) == 1
    assert not await handed_back(redis, SYNC)  # done: due again only in GROUP_SYNC_EVERY
    [web] = [p for p in bot.processes if p.name == "web"]
    assert await asyncio.to_thread(web.stop, EXIT_WITHIN) == 0, web.log()[-3000:]


async def test_sigterm_lets_the_web_finish_what_a_listener_does_after_its_answer(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    """``/backup`` alone is answered at its ack and opens the form after it. A SIGTERM in between
    waits for the form (a slow views.open, held by the fake); one that Slack holds past the web's
    shutdown budget is stopped with a warning, and the process still exits in time."""
    bot = await deploy(workers=0)
    fake_slack.knobs.slow_next["views.open"] = [1.5]
    answer = await bot.command("", trigger_id="trig-drained")
    assert answer.status_code == 200
    assert fake_slack.calls("views.open") == []  # answered at the ack; the form is still on its way
    web = bot.process("web")
    code = await asyncio.to_thread(web.stop, EXIT_WITHIN)
    exited = time.time()
    assert code == 0, web.log()[-3000:]
    [opened] = fake_slack.calls("views.open")
    assert opened.status == 200 and opened.args["trigger_id"] == "trig-drained"
    assert opened.at <= exited  # answered while the process was still there to read it
    assert "still at work" not in web.log() and "failed after its answer" not in web.log()

    web = await bot.start_web()
    fake_slack.knobs.slow_next["views.open"] = [6.0]  # past the 3 s the web gives it
    assert (await bot.command("", trigger_id="trig-cut")).status_code == 200
    code = await asyncio.to_thread(web.stop, EXIT_WITHIN)
    assert code == 0, web.log()[-3000:]
    assert "stopped 1 listener(s) still at work after their answer" in web.log()
