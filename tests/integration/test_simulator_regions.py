"""The simulator serving several regions on one endpoint: per-project data, project IDs, the gateway's
project checks, faults scoped to one region or project, and the configuration and command line that
set them up.

Each test starts its own simulator in-process and talks to it over real HTTP; an outage's duration
runs on the simulator's fake clock.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from bot.local.simulator import (
    OTHER_REGION_NAMES,
    SEED_INSTANCES,
    Outage,
    RunningSimulator,
    SimulatorConfig,
    project_id_for,
    seed_id,
    start_simulator,
)
from bot.local.simulator.cli import _banner, build_parser, config_from_args
from tests.integration.test_simulator import (
    HEADERS,
    FakeClock,
    assert_error,
    cli_simulator,
    token_request,
    use_fake_clock,
)

HK, BJ = "ap-southeast-1", "cn-north-4"
HK_PROJECT, BJ_PROJECT = project_id_for(HK), project_id_for(BJ)
CONFIGURED = "c0ffee00c0ffee00c0ffee00c0ffee00"


@dataclass
class Cloud:
    """A two-region simulator, a client its open gateway lets through, and the fake clock it follows."""

    sim: RunningSimulator
    http: httpx.AsyncClient
    clock: FakeClock


@asynccontextmanager
async def two_region_cloud() -> AsyncIterator[Cloud]:
    config = SimulatorConfig(regions=[HK, BJ], backup_seconds=10, job_invisible_seconds=1)
    async with (
        await start_simulator(config) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS, timeout=10) as http,
    ):
        yield Cloud(sim, http, use_fake_clock(sim))


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    async with two_region_cloud() as it:
        yield it


@pytest.fixture
def sim(cloud: Cloud) -> RunningSimulator:
    return cloud.sim


@pytest.fixture
def http(cloud: Cloud) -> httpx.AsyncClient:
    return cloud.http


@pytest.fixture
def clock(cloud: Cloud) -> FakeClock:
    return cloud.clock


def at(project: str, path: str) -> str:
    return f"/v3/{project}{path}"


async def names_in(http: httpx.AsyncClient, project: str, **params: str) -> list[str]:
    response = await http.get(at(project, "/instances"), params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["instances"]]


async def create(http: httpx.AsyncClient, project: str, instance_id: str, name: str) -> httpx.Response:
    return await http.post(at(project, "/backups/create"), json={"instance_id": instance_id, "name": name})


def test_project_ids_are_derived_from_the_region_name() -> None:
    assert HK_PROJECT != BJ_PROJECT
    assert len(HK_PROJECT) == 32 and HK_PROJECT.isalnum()
    assert project_id_for(HK) == HK_PROJECT  # stable across calls and processes
    config = SimulatorConfig(regions=[HK, BJ], projects={BJ: CONFIGURED})
    assert (config.project_id_of(HK), config.project_id_of(BJ)) == (HK_PROJECT, CONFIGURED)
    with pytest.raises(KeyError):
        config.project_id_of("eu-west-0")


async def test_each_region_has_its_own_instances(sim: RunningSimulator, http: httpx.AsyncClient) -> None:
    assert await names_in(http, HK_PROJECT) == [s.name for s in SEED_INSTANCES]  # today's seed, first region
    assert (
        await names_in(http, BJ_PROJECT)
        == list(OTHER_REGION_NAMES)
        == [
            "orders-prod",
            "payments-prod",
            "payments-dev",
        ]
    )
    listed = (await http.get(at(BJ_PROJECT, "/instances"), params={"name": "orders-prod"})).json()
    (bj_orders,) = listed["instances"]
    assert bj_orders["region"] == BJ
    assert bj_orders["id"] == sim.state.config.seed_id("orders-prod", BJ)
    assert bj_orders["id"] != seed_id("orders-prod") == sim.state.config.seed_id("orders-prod")
    hk_first = (await http.get(at(HK_PROJECT, "/instances"), params={"limit": "1"})).json()
    assert hk_first["instances"][0]["region"] == HK
    # an instance of one region does not exist in the other's project
    assert_error(await http.get(at(HK_PROJECT, f"/instances/{bj_orders['id']}")), 404, "DBS.200002")
    detail = (await http.get(at(BJ_PROJECT, f"/instances/{bj_orders['id']}"))).json()["instance"]
    assert (detail["name"], detail["master_az_code"]) == ("orders-prod", f"{BJ}a")


async def test_backups_and_jobs_belong_to_one_project(
    sim: RunningSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    bj_orders = sim.state.config.seed_id("orders-prod", BJ)
    assert_error(await create(http, HK_PROJECT, bj_orders, "wrong-project"), 404, "DBS.200002")
    created = await create(http, BJ_PROJECT, bj_orders, "bj-backup")
    assert created.status_code == 201, created.text
    # the same name in the other region is another instance: it may back up at the same time
    assert (await create(http, HK_PROJECT, seed_id("orders-prod"), "hk-backup")).status_code == 201
    hk = (await http.get(at(HK_PROJECT, "/backups"))).json()
    bj = (await http.get(at(BJ_PROJECT, "/backups"))).json()
    assert ([b["name"] for b in hk["backups"]], hk["total_count"]) == (["hk-backup"], 1)
    assert [b["name"] for b in bj["backups"]] == ["bj-backup"]
    backup_id = created.json()["backup"]["id"]
    assert (await http.get(at(HK_PROJECT, "/backups"), params={"backup_id": backup_id})).json()[
        "backups"
    ] == []

    clock.advance(2)
    job_id = created.json()["job_id"]
    assert_error(await http.get(at(HK_PROJECT, "/jobs"), params={"id": job_id}), 400, "DBS.200543")
    job = await http.get(at(BJ_PROJECT, "/jobs"), params={"id": job_id})
    assert job.status_code == 200 and job.json()["job"]["instance"]["id"] == bj_orders
    admin = (await http.get("/_sim/backups", params={"region": BJ})).json()["backups"]
    assert [(b["name"], b["region"], b["project_id"]) for b in admin] == [("bj-backup", BJ, BJ_PROJECT)]


async def test_a_project_that_is_not_served_is_unavailable(http: httpx.AsyncClient) -> None:
    assert_error(await http.get(at("f" * 32, "/instances")), 403, "APIGW.0310")
    assert_error(await http.get(at("short", "/instances")), 404, "APIGW.0101")
    calls = (await http.get("/_sim/calls")).json()
    assert [(c["status"], c["project_id"], c["region"]) for c in calls] == [
        (403, "f" * 32, None),
        (404, "short", None),
    ]


async def test_one_region_without_a_project_id_accepts_any_project() -> None:
    # the classic set-up (one region, nothing configured), also when the region is named
    for config in (SimulatorConfig(), SimulatorConfig(regions=[BJ])):
        async with (
            await start_simulator(config) as sim,
            httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
        ):
            assert await names_in(http, "0" * 32) == [s.name for s in SEED_INSTANCES]
            assert await names_in(http, "a" * 32) == [s.name for s in SEED_INSTANCES]
            regions = (await http.get("/_sim/regions")).json()
            assert regions["open"] is True
            assert [r["project_id"] for r in regions["regions"]] == [project_id_for(config.region)]


async def test_configured_project_ids_replace_the_derived_ones() -> None:
    config = SimulatorConfig(regions=[HK, BJ], projects={BJ: CONFIGURED})
    async with (
        await start_simulator(config) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
    ):
        assert await names_in(http, CONFIGURED) == list(OTHER_REGION_NAMES)
        assert_error(await http.get(at(BJ_PROJECT, "/instances")), 403, "APIGW.0310")
        assert await names_in(http, HK_PROJECT, name="orders-prod") == ["orders-prod"]
        regions = (await http.get("/_sim/regions")).json()
        assert regions["open"] is False
        assert [(r["region"], r["project_id"], len(r["instances"])) for r in regions["regions"]] == [
            (HK, HK_PROJECT, len(SEED_INSTANCES)),
            (BJ, CONFIGURED, len(OTHER_REGION_NAMES)),
        ]
    one = SimulatorConfig(project_id=CONFIGURED)  # one region with its ID: no other project passes
    async with (
        await start_simulator(one) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
    ):
        assert_error(await http.get(at("0" * 32, "/instances")), 403, "APIGW.0310")
        assert sim.project_id_of() == CONFIGURED


@pytest.mark.parametrize(
    "values",
    [
        {"regions": []},
        {"regions": [HK, HK]},
        {"regions": ["Not A Region"]},
        {"regions": [HK], "projects": {BJ: CONFIGURED}},
        {"regions": [HK, BJ], "projects": {BJ: "too-short"}},
        {"regions": [HK, BJ], "projects": {HK: CONFIGURED, BJ: CONFIGURED}},
        {"regions": [HK], "project_id": CONFIGURED, "projects": {HK: "d" * 32}},
        {"region": HK, "regions": [HK]},
        {"regions": [HK], "faults": {"outages": [{"region": BJ, "seconds": 5}]}},
        {"regions": [HK], "faults": {"iam_projects": {BJ: 0}}},
    ],
)
def test_inconsistent_regions_and_projects_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig.model_validate(values)


def test_legacy_single_region_spelling_still_works() -> None:
    config = SimulatorConfig.model_validate({"region": BJ})
    assert (config.regions, config.region) == ([BJ], BJ)


def test_environment_gives_regions_and_project_pairs() -> None:
    env = {"HUAWEICLOUD_REGION": f"{HK}, {BJ}", "HUAWEICLOUD_SDK_PROJECT_ID": f"{BJ}={CONFIGURED}"}
    config = SimulatorConfig.from_env(env)
    assert (config.regions, config.projects, config.project_id) == ([HK, BJ], {BJ: CONFIGURED}, None)
    # pairs without HUAWEICLOUD_REGION: the pairs name the regions
    paired = SimulatorConfig.from_env({"HUAWEICLOUD_SDK_PROJECT_ID": f"{BJ}={CONFIGURED},{HK}={'e' * 32}"})
    assert paired.regions == [BJ, HK]
    # one ID belongs to the first region; overrides add pairs
    single = SimulatorConfig.from_env(
        {"HUAWEICLOUD_REGION": f"{HK},{BJ}", "HUAWEICLOUD_SDK_PROJECT_ID": CONFIGURED},
        projects={BJ: "e" * 32},
    )
    assert (single.project_id_of(HK), single.project_id_of(BJ)) == (CONFIGURED, "e" * 32)
    with pytest.raises(ValueError, match="region=value"):
        SimulatorConfig.from_env({"HUAWEICLOUD_SDK_PROJECT_ID": f"{BJ}={CONFIGURED},oops"})


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["--port", "0", *argv])


async def test_command_line_regions_projects_and_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "b" * 32)  # the first region's, from the environment
    args = _args(
        "--regions", f"{HK},{BJ}",
        "--project", f"{BJ}={CONFIGURED}",
        "--outage", f"{BJ}=30",
        "--outage", f"{'b' * 32}=30:500",
        "--iam-projects", f"{HK}=2",
    )  # fmt: skip
    config = config_from_args(args)
    assert (config.project_id_of(HK), config.project_id_of(BJ)) == ("b" * 32, CONFIGURED)
    assert [(o.region, o.project_id, o.status) for o in config.faults.outages] == [
        (BJ, None, 503),
        (None, "b" * 32, 500),
    ]
    assert config.faults.iam_projects == {HK: 2}
    assert "regions ap-southeast-1=bbbb" in _banner("http://x", config)
    assert "(project bbbb" in _banner("http://x", config_from_args(_args()))
    monkeypatch.delenv("HUAWEICLOUD_SDK_PROJECT_ID")
    assert "(project any, credentials not checked)" in _banner("http://x", config_from_args(_args()))
    async with (
        await start_simulator(config) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
    ):
        assert_error(await http.get(at(CONFIGURED, "/instances")), 503, "DBS.108000")
        assert_error(await http.get(at("b" * 32, "/instances")), 500, "DBS.108000")
    for bad in (["--project", "no-equals"], ["--outage", f"{BJ}=soon"], ["--iam-projects", f"{BJ}=x"]):
        with pytest.raises(SystemExit):
            _args(*bad)


async def test_cli_serves_several_regions() -> None:
    args = ("--regions", f"{HK},{BJ}", "--project", f"{BJ}={CONFIGURED}", "--outage", f"{HK}=600")
    async with (
        cli_simulator(*args) as (url, banner),
        httpx.AsyncClient(base_url=url, headers=HEADERS) as http,
    ):
        assert f"regions {HK}={HK_PROJECT}, {BJ}={CONFIGURED}" in banner, banner
        assert await names_in(http, CONFIGURED) == list(OTHER_REGION_NAMES)
        assert_error(await http.get(at(HK_PROJECT, "/instances")), 503, "DBS.108000")


# faults scoped to a region or a project


async def status_of(http: httpx.AsyncClient, project: str) -> int:
    return (await http.get(f"/v3/{project}/instances")).status_code


async def test_a_region_outage_lasts_its_seconds_and_spares_the_other_region(
    sim: RunningSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    outage = {"region": BJ, "seconds": 60, "retry_after": 5}
    armed = await http.post("/_sim/faults", json={"outages": [outage]})
    assert armed.status_code == 200, armed.text
    (shown,) = armed.json()["outages"]
    assert shown["until"] == sim.state.now() + 60
    down = await http.get(f"/v3/{BJ_PROJECT}/backups")
    assert_error(down, 503, "DBS.108000")
    assert down.headers["Retry-After"] == "5"
    write = await http.post(f"/v3/{BJ_PROJECT}/backups/create", json={})
    assert_error(write, 503, "DBS.108000")  # writes too: the whole project is down
    assert await status_of(http, HK_PROJECT) == 200
    assert (await http.post("/v3/auth/tokens", json=token_request(scope={"name": BJ}))).status_code == 201

    clock.advance(59)
    assert await status_of(http, BJ_PROJECT) == 503
    clock.advance(1)
    assert await status_of(http, BJ_PROJECT) == 200
    assert (await http.get("/_sim/faults")).json()["outages"] == []


async def test_an_outage_can_name_a_project_and_a_status(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await http.post(
        "/_sim/faults", json={"outages": [{"project_id": HK_PROJECT, "seconds": 5, "status": 500}]}
    )
    assert_error(await http.get(f"/v3/{HK_PROJECT}/instances"), 500, "DBS.108000")
    assert await status_of(http, BJ_PROJECT) == 200
    assert (await http.delete("/_sim/faults")).json()["outages"] == []
    assert await status_of(http, HK_PROJECT) == 200


async def test_burst_rules_can_be_scoped_to_a_region(http: httpx.AsyncClient) -> None:
    rule = {"count": 2, "status": 503, "region": BJ, "path_contains": "/backups"}
    await http.post("/_sim/faults", json={"fail_next": [rule]})
    assert (await http.get(f"/v3/{HK_PROJECT}/backups")).status_code == 200  # not counted
    assert (await http.get(f"/v3/{BJ_PROJECT}/instances")).status_code == 200  # path does not match
    assert (await http.get(f"/v3/{BJ_PROJECT}/backups")).status_code == 503
    assert (await http.get(f"/v3/{BJ_PROJECT}/backups")).status_code == 503
    assert (await http.get(f"/v3/{BJ_PROJECT}/backups")).status_code == 200


async def test_start_up_outages_are_armed_at_start_and_again_at_reset() -> None:
    config = SimulatorConfig.model_validate(
        {"regions": [HK, BJ], "faults": {"outages": [{"region": BJ, "seconds": 30}]}}
    )
    assert config.faults.outages[0].until is None  # the config itself stays unarmed
    async with (
        await start_simulator(config) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
    ):
        clock = use_fake_clock(sim)
        assert await status_of(http, BJ_PROJECT) == 503
        assert await status_of(http, HK_PROJECT) == 200
        clock.advance(3600)
        assert await status_of(http, BJ_PROJECT) == 200
        await http.post("/_sim/reset")
        assert await status_of(http, BJ_PROJECT) == 503  # re-armed from now
        clock.advance(30)
        assert await status_of(http, BJ_PROJECT) == 200


async def test_faults_for_a_region_not_served_are_refused(http: httpx.AsyncClient) -> None:
    for knobs in (
        {"outages": [{"region": "eu-west-0", "seconds": 5}]},
        {"fail_next": [{"region": "eu-west-0"}]},
        {"iam_projects": {"eu-west-0": 0}},
    ):
        refused = await http.post("/_sim/faults", json=knobs)
        assert refused.status_code == 400, knobs
        assert "eu-west-0" in refused.json()["error_msg"]
    assert (await http.get("/_sim/faults")).json()["outages"] == []


def test_an_outage_needs_a_positive_duration() -> None:
    with pytest.raises(ValidationError):
        Outage.model_validate({"region": BJ, "seconds": 0})
    with pytest.raises(ValidationError):
        Outage.model_validate({"region": BJ, "seconds": 5, "colour": "red"})
