"""The official Huawei Cloud SDK (``huaweicloudsdkgaussdb``) against our simulator, with AK/SK.

If the real SDK can sign, call and parse every operation the bot uses against the simulator, the
simulator speaks the real API closely enough for our own client's tests to mean something. The SDK
is synchronous (``requests``), so each call runs in a worker thread while the simulator serves on
the test's event loop. Endpoints go in through ``with_endpoints`` (an ``http://`` URL is kept as
is), so no region table is involved; the project-lookup tests use ``with_region`` with the
simulator as the region's endpoint and as IAM (``HUAWEICLOUD_SDK_IAM_ENDPOINT``), so the SDK's own
``BasicCredentials.process_auth_params`` finds the region's project through ``GET /v3/projects``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, SdkException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkgaussdb.v3 import (
    CreateGaussMySqlBackupRequest,
    DeleteGaussMySqlBackupRequest,
    GaussDBClient,
    ListGaussMySqlInstancesRequest,
    MysqlCreateBackupRequest,
    ShowGaussMySqlBackupListRequest,
    ShowGaussMySqlJobInfoRequest,
)

from bot.cloud.auth import AkSkAuth
from bot.cloud.client import TaurusDB
from bot.local.simulator import (
    OTHER_REGION_NAMES,
    RunningSimulator,
    SimulatorConfig,
    project_id_for,
    seed_id,
    start_simulator,
)
from tests.integration.test_simulator import use_fake_clock
from tests.integration.test_simulator_regions import BJ, HK

# The SDK marks list_gauss_my_sql_instances deprecated (in favour of the /v3.1 "unify status"
# variant) and warns on every call; the bot uses the /v3 API, so silence exactly that warning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Method 'list_gauss_my_sql_instances' of GaussDBClient is deprecated:DeprecationWarning"
)

PROJECT = "5f3a9c0e1b2d4e6f8a7b9c0d1e2f3a4b"
AK, SK = "SIMULATORAK0000000002", "simulator-secret-key"
ORDERS_DEV = seed_id("orders-dev")

T = TypeVar("T")
# The SDK caches a looked-up project ID per AK and region for the whole process: each lookup test
# uses an access key of its own so that it really asks the simulator.
_LOOKUP_KEYS = (f"LOOKUPAK{n:012d}" for n in itertools.count())


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(
        backup_seconds=0.5, job_invisible_seconds=0.3, access_key=AK, secret_key=SK, project_id=PROJECT
    )
    simulator = await start_simulator(config, port=0)
    yield simulator
    await simulator.stop()


def _sdk(url: str, secret_key: str = SK) -> GaussDBClient:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)  # bounded, unlike the SDK's default (60 s, 120 s)
    return (
        GaussDBClient.new_builder()
        .with_credentials(BasicCredentials(AK, secret_key, PROJECT))
        .with_endpoints([url])
        .with_http_config(config)
        .build()
    )


@pytest.fixture
def sdk(sim: RunningSimulator) -> Iterator[GaussDBClient]:
    client = _sdk(sim.url)
    yield client
    client.get_http_client().close()


async def _call(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


async def _calls(sim: RunningSimulator) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        calls: list[dict[str, Any]] = (await admin.get("/_sim/calls")).json()
    return calls


async def test_sdk_lists_creates_lists_and_reads_the_job(sim: RunningSimulator, sdk: GaussDBClient) -> None:
    instances = await _call(
        sdk.list_gauss_my_sql_instances, ListGaussMySqlInstancesRequest(name="orders-dev")
    )
    assert instances.total_count == 1
    assert (instances.instances[0].id, instances.instances[0].status) == (ORDERS_DEV, "ACTIVE")

    body = MysqlCreateBackupRequest(instance_id=ORDERS_DEV, name="sdk-backup-1", description="contract")
    created = await _call(sdk.create_gauss_my_sql_backup, CreateGaussMySqlBackupRequest(body=body))
    assert created.backup.name == "sdk-backup-1" and created.backup.status == "BUILDING"
    assert created.job_id

    listed = await _call(
        sdk.show_gauss_my_sql_backup_list, ShowGaussMySqlBackupListRequest(backup_id=created.backup.id)
    )
    assert [b.id for b in listed.backups] == [created.backup.id]
    assert listed.backups[0].instance_id == ORDERS_DEV

    # Our client, over httpx, sees the very same backup.
    async with httpx.AsyncClient(base_url=sim.url, auth=AkSkAuth(AK, SK, PROJECT), timeout=5) as http:
        ours = (await TaurusDB(http, PROJECT).list_backups(backup_id=created.backup.id)).backups[0]
    assert (ours.id, ours.name, ours.instance_id) == (created.backup.id, "sdk-backup-1", ORDERS_DEV)

    job_status = ""
    for _ in range(100):  # the job is invisible for a moment after the create
        try:
            job = await _call(sdk.show_gauss_my_sql_job_info, ShowGaussMySqlJobInfoRequest(id=created.job_id))
        except ClientRequestException as exc:
            assert (exc.status_code, exc.error_code) == (400, "DBS.200543")
            await asyncio.sleep(0.05)
            continue
        job_status = job.job.status
        if job_status == "Completed":
            break
        await asyncio.sleep(0.05)
    assert job_status == "Completed"

    sdk_calls = [c for c in await _calls(sim) if c["auth"] == "aksk"]
    assert all(c["status"] in (200, 201, 400) for c in sdk_calls)


async def test_sdk_gets_a_dbs_400_for_an_invalid_name(sim: RunningSimulator, sdk: GaussDBClient) -> None:
    # The SDK does not validate names itself, so the request reaches the service.
    body = MysqlCreateBackupRequest(instance_id=ORDERS_DEV, name="1-starts-with-a-digit")
    with pytest.raises(ClientRequestException) as refused:
        await _call(sdk.create_gauss_my_sql_backup, CreateGaussMySqlBackupRequest(body=body))
    assert refused.value.status_code == 400
    assert refused.value.error_code == "DBS.280277"
    assert refused.value.request_id
    posted = [c for c in await _calls(sim) if c["method"] == "POST"]
    assert [c["status"] for c in posted] == [400]


async def test_sdk_gets_401_for_a_wrong_secret_key(sim: RunningSimulator) -> None:
    client = _sdk(sim.url, secret_key="not-the-secret")
    try:
        with pytest.raises(ClientRequestException) as refused:
            await _call(client.list_gauss_my_sql_instances, ListGaussMySqlInstancesRequest())
    finally:
        client.get_http_client().close()
    assert (refused.value.status_code, refused.value.error_code) == (401, "APIGW.0301")
    assert len(await _calls(sim)) == 1  # the SDK does not retry it either


async def _wait_until_completed(sdk: GaussDBClient, backup_id: str) -> None:
    for _ in range(200):
        listed = await _call(
            sdk.show_gauss_my_sql_backup_list, ShowGaussMySqlBackupListRequest(backup_id=backup_id)
        )
        if listed.backups[0].status == "COMPLETED":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the backup never completed")


async def test_sdk_deletes_a_finished_backup_and_not_a_building_one(
    sim: RunningSimulator, sdk: GaussDBClient
) -> None:
    clock = use_fake_clock(sim)  # BUILDING until the test moves time on
    body = MysqlCreateBackupRequest(instance_id=ORDERS_DEV, name="sdk-delete-me")
    created = await _call(sdk.create_gauss_my_sql_backup, CreateGaussMySqlBackupRequest(body=body))
    with pytest.raises(ClientRequestException) as refused:
        await _call(
            sdk.delete_gauss_my_sql_backup, DeleteGaussMySqlBackupRequest(backup_id=created.backup.id)
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "DBS.201208")
    assert refused.value.request_id

    clock.advance(1)
    await _wait_until_completed(sdk, created.backup.id)
    deleted = await _call(
        sdk.delete_gauss_my_sql_backup, DeleteGaussMySqlBackupRequest(backup_id=created.backup.id)
    )
    assert (deleted.backup_id, deleted.backup_name) == (created.backup.id, "sdk-delete-me")
    listed = await _call(
        sdk.show_gauss_my_sql_backup_list, ShowGaussMySqlBackupListRequest(backup_id=created.backup.id)
    )
    assert listed.backups == [] and listed.total_count == 0
    deletes = [(c["method"], c["status"], c["auth"]) for c in await _calls(sim) if c["method"] == "DELETE"]
    assert deletes == [("DELETE", 400, "aksk"), ("DELETE", 200, "aksk")]


@pytest.fixture
async def regions_sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[RunningSimulator, str]]:
    """Two regions with derived project IDs, strict AK/SK, and the simulator as the SDK's IAM."""
    access_key = next(_LOOKUP_KEYS)
    config = SimulatorConfig(regions=[HK, BJ], access_key=access_key, secret_key=SK)
    async with await start_simulator(config) as simulator:
        monkeypatch.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", simulator.url)
        yield simulator, access_key


