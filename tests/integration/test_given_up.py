"""Work that ran out of tries (parked), told to the people it concerns, against a real Redis and the
fake Slack: a planned deletion's thread hears that the bot gave up and the backup must be deleted by
hand (not the refusal's "the bot tries again"), and a request given up on while it waited for
approval leaves its approvers' Homes."""

from __future__ import annotations

from bot.app import retention
from bot.app.parking import on_parked
from bot.app.work import AdvanceRequest, PublishHome
from bot.bootstrap import open_runtime
from bot.config import load_settings
from bot.domain.request import BackupRequest, State
from bot.local.fake_slack import FakeSlack
from bot.store.scheduler import Lease


async def test_a_deletion_given_up_says_so_in_the_thread_and_the_parent(redis_url: str) -> None:
    async with FakeSlack() as fake:
        settings = load_settings(SLACK_BOT_TOKEN="xoxb-given-up", SLACK_API_URL=fake.url, REDIS_URL=redis_url)
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=False)
        services, slack = runtime.services, runtime.slack
        try:
            parent = await slack.chat_postMessage(channel="C0GIVEUP", text="parent")
            request = BackupRequest(
                state=State.COMPLETED,
                channel_id="C0GIVEUP",
                user_id="U0GIVEUP",
                instance_ref="orders-dev",
                instance_id="a" * 32 + "in07",
                instance_name="orders-dev",
                backup_name="given-up",
                backup_id="b" * 32 + "br01",
                parent_ts=str(parent["ts"]),
                role="requester",
                language="en-us",
                keep_for=5.0,
                delete_at=1.0,
                deletion="deleting",
                deletion_problem_ts="1700000000.000001",  # the refusal was said already
            )
            await services.store.create(request)
            # Slack fails the post once: the parked work's last word is not lost (nothing would try it
            # again), so Slack's own retry stays on outside a worker's run.
            fake.knobs.fail_next["chat.postMessage"] = 1
            await retention.deletion_given_up(services, request.id, "DBS.201208: refused 8 times")
            stored = await services.store.get(request.id)
            assert stored is not None and stored.deletion == "failed"
            [reply] = [m for m in fake.replies("C0GIVEUP", request.parent_ts) if m["ts"] != request.parent_ts]
            assert "by hand" in reply["text"] and "tries again" not in reply["text"], reply["text"]
            shown = fake.message("C0GIVEUP", request.parent_ts)
            assert shown is not None and "by hand" in str(shown["blocks"]), shown
        finally:
            await services.close()


async def test_a_request_given_up_while_pending_leaves_its_approvers_homes(redis_url: str) -> None:
    async with FakeSlack() as fake:
        settings = load_settings(SLACK_BOT_TOKEN="xoxb-given-up", SLACK_API_URL=fake.url, REDIS_URL=redis_url)
        runtime = await open_runtime(settings, redis_url=redis_url, with_cloud=False)
        services, slack = runtime.services, runtime.slack
        try:
            parent = await slack.chat_postMessage(channel="C0GIVEUP", text="parent")
            request = BackupRequest(
                state=State.PENDING_APPROVAL,
                channel_id="C0GIVEUP",
                user_id="U0GIVEUP",
                instance_ref="orders-prod",
                backup_name="given-up-pending",
                parent_ts=str(parent["ts"]),
                role="requester",
                language="en-us",
                approvers=["U0GAPPR"],
            )
            await services.store.create(request)
            for person in ("U0GIVEUP", "U0GAPPR"):  # both have opened their Home: it is kept current
                await services.home.opened(person, await services.clock.now())
            work = AdvanceRequest(request_id=request.id)
            await on_parked(services, Lease(str(work.key), work.payload(), "t", 9), "failed 8 times in a row")
            stored = await services.store.get(request.id)
            assert stored is not None and stored.state is State.CREATE_FAILED
            for person in ("U0GIVEUP", "U0GAPPR"):
                assert await services.scheduler.is_scheduled(str(PublishHome(user_id=person).key)), person
        finally:
            await services.close()
