"""What operators see: /healthz, /metrics across processes, and logs that never hold a secret."""

from __future__ import annotations

import time

import httpx

from bot.local.fake_slack import FakeSlack
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import SIGNING_SECRET, wait_final_replies

AK = "AKOBSERVABILITY00001"
SK = "sk-very-secret-value-never-logged-1234567890"
BOT_TOKEN = "xoxb-secret-bot-token-never-logged"
METRICS_TOKEN = "metrics-token-never-logged-either"


async def test_a_full_signed_run_reports_metrics_and_logs_no_secret(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_REGION": "ap-southeast-3",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": "DEBUG",
    }
    bot = await deploy(env=env)  # the simulator checks the same AK/SK signatures
    await bot.command("create orders-dev observed-run")
    await wait_final_replies(fake_slack, within=40)

    async with httpx.AsyncClient(timeout=5) as client:
        health = await client.get(f"{bot.web_url}/healthz")
        anonymous = await client.get(f"{bot.web_url}/metrics")
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        metrics = (await client.get(f"{bot.web_url}/metrics", headers=bearer)).text
        # Header bytes an anonymous caller chose: refused, never a 500 (nor a traceback in the log).
        odd_bearer = await client.get(f"{bot.web_url}/metrics", headers={"Authorization": b"Bearer \xff\xfe"})
        odd_signature = await client.post(
            f"{bot.web_url}/slack/events",
            content=b"command=%2Fbackup&text=help",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=é".encode(),
            },
        )
    assert odd_bearer.status_code == 401 and odd_signature.status_code == 401
    assert health.status_code == 200 and health.json() == {"ok": True}
    assert anonymous.status_code == 401 and "backup_bot" not in anonymous.text
    assert 'backup_bot_events_total{kind="completed"} 1.0' in metrics
    labels = 'operation="create_backup",region="ap-southeast-3",status="201"'
    assert f"backup_bot_cloud_calls_total{{{labels}}} 1.0" in metrics
    assert "backup_bot_work_parked 0.0" in metrics
    assert 'backup_bot_work_total{kind="poll"' in metrics
    assert 'backup_bot_backups_in_flight{region="ap-southeast-3"} 0.0' in metrics

    calls = await bot.cloud_calls()
    assert calls and all(c["status"] != 401 for c in calls), "the simulator refused our AK/SK signature"
    logs = bot.logs(tail=None)
    assert '"request_id": "r-' in logs  # JSON lines name the request they are about
    for secret in (SK, BOT_TOKEN, SIGNING_SECRET, METRICS_TOKEN):
        assert secret not in logs
