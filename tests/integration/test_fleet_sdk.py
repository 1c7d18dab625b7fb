"""Our project-ID lookup beside the official SDK's, against one simulator: the same IAM request
(``GET /v3/projects?name={region}``, AK/SK-signed), the same project found, the same refusals.

Both read ``HUAWEICLOUD_SDK_IAM_ENDPOINT`` (the fixture points it at the simulator), and the
simulator's call log shows what each of them sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from huaweicloudsdkcore.exceptions.exceptions import SdkException
from huaweicloudsdkgaussdb.v3 import ListGaussMySqlInstancesRequest

from bot.cloud.factory import open_fleet
from bot.cloud.retry import RetryPolicy
from bot.config import ConfigError, Settings
from bot.local.simulator import RunningSimulator, project_id_for
from tests.integration.test_official_sdk_contract import SK, _call, _sdk_for_region, regions_sim
from tests.integration.test_simulator_regions import BJ, HK

__all__ = ["regions_sim"]  # the fixture, shared with the SDK's own contract tests

pytestmark = pytest.mark.filterwarnings(
    "ignore:Method 'list_gauss_my_sql_instances' of GaussDBClient is deprecated:DeprecationWarning"
)

FAST = RetryPolicy(attempts=2, base=0.01, cap=0.05, budget=5.0)


async def _drain(sim: RunningSimulator) -> list[tuple[Any, ...]]:
    """The calls logged since the last drain, as (method, path, query, auth, status)."""
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        calls = (await admin.get("/_sim/calls")).json()
        (await admin.delete("/_sim/calls")).raise_for_status()
    return [(c["method"], c["path"], c["query"], c["auth"], c["status"]) for c in calls]


def _settings(sim: RunningSimulator, access_key: str, regions: str) -> Settings:
    return Settings(
        HUAWEICLOUD_SDK_AK=access_key,
        HUAWEICLOUD_SDK_SK=SK,
        HUAWEICLOUD_REGION=regions,
        TAURUSDB_ENDPOINT=sim.url,
    )


async def test_we_ask_iam_as_the_sdk_does_and_find_the_same_project(
    regions_sim: tuple[RunningSimulator, str],
) -> None:
    sim, access_key = regions_sim
    sdk = await _call(_sdk_for_region, sim.url, access_key, BJ)
    try:
        await _call(sdk.list_gauss_my_sql_instances, ListGaussMySqlInstancesRequest())
    finally:
        sdk.get_http_client().close()
    sdk_lookup, sdk_list = await _drain(sim)

    async with await open_fleet(_settings(sim, access_key, BJ), retry=FAST) as fleet:
        await fleet.client().list_instances()
    our_lookup, our_list = await _drain(sim)

    assert our_lookup == sdk_lookup == ("GET", "/v3/projects", {"name": BJ}, "aksk", 200)
    assert our_list[1] == sdk_list[1] == f"/v3/{project_id_for(BJ)}/instances"
    assert our_list[3:] == sdk_list[3:] == ("aksk", 200)  # signed with the found project's X-Project-Id


async def test_each_region_is_looked_up_once(regions_sim: tuple[RunningSimulator, str]) -> None:
    sim, access_key = regions_sim
    async with await open_fleet(_settings(sim, access_key, f"{HK},{BJ}"), retry=FAST) as fleet:
        assert [p.project_id for p in fleet.projects] == [project_id_for(HK), project_id_for(BJ)]
        for _ in range(2):
            await fleet.all_instances()
    lookups = [call[2]["name"] for call in await _drain(sim) if call[1] == "/v3/projects"]
    assert lookups == [HK, BJ]


@pytest.mark.parametrize(
    ("matches", "sdk_says", "we_say"), [(0, "Failed to get", "no project"), (2, "Multiple", "2 projects")]
)
async def test_none_or_several_projects_fail_for_both(
    regions_sim: tuple[RunningSimulator, str], matches: int, sdk_says: str, we_say: str
) -> None:
    sim, access_key = regions_sim
    async with httpx.AsyncClient(base_url=sim.url) as admin:
        (await admin.post("/_sim/faults", json={"iam_projects": {HK: matches}})).raise_for_status()
    with pytest.raises(SdkException, match=sdk_says):
        await _call(_sdk_for_region, sim.url, access_key, HK)
    sdk_calls = await _drain(sim)
    with pytest.raises(ConfigError, match=f"{we_say} named {HK}"):
        await open_fleet(_settings(sim, access_key, HK), retry=FAST)
    assert await _drain(sim) == sdk_calls == [("GET", "/v3/projects", {"name": HK}, "aksk", 200)]