def _sdk_for_region(url: str, access_key: str, region: str) -> GaussDBClient:
    """Built the way the SDK's docs show, minus the project ID: ``build()`` looks it up in IAM."""
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    return (
        GaussDBClient.new_builder()
        .with_credentials(BasicCredentials(access_key, SK))
        .with_region(Region(region, url))
        .with_http_config(config)
        .build()
    )


async def test_sdk_without_a_project_id_finds_the_regions_project_in_iam(
    regions_sim: tuple[RunningSimulator, str],
) -> None:
    sim, access_key = regions_sim
    client = await _call(_sdk_for_region, sim.url, access_key, BJ)
    try:
        instances = await _call(client.list_gauss_my_sql_instances, ListGaussMySqlInstancesRequest())
    finally:
        client.get_http_client().close()
    assert [i.name for i in instances.instances] == list(OTHER_REGION_NAMES)
    assert {i.region for i in instances.instances} == {BJ}
    calls = [(c["method"], c["path"], c["query"], c["auth"], c["status"]) for c in await _calls(sim)]
    assert calls == [
        ("GET", "/v3/projects", {"name": BJ}, "aksk", 200),
        ("GET", f"/v3/{project_id_for(BJ)}/instances", {}, "aksk", 200),
    ]


@pytest.mark.parametrize(
    ("matches", "message"), [(0, "Failed to get project id"), (2, "Multiple project ids")]
)
async def test_sdk_project_lookup_fails_on_none_or_several_projects(
    regions_sim: tuple[RunningSimulator, str], matches: int, message: str
) -> None:
    sim, access_key = regions_sim
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        await admin.post("/_sim/faults", json={"iam_projects": {HK: matches}})
    with pytest.raises(SdkException) as failed:
        await _call(_sdk_for_region, sim.url, access_key, HK)
    assert message in str(failed.value)
    assert [c["path"] for c in await _calls(sim)] == ["/v3/projects"]
