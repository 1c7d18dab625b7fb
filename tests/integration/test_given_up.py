"""Work that ran out of tries (parked), told to the people it concerns, against a real Redis and the
fake Slack: a planned deletion's thread hears that the bot gave up and the backup must be deleted by
hand (not the refusal's "the bot tries again"), and a request given up on while it waited for
approval leaves its approvers' Homes."""

from __future__ import annotations

from typing import Any

from bot.app import retention
from bot.app.parking import on_parked
from bot.app.work import AdvanceRequest, PublishHome
from bot.bootstrap import Runtime
from bot.domain.request import BackupRequest, State
from bot.local.fake_slack import FakeSlack
from bot.store.scheduler import Lease

CHANNEL = "C0GIVEUP"


async def _stored(runtime: Runtime, **fields: Any) -> BackupRequest:
    """A request of U0GIVEUP's with its parent message posted, as given up work leaves one."""
    parent = await runtime.slack.chat_postMessage(channel=CHANNEL, text="parent")
    request = BackupRequest(
        channel_id=CHANNEL,
        user_id="U0GIVEUP",
        parent_ts=str(parent["ts"]),
        role="requester",
        language="en-us",
        **fields,
    )
    await runtime.services.store.create(request)
    return request


async def test_a_deletion_given_up_says_so_in_the_thread_and_the_parent(
    slack_runtime: tuple[Runtime, FakeSlack],
) -> None:
    runtime, fake = slack_runtime
    services = runtime.services
    request = await _stored(
        runtime,
        state=State.COMPLETED,
        instance_ref="orders-dev",
        instance_id="a" * 32 + "in07",
        instance_name="orders-dev",
        backup_name="given-up",
        backup_id="b" * 32 + "br01",
        keep_for=5.0,
        delete_at=1.0,
        deletion="deleting",
        deletion_problem_ts="1700000000.000001",  # the refusal was said already
    )
    # Slack fails the post once: the parked work's last word is not lost (nothing would try it
    # again), so Slack's own retry stays on outside a worker's run.
    fake.knobs.fail_next["chat.postMessage"] = 1
    await retention.deletion_given_up(services, request.id, "DBS.201208: refused 8 times")
    stored = await services.store.get(request.id)
    assert stored is not None and stored.deletion == "failed"
    [reply] = [m for m in fake.replies(CHANNEL, request.parent_ts) if m["ts"] != request.parent_ts]
    assert "by hand" in reply["text"] and "tries again" not in reply["text"], reply["text"]
    shown = fake.message(CHANNEL, request.parent_ts)
    assert shown is not None and "by hand" in str(shown["blocks"]), shown


async def test_a_request_given_up_while_pending_leaves_its_approvers_homes(
    slack_runtime: tuple[Runtime, FakeSlack],
) -> None:
    runtime, _ = slack_runtime
    services = runtime.services
    request = await _stored(
        runtime,
        state=State.PENDING_APPROVAL,
        instance_ref="orders-prod",
        backup_name="given-up-pending",
        approvers=["U0GAPPR"],
    )
    for person in ("U0GIVEUP", "U0GAPPR"):  # both have opened their Home: it is kept current
        await services.home.opened(person, await services.clock.now())
    work = AdvanceRequest(request_id=request.id)
    await on_parked(services, Lease(str(work.key), work.payload(), "t", 9), "failed 8 times in a row")
    stored = await services.store.get(request.id)
    assert stored is not None and stored.state is State.CREATE_FAILED
    for person in ("U0GIVEUP", "U0GAPPR"):
        assert await services.scheduler.is_scheduled(str(PublishHome(user_id=person).key)), person
