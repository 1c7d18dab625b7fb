"""The policy file as a deployment sees it, the audit trail, the shortcut and the type-ahead."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.local.fake_slack import FakeSlack, new_trigger_id
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import ROOT, wait_final_replies

POLICY = """
roles:
  requester: ["*"]
  operator: ["U0OPER"]
  approver: ["U0BOSS1"]
approval:
  required_for: ["*prod*"]
"""


def test_a_malformed_policy_file_stops_start_up_naming_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('roles:\n  requester: ["*"]\n  operator: ["db-oncall"]\n')
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_BOT_TOKEN": "xoxb-x",
        "SLACK_SIGNING_SECRET": "s",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "BACKUP_POLICY_FILE": str(policy),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "web"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 78
    assert "BACKUP_POLICY_FILE" in done.stderr and "line 3" in done.stderr and "db-oncall" in done.stderr


async def test_help_says_when_the_open_default_applies(deploy: DeploymentFactory) -> None:
    bot = await deploy()
    body = (await bot.command("help")).json()
    shown = body["text"] + json.dumps(body["blocks"])
    assert "open default" in shown and "/backup create" in shown


async def test_the_audit_trail_is_for_approvers_and_decisions_reach_the_audit_channel(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy(policy=POLICY, env={"AUDIT_CHANNEL": "C0AUDIT"})
    fake_slack.knobs.not_member.discard("C0AUDIT")
    await bot.command("create orders-dev audited-one", user_id="U0OPER")
    await wait_final_replies(fake_slack, within=30)

    refused = (await bot.command("audit 5", user_id="U0OPER")).json()
    assert "Only approvers" in refused["text"]
    shown = json.dumps((await bot.command("audit 10", user_id="U0BOSS1")).json())
    for expected in ("Requested", "Completed", "audited-one"):
        assert expected.lower() in shown.lower(), shown

    lines = await fake_slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "C0AUDIT", timeout=10
    )
    assert any("audited-one" in c.args["text"] for c in lines)


async def test_the_shortcut_opens_the_form_asking_for_a_channel(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await deploy()
    answer = await bot.interact(
        {
            "type": "shortcut",
            "callback_id": "take_backup",
            "user": {"id": "U1"},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": new_trigger_id(),
            "action_ts": "1",
        }
    )
    assert answer.status_code == 200
    [opened] = await fake_slack.wait_for("views.open", timeout=10)
    assert opened.error is None
    blocks = {b["block_id"] for b in opened.args["view"]["blocks"] if b.get("block_id")}
    assert {"instance", "name", "channel"} <= blocks


async def test_the_type_ahead_offers_active_instances_only(deploy: DeploymentFactory) -> None:
    bot = await deploy()

    async def suggest(value: str) -> list[str]:
        answer = await bot.interact(
            {
                "type": "block_suggestion",
                "action_id": "instance_select",
                "block_id": "instance",
                "value": value,
                "user": {"id": "U1"},
                "team": {"id": "T1"},
                "api_app_id": "A1",
                "view": {"id": "V1", "callback_id": "backup_form", "type": "modal"},
            }
        )
        assert answer.status_code == 200
        return [o["text"]["text"] for o in answer.json()["options"]]

    names = await suggest("")
    if not names:  # the first request found the cache cold and woke a worker to fill it
        names = await suggest("")
    assert "orders-prod" in names and "analytics-dev" in names
    assert "reporting-frozen" not in names  # FROZEN: not selectable
    assert await suggest("orders") == ["orders-dev", "orders-prod"]
