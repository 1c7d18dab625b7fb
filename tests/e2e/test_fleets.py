"""One bot for two regions, end to end: each project its own ID, creates routed by where the
instance is, names qualified where they would be ambiguous, both projects polled, and a region
whose API fails holding up only its own backups."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from bot.local.fake_slack import FakeSlack
from tests.e2e.conftest import DeploymentFactory
from tests.e2e.harness import Deployment, final_replies, text_of, wait_final_replies

EAST, NORTH = "ap-southeast-1", "cn-north-4"
EAST_PID, NORTH_PID = "a1" * 16, "b2" * 16
METRICS_TOKEN = "fleet-metrics-token"


async def _deploy(deploy: DeploymentFactory) -> Deployment:
    return await deploy(
        simulator_args=(
            "--regions",
            f"{EAST},{NORTH}",
            "--project",
            f"{EAST}={EAST_PID}",
            "--project",
            f"{NORTH}={NORTH_PID}",
        ),
        env={
            "HUAWEICLOUD_REGION": f"{EAST},{NORTH}",
            "HUAWEICLOUD_SDK_PROJECT_ID": f"{EAST}={EAST_PID},{NORTH}={NORTH_PID}",
            "METRICS_TOKEN": METRICS_TOKEN,
        },
    )


def _private(slack: FakeSlack, needle: str) -> list[str]:
    return [
        json.dumps(c.args, ensure_ascii=False)
        for c in slack.calls("response_url")
        if needle in json.dumps(c.args)
    ]


async def test_two_regions_route_qualify_and_poll_each_project(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy)
    await bot.command("create orders-dev fleet-east", user_id="U1")  # only in the first region
    await bot.command("create payments-dev fleet-north", user_id="U2")  # only in the second
    await bot.command(f"create {NORTH}/orders-prod fleet-qualified", user_id="U3")
    await bot.command("create orders-prod fleet-ambiguous", user_id="U4")  # in both regions
    finals = await wait_final_replies(fake_slack, count=3, within=45)

    assert all("complete" in text_of(f).lower() for f in finals)
    shown = " ".join(text_of(m) for m in fake_slack.messages())
    assert (
        f"{EAST}/orders-dev" in shown and f"{NORTH}/payments-dev" in shown and f"{NORTH}/orders-prod" in shown
    )
    refusal = _private(fake_slack, "fleet-ambiguous") or _private(fake_slack, "orders-prod")
    assert any(f"{EAST}/orders-prod" in r and f"{NORTH}/orders-prod" in r for r in refusal), refusal
    assert "fleet-ambiguous" not in shown  # refused privately: nothing posted

    backups = {b["name"]: b for b in await bot.backups()}
    assert backups["fleet-east"]["project_id"] == EAST_PID
    assert backups["fleet-north"]["project_id"] == NORTH_PID
    assert backups["fleet-qualified"]["project_id"] == NORTH_PID
    assert "fleet-ambiguous" not in backups
    calls = await bot.cloud_calls()
    creates = [c for c in calls if c["method"] == "POST" and c["path"].endswith("/backups/create")]
    assert sorted(c["path"].split("/")[2] for c in creates) == sorted([EAST_PID, NORTH_PID, NORTH_PID])
    polled = {
        c["path"].split("/")[2] for c in calls if c["method"] == "GET" and c["path"].endswith("/backups")
    }
    assert {EAST_PID, NORTH_PID} <= polled  # each project's own list call

    async with httpx.AsyncClient(timeout=5) as client:
        metrics = (
            await client.get(f"{bot.web_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        ).text
    assert f'backup_bot_backups_in_flight{{region="{EAST}"}}' in metrics
    assert f'backup_bot_backups_in_flight{{region="{NORTH}"}}' in metrics
    assert f'region="{NORTH}",status="201"' in metrics  # the create counted under its region


async def test_a_failing_region_delays_only_its_own_backups(
    deploy: DeploymentFactory, fake_slack: FakeSlack
) -> None:
    bot = await _deploy(deploy)
    await bot.command("create payments-dev held-north", user_id="U1")
    await bot.command("create orders-dev free-east", user_id="U2")

    await fake_slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.error is None
            and (c.args.get("metadata") or {}).get("event_type") == "backup_bot_created"
        ),
        count=2,
        timeout=30,
    )
    # From now on every call to the second region's project fails, for a minute.
    await bot.sim("POST", "faults", {"outages": [{"region": NORTH, "seconds": 60, "status": 503}]})

    [east] = await wait_final_replies(fake_slack, count=1, within=30)
    assert "free-east" in text_of(east) and "complete" in text_of(east).lower()
    outage = (await bot.sim("GET", "faults"))["outages"]
    assert outage and outage[0]["until"] > time.time() + 20  # the other region is still failing
    assert not any("held-north" in text_of(m) for m in final_replies(fake_slack))

    await bot.sim("DELETE", "faults")  # the region comes back: its backup is reported, once
    finals = await wait_final_replies(fake_slack, count=2, within=40)
    assert sum("held-north" in text_of(m) for m in finals) == 1


async def test_the_type_ahead_names_regions_while_one_region_cannot_be_listed(
    deploy: DeploymentFactory,
) -> None:
    """With two regions configured, the form's type-ahead shows ``<region>/<name>`` even while
    only one region's instances could be listed (the same name may be in the other one)."""
    bot = await _deploy(deploy)
    await bot.sim("POST", "faults", {"outages": [{"region": NORTH, "seconds": 60, "status": 503}]})
    offered: list[str] = []
    for _ in range(100):
        answer = await bot.interact(
            {
                "type": "block_suggestion",
                "action_id": "instance_select",
                "block_id": "instance",
                "value": "orders",
                "user": {"id": "U1"},
                "team": {"id": "T1"},
                "api_app_id": "A1",
                "view": {"id": "V1", "callback_id": "backup_form", "type": "modal"},
            }
        )
        assert answer.status_code == 200
        if offered := [o["text"]["text"] for o in answer.json()["options"]]:
            break
        await asyncio.sleep(0.1)  # the first ask warms the cache in the background
    assert offered and all(o.startswith(f"{EAST}/") for o in offered), offered
