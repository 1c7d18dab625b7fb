"""The core flow, end to end: signed slash commands into `python -m bot web`, a `python -m bot worker`,
the simulator over HTTP and the fake Slack recording what the bot says."""

from __future__ import annotations

import asyncio
import json

from bot.local.fake_slack import FakeSlack
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import posts_in, text_of, wait_final_replies

ORDERS_PROD_ID = "66c3e95efa31bb6a055ad7906c65864ein07"


async def test_create_posts_a_parent_a_job_reply_and_one_final_reply(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    answer = await bot.command("create orders-prod pre-change-42 before the schema change @channel *now*")

    assert answer.status_code == 200
    ack = answer.json()
    assert ack.get("response_type", "ephemeral") == "ephemeral"
    assert "pre-change-42" in ack["text"]

    [final] = await wait_final_replies(fake_slack)
    [parent_call] = [c for c in posts_in(fake_slack) if "thread_ts" not in c.args or not c.args["thread_ts"]]
    parent_ts = final["thread_ts"]
    replies = fake_slack.replies("C1", parent_ts)
    [backup] = await bot.backups()
    assert backup["name"] == "pre-change-42" and backup["status"] == "COMPLETED"
    assert backup["instance_id"] == ORDERS_PROD_ID

    # the thread: first the IDs, then the result mentioning the requester
    assert len(replies) == 2
    created, finished = replies
    assert backup["id"] in text_of(created) and backup["job_id"] in text_of(created)
    assert "<@U1>" in finished["text"]
    assert "COMPLETED" in text_of(finished).upper() or "complete" in text_of(finished).lower()

    # the parent names the requester, the instance (name and ID) and shows the final state
    parent = fake_slack.message("C1", parent_ts)
    assert parent is not None
    shown = text_of(parent)
    assert "<@U1>" in shown and "orders-prod" in shown and ORDERS_PROD_ID in shown
    assert fake_slack.calls("chat.update"), "the parent message was never updated"
    assert parent_call.args["channel"] == "C1"

    # the description is shown, but "@channel" stays plain text (no <!channel>, no link_names)
    assert "before the schema change" in shown
    for call in fake_slack.calls():
        assert "<!channel>" not in json.dumps(call.args)
        assert not call.args.get("link_names")


async def test_slack_markup_in_a_command_is_refused_and_never_echoed_live(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    answer = await bot.command("create orders-prod pre-change-43 before the <!channel> change & more")
    body = answer.json()
    shown = body["text"] + json.dumps(body.get("blocks", []))
    assert "may not contain" in shown
    assert "<!channel>" not in shown and "<" not in body["text"]
    await asyncio.sleep(0.5)
    assert await bot.backups() == []


async def test_a_failed_backup_is_reported_with_its_reason(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    await bot.command("create legacy-broken nightly-check")
    [final] = await wait_final_replies(fake_slack)
    assert "fail" in text_of(final).lower()
    assert "backup lock" in text_of(final)
    [backup] = await bot.backups()
    assert backup["status"] == "FAILED"


async def test_an_instance_given_by_id_works(deploy: DeploymentFactory, fake_slack: FakeSlack) -> None:
    bot = await deploy()
    await bot.command(f"create {ORDERS_PROD_ID} by-id-backup")
    await wait_final_replies(fake_slack)
    [backup] = await bot.backups()
    assert backup["instance_id"] == ORDERS_PROD_ID and backup["name"] == "by-id-backup"


async def test_bad_input_is_refused_privately_with_no_cloud_or_slack_call(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    await bot.sim("DELETE", "calls")
    cases = {
        "create orders-prod 1starts-with-digit": "start with a letter",
        "create orders-prod abc": "4 to 64",
        'create orders-prod good-name has a " quote': "may not contain",
        "create orders-prod": "name",
        "frobnicate": "create",
    }
    for text, expected in cases.items():
        answer = await bot.command(text)
        assert answer.status_code == 200
        body = answer.json()
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert expected in body["text"] + json.dumps(body.get("blocks", [])), (text, body)
    await asyncio.sleep(1.0)  # give a (wrong) worker time to do something
    assert await bot.cloud_calls() == []
    # Nothing is posted; the only Slack call is a worker learning the user's locale for next time.
    assert [c.method for c in fake_slack.calls() if c.method not in ("auth.test", "users.info")] == []


async def test_an_unknown_instance_is_answered_privately_with_the_closest_names(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    await bot.command("create orders-prd pre-change-1")
    [note] = await fake_slack.wait_for("response_url", timeout=15)
    shown = json.dumps(note.args)
    assert "orders-prd" in shown and "orders-prod" in shown
    await asyncio.sleep(0.5)
    assert posts_in(fake_slack) == [], "nothing may be posted in the channel for a typo"
    assert await bot.backups() == []


async def test_unsigned_wrongly_signed_and_stale_requests_get_401(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    import time

    from bot.local.fake_slack import sign_request, slash_command_body

    bot = await deploy()
    body = slash_command_body("create orders-prod sneaky-backup")
    form = "application/x-www-form-urlencoded"
    unsigned = await bot.post_signed(body, content_type=form, headers={})
    wrong = await bot.post_signed(body, content_type=form, headers=sign_request("not-the-secret", body))
    stale = await bot.post_signed(
        body, content_type=form, headers=sign_request("e2e-signing-secret", body, int(time.time()) - 600)
    )
    assert [r.status_code for r in (unsigned, wrong, stale)] == [401, 401, 401]
    await asyncio.sleep(0.5)
    assert await bot.cloud_calls() == []


async def test_a_slack_retry_of_the_same_command_creates_one_backup(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    first = await bot.command("create orders-dev retried-once", trigger_id="trig-1")
    again = await bot.command("create orders-dev retried-once", trigger_id="trig-1")
    assert first.status_code == again.status_code == 200
    await wait_final_replies(fake_slack)
    assert len(await bot.backups()) == 1
    assert len([c for c in posts_in(fake_slack) if not c.args.get("thread_ts")]) == 1


async def test_a_name_already_used_on_the_instance_is_refused_before_any_create(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    # After an unclear create the bot looks its backup up by instance and name: that is only proof
    # when the name was free before, so a re-used name is refused instead of adopted.
    bot = await deploy()
    await bot.command("create orders-dev same-name-twice")
    await wait_final_replies(fake_slack)
    await bot.command("create orders-dev same-name-twice the second one")
    finals = await wait_final_replies(fake_slack, count=2)
    assert "already exists" in text_of(finals[-1])
    assert len(await bot.backups()) == 1
    creates = [c for c in await bot.cloud_calls() if c["method"] == "POST" and "backups/create" in c["path"]]
    assert len(creates) == 1
