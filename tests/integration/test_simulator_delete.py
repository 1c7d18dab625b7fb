"""Deleting backups in the simulator: ``DELETE /v3/{project_id}/backups/{backup_id}`` (fact sheet
§2.5) with its refusals, automated backups, a deletion "by hand" through the admin API, the calls
log, and the state file. Time moves only when a test advances the fake clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.local.simulator import SimulatorConfig, seed_id, start_simulator
from tests.integration.test_simulator import HEADERS, assert_error
from tests.integration.test_simulator_regions import BJ, BJ_PROJECT, HK, HK_PROJECT, Cloud, two_region_cloud

ORDERS_DEV, BROKEN = seed_id("orders-dev"), seed_id("legacy-broken")


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    async with two_region_cloud() as it:
        yield it


async def backup(http: httpx.AsyncClient, name: str, instance_id: str = ORDERS_DEV) -> dict[str, str]:
    created = await http.post(
        f"/v3/{HK_PROJECT}/backups/create", json={"instance_id": instance_id, "name": name}
    )
    assert created.status_code == 201, created.text
    return {"id": created.json()["backup"]["id"], "job_id": created.json()["job_id"]}


async def delete(http: httpx.AsyncClient, backup_id: str, project: str = HK_PROJECT) -> httpx.Response:
    return await http.delete(f"/v3/{project}/backups/{backup_id}")


async def listed_ids(http: httpx.AsyncClient, **params: str) -> list[str]:
    page = (await http.get(f"/v3/{HK_PROJECT}/backups", params=params)).json()
    assert page["total_count"] == len(page["backups"])
    return [item["id"] for item in page["backups"]]


async def test_a_finished_manual_backup_is_deleted_and_leaves_every_list(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    kept, doomed = await backup(http, "kept-one"), None
    clock.advance(11)
    doomed = await backup(http, "doomed-one")
    clock.advance(11)
    answer = await delete(http, doomed["id"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"backup_id": doomed["id"], "backup_name": "doomed-one"}
    assert await listed_ids(http) == [kept["id"]]
    assert await listed_ids(http, backup_id=doomed["id"]) == []
    assert [b["id"] for b in (await http.get("/_sim/backups")).json()["backups"]] == [kept["id"]]
    job = await http.get(f"/v3/{HK_PROJECT}/jobs", params={"id": doomed["job_id"]})
    assert job.json()["job"]["status"] == "Completed"  # the task record outlives the backup
    assert_error(await delete(http, doomed["id"]), 400, "DBS.280214")  # gone: not found the second time
    # the name is free again
    assert (await backup(http, "doomed-one"))["id"] != doomed["id"]


async def test_a_building_backup_cannot_be_deleted(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    building = await backup(http, "still-building")
    refused = await delete(http, building["id"])
    assert_error(refused, 400, "DBS.201208")
    assert await listed_ids(http) == [building["id"]]
    clock.advance(10)
    assert (await delete(http, building["id"])).status_code == 200


async def test_a_failed_backup_can_be_deleted(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    failed = await backup(http, "broken-one", BROKEN)
    clock.advance(10)
    assert (await delete(http, failed["id"])).status_code == 200


async def test_unknown_backups_are_not_found_in_this_project(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    assert_error(await delete(http, "0" * 32 + "br07"), 400, "DBS.280214")
    assert_error(await delete(http, "not-even-an-id"), 400, "DBS.280214")
    mine = await backup(http, "hk-only")
    clock.advance(10)
    assert_error(await delete(http, mine["id"], BJ_PROJECT), 400, "DBS.280214")  # another region's
    assert_error(await delete(http, mine["id"], "f" * 32), 403, "APIGW.0310")
    assert await listed_ids(http) == [mine["id"]]


async def test_an_automated_backup_cannot_be_deleted_through_the_api(cloud: Cloud) -> None:
    http = cloud.http
    added = await http.post(f"/_sim/instances/{ORDERS_DEV}/auto-backups")
    assert added.status_code == 201, added.text
    auto = added.json()
    assert (auto["type"], auto["status"], auto["region"]) == ("auto", "COMPLETED", HK)
    assert await listed_ids(http, backup_type="auto") == [auto["id"]]
    assert await listed_ids(http, backup_type="manual") == []
    refused = await delete(http, auto["id"])
    assert_error(refused, 400, "DBS.200001")
    assert "automated" in refused.json()["error_msg"]
    assert await listed_ids(http) == [auto["id"]]
    unknown = await http.post(f"/_sim/instances/{'0' * 32}in07/auto-backups")
    assert unknown.status_code == 404


async def test_a_backup_deleted_by_hand_is_logged_as_a_console_action(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    building = await backup(http, "by-hand")
    assert_error(await http.delete(f"/_sim/backups/{building['id']}"), 400, "DBS.201208")
    clock.advance(10)
    deleted = await http.delete(f"/_sim/backups/{building['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "backup_id": building["id"],
        "backup_name": "by-hand",
        "region": HK,
        "project_id": HK_PROJECT,
    }
    assert await listed_ids(http) == []
    assert_error(await http.delete(f"/_sim/backups/{building['id']}"), 400, "DBS.280214")
    assert_error(await delete(http, building["id"]), 400, "DBS.280214")  # the bot finds it gone

    calls = (await http.get("/_sim/calls")).json()
    deletions = [
        (c["method"], c["path"], c["status"], c["auth"], c["region"])
        for c in calls
        if c["method"] == "DELETE"
    ]
    path = f"/v3/{HK_PROJECT}/backups/{building['id']}"
    assert deletions == [
        ("DELETE", path, 200, "console", HK),  # the hand, between the bot-style calls
        ("DELETE", path, 400, "token", HK),
    ]
    # a console action is no API request: route counts stay the bot's
    stats = (await http.get("/_sim/stats")).json()
    assert stats["by_route"]["DELETE /v3/{project_id}/backups/{backup_id}"] == {"400": 1}


async def test_api_deletions_are_in_the_calls_log(cloud: Cloud) -> None:
    http, clock = cloud.http, cloud.clock
    made = await backup(http, "logged-delete")
    clock.advance(10)
    await delete(http, made["id"])
    (call,) = [c for c in (await http.get("/_sim/calls")).json() if c["method"] == "DELETE"]
    assert (call["path"], call["status"], call["project_id"], call["region"], call["auth"]) == (
        f"/v3/{HK_PROJECT}/backups/{made['id']}",
        200,
        HK_PROJECT,
        HK,
        "token",
    )


async def test_deletions_survive_a_restart(tmp_path: Path) -> None:
    config = SimulatorConfig(backup_seconds=0, job_invisible_seconds=0, state_file=tmp_path / "sim.json")
    async with (
        await start_simulator(config) as first,
        httpx.AsyncClient(base_url=first.url, headers=HEADERS) as http,
    ):
        kept, gone = (
            await backup(http, "kept-after"),
            await backup(http, "gone-after", seed_id("orders-prod")),
        )
        assert (await delete(http, gone["id"])).status_code == 200
    async with (
        await start_simulator(config) as second,
        httpx.AsyncClient(base_url=second.url, headers=HEADERS) as http,
    ):
        assert await listed_ids(http) == [kept["id"]]
        assert (await http.get(f"/v3/{HK_PROJECT}/jobs", params={"id": gone["job_id"]})).status_code == 200


async def test_a_state_file_from_before_regions_loads_into_the_first_region(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    config = SimulatorConfig(backup_seconds=0, job_invisible_seconds=0, state_file=path)
    async with (
        await start_simulator(config) as first,
        httpx.AsyncClient(base_url=first.url, headers=HEADERS) as http,
    ):
        old = await backup(http, "from-an-old-file")
    snapshot = json.loads(path.read_text())
    for item in snapshot["backups"]:
        del item["region"]  # the shape written before regions existed
    del snapshot["deleted"]
    path.write_text(json.dumps(snapshot))
    regional = SimulatorConfig(regions=[HK, BJ], backup_seconds=0, state_file=path)
    async with (
        await start_simulator(regional) as second,
        httpx.AsyncClient(base_url=second.url, headers=HEADERS) as http,
    ):
        assert await listed_ids(http) == [old["id"]]
        assert (await http.get(f"/v3/{BJ_PROJECT}/backups")).json()["backups"] == []
