"""The core flow survives what production does to it: killed workers, two workers, a create whose
answer is lost, gateway errors on reads, a channel the bot is not in, direct messages, slow backups."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import redis.asyncio as aioredis

from bot.domain.request import BackupRequest, State
from bot.local.fake_slack import FakeSlack
from bot.store import keys
from bot.store.requests import RequestStore
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import final_replies, posts_in, text_of, wait_final_replies

INSTANCES = ["orders-prod", "orders-dev", "billing-prod", "analytics-dev"]


async def _wait_request(
    redis: aioredis.Redis, predicate: Callable[[BackupRequest], bool], within: float = 20.0
) -> BackupRequest:
    store = RequestStore(redis)
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async for key in redis.scan_iter(match=keys.request("*")):
            request = await store.get(key.decode().rsplit(":", 1)[1])
            if request is not None and predicate(request):
                return request
        await asyncio.sleep(0.05)
    raise AssertionError("no request reached the expected state")


async def test_a_worker_killed_mid_backup_is_replaced_and_reports_once(
    deploy: DeploymentFactory, fake_slack: FakeSlack, redis: aioredis.Redis
) -> None:
    bot = await deploy(simulator_args=("--backup-seconds", "4"))
    await bot.command("create orders-prod killed-mid-backup")
    # Mid-backup: the backup is building and the thread shows its IDs (recorded as posted). Killing
    # in the milliseconds between Slack accepting a message and the bot recording it would repeat
    # that one message on restart (Slack has no idempotency key; README "Delivery guarantees").
    await _wait_request(redis, lambda r: r.state is State.BUILDING and bool(r.created_reply_ts))
    [worker] = [p for p in bot.processes if p.name.startswith("worker")]
    worker.kill()
    await asyncio.sleep(0.5)
    bot.start_worker()
    [final] = await wait_final_replies(fake_slack, within=40)
    assert "complete" in text_of(final).lower()
    [backup] = await bot.backups()
    assert backup["status"] == "COMPLETED"
    assert len(posts_in(fake_slack)) == 3  # parent, IDs, result: nothing twice


async def test_two_workers_give_each_request_exactly_one_final_reply(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy(workers=2)
    for i, instance in enumerate(INSTANCES):
        await bot.command(f"create {instance} two-workers-{i}", user_id=f"U{i}")
    finals = await wait_final_replies(fake_slack, count=len(INSTANCES), within=40)
    assert len(finals) == len(INSTANCES)
    assert sorted(m["thread_ts"] for m in finals) == sorted({m["thread_ts"] for m in finals})
    backups = await bot.backups()
    assert sorted(b["name"] for b in backups) == sorted(f"two-workers-{i}" for i in range(len(INSTANCES)))
    parents = [c for c in posts_in(fake_slack) if not c.args.get("thread_ts")]
    assert len(parents) == len(INSTANCES)


async def test_a_create_whose_answer_is_lost_makes_one_backup_and_reports_it(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    await bot.sim("POST", "faults", {"drop_after_create": 1})
    await bot.command("create orders-dev answer-lost")
    [final] = await wait_final_replies(fake_slack, within=40)
    assert "complete" in text_of(final).lower()
    [backup] = await bot.backups()
    assert backup["name"] == "answer-lost"
    creates = [c for c in await bot.cloud_calls() if c["method"] == "POST" and "backups/create" in c["path"]]
    assert len(creates) == 1, "the create was sent again instead of looked up"


async def test_gateway_errors_on_status_reads_still_end_in_one_final_reply(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    await bot.sim(
        "POST",
        "faults",
        {
            "fail_next": [
                {"count": 4, "status": 503, "method": "GET", "path_contains": "/backups"},
                {"count": 3, "status": 429, "method": "GET", "path_contains": "/backups", "retry_after": 0.2},
                {"count": 3, "status": 500, "method": "GET", "path_contains": "/jobs"},
            ]
        },
    )
    await bot.command("create analytics-dev flaky-gateway")
    [final] = await wait_final_replies(fake_slack, within=40)
    assert "complete" in text_of(final).lower()
    statuses = [c["status"] for c in await bot.cloud_calls()]
    assert 503 in statuses and 429 in statuses


async def test_a_public_channel_is_joined_and_a_private_one_gets_a_private_invite_hint(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    fake_slack.knobs.not_member.update({"C2", "G1"})
    bot = await deploy()
    await bot.command("create orders-dev public-join", channel_id="C2")
    await bot.command("create analytics-dev private-wait", channel_id="G1", user_id="U7")

    await fake_slack.wait_for("conversations.join", timeout=20)
    hint = await fake_slack.wait_for(
        lambda c: c.method == "response_url" and "invite" in json.dumps(c.args).lower(), timeout=20
    )
    assert hint, "the requester was not told how to invite the bot"
    await wait_final_replies(fake_slack, count=1, within=40)  # the public one finished
    assert not [c for c in posts_in(fake_slack, "G1") if c.error is None]

    fake_slack.knobs.not_member.discard("G1")  # someone typed /invite @backup-bot
    finals = await wait_final_replies(fake_slack, count=2, within=60)
    assert {m["channel"] for m in finals} == {"C2", "G1"}
    assert sorted(b["name"] for b in await bot.backups()) == ["private-wait", "public-join"]


async def test_a_direct_message_channel_works(deploy: DeploymentFactory, fake_slack: FakeSlack) -> None:
    bot = await deploy()
    await bot.command("create orders-dev from-a-dm", channel_id="D0123")
    [final] = await wait_final_replies(fake_slack, within=30)
    assert final["channel"] == "D0123"


async def test_a_backup_past_the_poll_timeout_is_reported_then_finished(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy(simulator_args=("--backup-seconds", "5"), poll_timeout=1.5)
    await bot.command("create billing-prod slow-one")
    notices = await wait_final_replies(fake_slack, count=2, within=40)
    first, last = notices
    assert "still" in text_of(first).lower()
    assert "complete" in text_of(last).lower()
    assert len(final_replies(fake_slack)) == 2
