"""The fleet against a two-region simulator over real HTTP: each call goes to its region's
``/v3/{project_id}/``, names resolve across regions, project IDs come from IAM when not configured
(AK/SK and IAM password), and backups are deleted.

Both regions are served on one endpoint (the project ID in the path tells them apart), so
``TAURUSDB_ENDPOINT`` without ``{region}`` serves both, as in local mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.cloud.calls import CloudCall
from bot.cloud.errors import AmbiguousInstance, BackupNotDeletable, BackupNotFound, InstanceNotFound
from bot.cloud.factory import open_fleet
from bot.cloud.fleet import Fleet, Project
from bot.cloud.models import BackupStatus
from bot.cloud.retry import RetryPolicy
from bot.config import ConfigError, Settings, load_settings
from bot.local.simulator import RunningSimulator, SimulatorConfig, seed_id, start_simulator
from tests.integration.test_cloud_client import Admin

HK, BJ = "ap-southeast-1", "cn-north-4"
P_HK, P_BJ = "1a2b3c4d5e6f70819a2b3c4d5e6f7081", "9f8e7d6c5b4a39281f0e9d8c7b6a5948"
AK, SK = "FLEETTESTAK000000001", "fleet-secret-key"
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = "backup-bot", "iam-pass-123", "acme"
FAST = RetryPolicy(attempts=4, base=0.02, cap=0.1, budget=10.0)
TIMEOUT = httpx.Timeout(5.0)
AKSK = {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK}
IAM = {
    "HUAWEICLOUD_IAM_USER": IAM_USER,
    "HUAWEICLOUD_IAM_PASSWORD": IAM_PASSWORD,
    "HUAWEICLOUD_IAM_DOMAIN": IAM_DOMAIN,
}
ORDERS_DEV = seed_id("orders-dev")  # only in the first region


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(
        regions=[HK, BJ],
        projects={HK: P_HK, BJ: P_BJ},
        backup_seconds=0.6,
        job_invisible_seconds=0.1,
        access_key=AK,
        secret_key=SK,
        iam_user=IAM_USER,
        iam_password=IAM_PASSWORD,
        iam_domain=IAM_DOMAIN,
    )
    simulator = await start_simulator(config, port=0)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[Admin]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as http:
        yield Admin(http)


def _settings(sim: RunningSimulator, creds: dict[str, str], **env: str) -> Settings:
    return load_settings(**creds, HUAWEICLOUD_REGION=f"{HK},{BJ}", TAURUSDB_ENDPOINT=sim.url, **env)


@pytest.fixture
async def fleet(sim: RunningSimulator) -> AsyncIterator[Fleet]:
    settings = _settings(sim, AKSK, HUAWEICLOUD_SDK_PROJECT_ID=f"{HK}={P_HK},{BJ}={P_BJ}")
    async with await open_fleet(settings, retry=FAST) as opened:
        yield opened


def _service_calls(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (c["method"], c["path"])
        for c in calls
        if c["path"].startswith("/v3/") and "/projects" not in c["path"]
    ]


# -- resolution and routing --------------------------------------------------------------------------


async def test_each_create_goes_to_its_regions_project(fleet: Fleet, admin: Admin) -> None:
    assert fleet.projects == (Project(HK, P_HK), Project(BJ, P_BJ)) and fleet.multi_region
    in_hk = await fleet.find_instance("orders-dev")  # a bare name found in one region
    in_bj = await fleet.find_instance("cn-north-4/orders-prod")  # qualified
    assert (in_hk.id, in_hk.region) == (ORDERS_DEV, HK)
    assert in_bj.region == BJ and in_bj.id != seed_id("orders-prod")
    for instance in (in_hk, in_bj):
        await fleet.client(instance.region).create_backup(instance.id, "fleet-1")
    posts = [(m, p) for m, p in _service_calls(await admin.calls()) if m == "POST"]
    assert posts == [("POST", f"/v3/{P_HK}/backups/create"), ("POST", f"/v3/{P_BJ}/backups/create")]
    created = {c["region"]: c["body"]["instance_id"] for c in await admin.calls() if c["method"] == "POST"}
    assert created == {HK: in_hk.id, BJ: in_bj.id}


async def test_a_name_in_both_regions_is_refused_before_any_create(fleet: Fleet, admin: Admin) -> None:
    with pytest.raises(AmbiguousInstance) as ambiguous:
        await fleet.find_instance("orders-prod")
    assert ambiguous.value.names == [f"{HK}/orders-prod", f"{BJ}/orders-prod"]
    calls = _service_calls(await admin.calls())
    assert sorted(calls) == sorted([("GET", f"/v3/{P_HK}/instances"), ("GET", f"/v3/{P_BJ}/instances")])
    by_id = await fleet.find_instance(ambiguous.value.choices[1][0])
    assert (by_id.name, by_id.region) == ("orders-prod", BJ)


async def test_not_found_suggests_qualified_names(fleet: Fleet) -> None:
    with pytest.raises(InstanceNotFound) as missing:
        await fleet.find_instance("payments-prd")
    assert missing.value.suggestions[0] == f"{BJ}/payments-prod"


async def test_listing_every_region_labels_the_calls(fleet: Fleet, admin: Admin) -> None:
    seen: list[CloudCall] = []

    async def hook(call: CloudCall) -> None:
        seen.append(call)

    fleet.add_call_hook(hook)
    listed = await fleet.all_instances()
    names = {region: sorted(i.name for i in found) for region, found in listed.items()}  # type: ignore[union-attr]
    assert "orders-dev" in names[HK] and "payments-prod" in names[BJ]
    assert {(c.region, c.project_id, c.operation, c.status) for c in seen} == {
        (HK, P_HK, "list_instances", 200),
        (BJ, P_BJ, "list_instances", 200),
    }


# -- project IDs from IAM ----------------------------------------------------------------------------


def _lookups(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["path"], c["query"].get("name", "")) for c in calls if c["path"] == "/v3/projects"]


async def test_aksk_looks_each_region_up_once(sim: RunningSimulator, admin: Admin) -> None:
    settings = _settings(
        sim, AKSK, HUAWEICLOUD_SDK_IAM_ENDPOINT=sim.url, HUAWEICLOUD_SDK_PROJECT_ID=f"{BJ}={P_BJ}"
    )
    seen: list[CloudCall] = []

    async def hook(call: CloudCall) -> None:
        seen.append(call)

    async with await open_fleet(settings, retry=FAST, call_hook=hook) as fleet:
        assert fleet.projects == (Project(HK, P_HK), Project(BJ, P_BJ))
        for _ in range(2):
            await fleet.all_instances()
    calls = await admin.calls()
    assert _lookups(calls) == [("/v3/projects", HK)]  # Beijing's ID was configured
    assert {c["project_id"] for c in calls if c["path"].endswith("/instances")} == {P_HK, P_BJ}
    assert seen[0] == CloudCall(HK, "", "iam_projects", 200)  # counted from the start
    assert sorted({(c.region, c.operation) for c in seen[1:]}) == [
        (HK, "list_instances"),
        (BJ, "list_instances"),
    ]


async def test_iam_password_takes_the_project_from_each_regions_token(
    sim: RunningSimulator, admin: Admin
) -> None:
    settings = _settings(sim, IAM, HUAWEICLOUD_SDK_IAM_ENDPOINT=sim.url)
    async with await open_fleet(settings, retry=FAST) as fleet:
        assert fleet.projects == (Project(HK, P_HK), Project(BJ, P_BJ))
        await asyncio.gather(*(fleet.all_instances() for _ in range(3)))
    assert (await admin.stats())["token_issues"] == 2  # one per project, kept from start-up
    calls = await admin.calls()
    assert _lookups(calls) == []
    assert {(c["project_id"], c["status"]) for c in calls if c["path"].endswith("/instances")} == {
        (P_HK, 200),
        (P_BJ, 200),
    }


@pytest.mark.parametrize(
    ("count", "words"), [(0, "IAM has no project named cn-north-4"), (2, "2 projects named")]
)
async def test_lookup_finding_none_or_several_stops_start_up(
    sim: RunningSimulator, admin: Admin, count: int, words: str
) -> None:
    await admin.faults(iam_projects={BJ: count})
    settings = _settings(sim, AKSK, HUAWEICLOUD_SDK_IAM_ENDPOINT=sim.url)
    with pytest.raises(ConfigError) as info:
        await open_fleet(settings, retry=FAST)
    assert "HUAWEICLOUD_SDK_PROJECT_ID" in str(info.value) and words in str(info.value)


async def test_wrong_iam_password_stops_start_up_naming_the_region(sim: RunningSimulator) -> None:
    settings = _settings(
        sim, IAM | {"HUAWEICLOUD_IAM_PASSWORD": "wrong"}, HUAWEICLOUD_SDK_IAM_ENDPOINT=sim.url
    )
    with pytest.raises(ConfigError, match=f"region {HK}"):
        await open_fleet(settings, retry=FAST)


# -- delete ------------------------------------------------------------------------------------------


async def _completed(fleet: Fleet, region: str, backup_id: str) -> None:
    for _ in range(100):
        (record,) = (await fleet.client(region).list_backups(backup_id=backup_id)).backups
        if record.status is not BackupStatus.BUILDING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the backup never finished")


async def test_delete_in_its_region(fleet: Fleet, admin: Admin) -> None:
    instance = await fleet.find_instance(f"{BJ}/payments-dev")
    client = fleet.client(BJ)
    created = await client.create_backup(instance.id, "to-delete-1")
    with pytest.raises(BackupNotDeletable):
        await client.delete_backup(created.backup.id)  # still building
    await _completed(fleet, BJ, created.backup.id)
    with pytest.raises(BackupNotFound):
        await fleet.client(HK).delete_backup(created.backup.id)  # not in that project
    deleted = await client.delete_backup(created.backup.id)
    assert deleted.backup_id == created.backup.id
    assert (await client.list_backups(backup_id=created.backup.id)).backups == []
    with pytest.raises(BackupNotFound):
        await client.delete_backup(created.backup.id)
    deletes = [(c["path"], c["status"]) for c in await admin.calls() if c["method"] == "DELETE"]
    assert len(deletes) == 4  # one each: no refusal was sent twice
    assert deletes[2] == (f"/v3/{P_BJ}/backups/{created.backup.id}", 200)


async def test_delete_answered_503_is_checked_before_it_is_sent_again(fleet: Fleet, admin: Admin) -> None:
    client = fleet.client(HK)
    created = await client.create_backup(ORDERS_DEV, "to-delete-2")
    await _completed(fleet, HK, created.backup.id)
    await admin.faults(fail_next=[{"count": 1, "status": 503, "method": "DELETE"}])
    await client.delete_backup(created.backup.id)
    calls = [
        (c["method"], c["status"]) for c in await admin.calls() if c["path"].startswith(f"/v3/{P_HK}/backups")
    ]
    assert calls[-3:] == [("DELETE", 503), ("GET", 200), ("DELETE", 200)]
    assert await fleet.locate_backup(created.backup.id) is None


# -- simulator mode (no credentials) -----------------------------------------------------------------


async def test_without_credentials_the_simulators_iam_names_the_projects() -> None:
    async with await start_simulator(SimulatorConfig(regions=[HK, BJ]), port=0) as open_sim:
        settings = load_settings(HUAWEICLOUD_REGION=f"{HK},{BJ}", TAURUSDB_ENDPOINT=open_sim.url)
        async with await open_fleet(settings, retry=FAST) as fleet:
            assert fleet.projects == (
                Project(HK, open_sim.project_id_of(HK)),
                Project(BJ, open_sim.project_id_of(BJ)),
            )
            assert (await fleet.find_instance("payments-prod")).region == BJ


async def test_without_credentials_or_region_the_one_local_project_as_before() -> None:
    async with await start_simulator(SimulatorConfig(), port=0) as open_sim:
        single = await open_fleet(load_settings(), endpoint_override=open_sim.url, retry=FAST)
        async with single:
            assert single.projects == (Project("local", "0" * 32),) and not single.multi_region
            found = await single.find_instance("orders-dev")
            assert (found.id, single.label(found)) == (ORDERS_DEV, "orders-dev")
