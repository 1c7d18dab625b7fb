"""Roles, approvals and the form, end to end: the policy file as a deployment sets it, button clicks
and modal submissions as Slack sends them, and what the fake Slack and the simulator recorded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis

from bot.local.fake_slack import FakeSlack
from bot.store.audit import AuditLog
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import Deployment, final_replies, posts_in, text_of, wait_final_replies

POLICY = """
roles:
  requester: ["*"]
  operator: ["U0OPER"]
  approver: ["U0BOSS1", "U0BOSS2", "@db-managers"]
approval:
  required_for: ["*prod*"]
  expires_after: {expires}
  allow_self_approval: false
"""


async def _approval_request(slack: FakeSlack, within: float = 20.0) -> dict[str, Any]:
    """The parent message that carries Approve/Reject buttons."""

    def pending() -> list[dict[str, Any]]:
        return [m for m in slack.messages() if "approve_request" in json.dumps(m.get("blocks", []))]

    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if found := pending():
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no approval request was posted: {slack.messages()}")


def _private_to(slack: FakeSlack, text: str) -> list[str]:
    """Private answers (response_url posts) containing ``text``."""
    return [
        json.dumps(c.args) for c in slack.calls("response_url") if text.lower() in json.dumps(c.args).lower()
    ]


async def _deploy(deploy: DeploymentFactory, slack: FakeSlack, expires: int = 600) -> Deployment:
    slack.knobs.usergroups["db-managers"] = ["U0BOSS3"]
    return await deploy(policy=POLICY.format(expires=expires))


async def test_an_operator_creates_directly_where_no_approval_is_required(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy, fake_slack)
    await bot.command("create orders-dev op-direct", user_id="U0OPER")
    [final] = await wait_final_replies(fake_slack)
    assert "complete" in text_of(final).lower()
    assert "approve_request" not in json.dumps(fake_slack.messages())


async def test_an_operator_needs_approval_on_prod_and_an_approver_click_starts_one_backup(
    deploy: DeploymentFactory, fake_slack: FakeSlack, redis: aioredis.Redis
) -> None:
    bot = await _deploy(deploy, fake_slack)
    await bot.command("create orders-prod op-needs-ok", user_id="U0OPER")
    parent = await _approval_request(fake_slack)
    assert "<@U0BOSS1>" in text_of(parent)  # approvers are mentioned while it waits
    assert await bot.backups() == []

    answer = await bot.click("U0BOSS3", parent, "approve_request")  # a member of @db-managers
    assert answer.status_code == 200
    [final] = await wait_final_replies(fake_slack, within=30)
    assert "complete" in text_of(final).lower()
    [backup] = await bot.backups()
    assert backup["name"] == "op-needs-ok"
    thread = fake_slack.replies(parent["channel"], parent["ts"])
    assert any("Approved by <@U0BOSS3>" in m["text"] for m in thread)
    current = fake_slack.message(parent["channel"], parent["ts"])
    assert current is not None and "approve_request" not in json.dumps(current["blocks"])  # buttons gone

    actions = [e.action.value for e in reversed(await AuditLog(redis).latest(50))]
    for expected in ("requested", "approval_requested", "approved", "backup_started", "completed"):
        assert expected in actions, actions


async def test_self_approval_and_outsiders_are_refused_privately(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy, fake_slack)
    await bot.command("create orders-prod boss-own", user_id="U0BOSS1")
    parent = await _approval_request(fake_slack)

    await bot.click("U0BOSS1", parent, "approve_request")
    await bot.click("U9STRANGER", parent, "approve_request")
    await bot.click("U9STRANGER", parent, "reject_request")
    await fake_slack.wait_for("response_url", count=3, timeout=10)
    assert _private_to(fake_slack, "your own request")
    assert len(_private_to(fake_slack, "only approvers")) == 2
    await asyncio.sleep(1.0)
    assert await bot.backups() == []
    current = fake_slack.message(parent["channel"], parent["ts"])
    assert current is not None and "approve_request" in json.dumps(current["blocks"])  # nothing changed
    assert not fake_slack.calls("views.open")  # the outsider never got the reject form


async def test_two_approvals_at_once_create_one_backup_and_the_second_learns_who_won(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy, fake_slack)
    await bot.command("create orders-prod race-me", user_id="U0OPER")
    parent = await _approval_request(fake_slack)
    first, second = await asyncio.gather(
        bot.click("U0BOSS1", parent, "approve_request"), bot.click("U0BOSS2", parent, "approve_request")
    )
    assert first.status_code == second.status_code == 200
    await wait_final_replies(fake_slack, within=30)
    assert len(await bot.backups()) == 1
    told = await fake_slack.wait_for("response_url", timeout=10)
    assert "already approved by" in json.dumps(told[0].args)
    approvals = [m for m in fake_slack.replies(parent["channel"], parent["ts"]) if "Approved by" in m["text"]]
    assert len(approvals) == 1


async def test_reject_with_a_reason_creates_nothing(deploy: DeploymentFactory, fake_slack: FakeSlack) -> None:
    bot = await _deploy(deploy, fake_slack)
    await bot.command("create billing-prod please-no", user_id="U0OPER")
    parent = await _approval_request(fake_slack)
    await bot.click("U0BOSS2", parent, "reject_request")
    [opened] = await fake_slack.wait_for("views.open", timeout=10)
    assert opened.error is None
    await bot.submit("U0BOSS2", opened.args["view"], {"reason": "not during the <!channel> freeze"})
    [final] = await wait_final_replies(fake_slack, within=20)
    assert "rejected by <@U0BOSS2>" in final["text"]
    assert "&lt;!channel&gt;" in text_of(final) and "<!channel>" not in text_of(final)
    await asyncio.sleep(0.5)
    assert await bot.backups() == []
    current = fake_slack.message(parent["channel"], parent["ts"])
    assert current is not None and "approve_request" not in json.dumps(current["blocks"])


async def test_an_unapproved_request_expires_and_later_clicks_do_nothing(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy, fake_slack, expires=2)
    await bot.command("create orders-prod too-slow", user_id="U0OPER")
    parent = await _approval_request(fake_slack)
    [final] = await wait_final_replies(fake_slack, within=20)
    assert "expired" in final["text"]
    current = fake_slack.message(parent["channel"], parent["ts"])
    assert current is not None and "approve_request" not in json.dumps(current["blocks"])
    assert "expired" in text_of(current).lower()

    await bot.click("U0BOSS1", parent, "approve_request")  # a stale button in someone's client
    await fake_slack.wait_for(
        lambda c: c.method == "response_url" and "expired" in json.dumps(c.args), timeout=10
    )
    await asyncio.sleep(0.5)
    assert await bot.backups() == []
    assert len(final_replies(fake_slack)) == 1


async def test_a_user_with_no_role_is_refused_privately_with_who_can_help(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy(policy='roles:\n  operator: ["U0OPER"]\n  approver: ["U0BOSS1"]\n')
    answer = await bot.command("create orders-dev not-allowed", user_id="U9NOBODY")
    body = answer.json()
    assert "not allowed" in body["text"] and "<@U0BOSS1>" in body["text"]
    await asyncio.sleep(0.5)
    assert await bot.cloud_calls() == []
    assert posts_in(fake_slack) == []


async def test_the_form_opens_at_once_and_a_bad_name_gets_inline_errors(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy(simulator_args=("--latency-ms", "2500"))  # a slow instance list
    answer = await bot.command("")
    assert answer.status_code == 200
    [opened] = await fake_slack.wait_for("views.open", timeout=10)
    assert opened.error is None, "the trigger expired: the form waited for something slow"
    view = opened.args["view"]
    assert view["private_metadata"] and "C1" in view["private_metadata"]

    await bot.sim("DELETE", "calls")
    bad = await bot.submit(
        "U1",
        view,
        {"instance": "77c0b1ebcd7bc7474758aa00de956eb1in07", "name": "9-lives", "description": "a=b"},
    )
    errors = bad.json()
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"name", "description"}
    await asyncio.sleep(0.5)
    assert [c for c in await bot.cloud_calls() if "backups" in c["path"]] == []

    good = await bot.submit(
        "U1",
        view,
        {"instance": "77c0b1ebcd7bc7474758aa00de956eb1in07", "name": "from-the-form", "reference": "CHG-7"},
    )
    assert good.status_code == 200 and not good.content.strip(b"{} ")
    [final] = await wait_final_replies(fake_slack, within=40)
    assert "complete" in text_of(final).lower()
    parent = fake_slack.message(final["channel"], final["thread_ts"])
    assert parent is not None and "CHG-7" in text_of(parent)
