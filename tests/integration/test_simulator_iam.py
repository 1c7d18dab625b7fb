"""The simulator's IAM with several regions: finding a region's project (``GET /v3/projects?name=``,
signed or with a token), project-scoped tokens, and the gateway refusing credentials of another
project. Over real HTTP against an in-process simulator with strict credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.cloud import signing
from bot.local.simulator import (
    OTHER_REGION_NAMES,
    RunningSimulator,
    SimulatorConfig,
    start_simulator,
)
from bot.local.simulator.seed import stable_id
from tests.integration.test_simulator import assert_error, token_request
from tests.integration.test_simulator_regions import BJ, BJ_PROJECT, HK, HK_PROJECT

AK, SK = "REGIONSAK", "regions-secret"


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(
        regions=[HK, BJ],
        access_key=AK,
        secret_key=SK,
        iam_user="bot-user",
        iam_password="s3cret",
        iam_domain="acme",
    )
    async with await start_simulator(config) as simulator:
        yield simulator


@pytest.fixture
async def http(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as client:
        yield client


async def signed(
    http: httpx.AsyncClient,
    sim: RunningSimulator,
    path: str,
    query: list[tuple[str, str]] | None = None,
    *,
    project: str | None = None,
    secret_key: str = SK,
) -> httpx.Response:
    """A signed GET, with ``X-Project-Id`` when ``project`` is given (IAM calls carry none)."""
    headers = {"Host": f"127.0.0.1:{sim.port}", "X-Sdk-Date": signing.sdk_date()}
    if project is not None:
        headers["X-Project-Id"] = project
    pairs = query or []
    headers["Authorization"] = signing.authorization(AK, secret_key, "GET", path, pairs, headers, b"")
    url = path + ("?" + signing.canonical_query(pairs) if pairs else "")
    return await http.get(url, headers=headers)


async def token_for(http: httpx.AsyncClient, scope: dict[str, str]) -> tuple[str, dict[str, Any]]:
    issued = await http.post("/v3/auth/tokens", json=token_request(scope=scope))
    assert issued.status_code == 201, issued.text
    return issued.headers["X-Subject-Token"], issued.json()["token"]


async def test_signed_project_lookup_finds_the_regions_project(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    found = await signed(http, sim, "/v3/projects", [("name", BJ)])
    assert found.status_code == 200, found.text
    body = found.json()
    (project,) = body["projects"]
    domain_id = stable_id("domain", "acme")
    assert project == {
        "is_domain": False,
        "description": "",
        "links": {"self": f"{sim.url}/v3/projects/{BJ_PROJECT}"},
        "enabled": True,
        "id": BJ_PROJECT,
        "parent_id": domain_id,
        "domain_id": domain_id,
        "name": BJ,
    }
    assert body["links"]["self"].endswith(f"/v3/projects?name={BJ}")
    assert (body["links"]["previous"], body["links"]["next"]) == (None, None)
    everything = (await signed(http, sim, "/v3/projects")).json()["projects"]
    assert [(p["name"], p["id"]) for p in everything] == [(HK, HK_PROJECT), (BJ, BJ_PROJECT)]
    assert (await signed(http, sim, "/v3/projects", [("name", "eu-west-0")])).json()["projects"] == []
    calls = (await http.get("/_sim/calls")).json()
    assert [(c["path"], c["query"], c["auth"], c["status"]) for c in calls[:1]] == [
        ("/v3/projects", {"name": BJ}, "aksk", 200)
    ]


async def test_project_lookup_refuses_bad_credentials_like_iam(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    for refused in (
        await signed(http, sim, "/v3/projects", [("name", BJ)], secret_key="wrong"),
        await http.get("/v3/projects", params={"name": BJ}),
        await http.get("/v3/projects", params={"name": BJ}, headers={"X-Auth-Token": "forged"}),
    ):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == 401
        assert refused.json()["error"]["message"]


async def test_project_lookup_with_a_token(http: httpx.AsyncClient) -> None:
    token, _ = await token_for(http, {"name": HK})
    found = await http.get("/v3/projects", params={"name": BJ}, headers={"X-Auth-Token": token})
    assert [p["id"] for p in found.json()["projects"]] == [BJ_PROJECT]


async def test_lookup_knob_makes_a_region_match_no_project_or_two(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    assert (await http.post("/_sim/faults", json={"iam_projects": {BJ: 0, HK: 2}})).status_code == 200
    assert (await signed(http, sim, "/v3/projects", [("name", BJ)])).json()["projects"] == []
    two = (await signed(http, sim, "/v3/projects", [("name", HK)])).json()["projects"]
    assert [p["name"] for p in two] == [HK, HK]
    assert two[0]["id"] == HK_PROJECT and two[1]["id"] != HK_PROJECT
    # no project of that name: no token scoped by it either
    refused = await http.post("/v3/auth/tokens", json=token_request(scope={"name": BJ}))
    assert refused.status_code == 401
    await http.post("/_sim/reset")
    assert len((await signed(http, sim, "/v3/projects", [("name", BJ)])).json()["projects"]) == 1


async def test_lookup_knob_at_start_up() -> None:
    config = SimulatorConfig.model_validate({"regions": [HK, BJ], "faults": {"iam_projects": {BJ: 0}}})
    async with await start_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        answer = await http.get("/v3/projects", params={"name": BJ}, headers={"X-Auth-Token": "any"})
        assert answer.json()["projects"] == []  # open credentials: any token may look
        assert (await http.post("/v3/auth/tokens", json=token_request(scope={"name": HK}))).status_code == 201


async def test_tokens_are_scoped_to_a_regions_project(http: httpx.AsyncClient) -> None:
    bj_token, bj = await token_for(http, {"name": BJ})
    assert (bj["project"]["id"], bj["project"]["name"]) == (BJ_PROJECT, BJ)
    hk_token, hk = await token_for(http, {"id": HK_PROJECT})
    assert (hk["project"]["id"], hk["project"]["name"]) == (HK_PROJECT, HK)

    bj_headers = {"X-Auth-Token": bj_token}
    assert (await http.get(f"/v3/{BJ_PROJECT}/instances", headers=bj_headers)).status_code == 200
    refused = await http.get(f"/v3/{HK_PROJECT}/instances", headers=bj_headers)
    assert_error(refused, 401, "APIGW.0307")
    assert "another project" in refused.json()["error_msg"]
    assert (
        await http.get(f"/v3/{HK_PROJECT}/instances", headers={"X-Auth-Token": hk_token})
    ).status_code == 200
    assert_error(await http.get(f"/v3/{'f' * 32}/instances", headers=bj_headers), 403, "APIGW.0310")


@pytest.mark.parametrize("scope", [{"name": "eu-west-0"}, {"id": "f" * 32}])
async def test_a_token_for_a_region_not_served_is_refused(
    http: httpx.AsyncClient, scope: dict[str, str]
) -> None:
    refused = await http.post("/v3/auth/tokens", json=token_request(scope=scope))
    assert refused.status_code == 401
    assert "does not exist" in refused.json()["error"]["message"]
    assert "X-Subject-Token" not in refused.headers


async def test_signed_calls_must_name_the_paths_project(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    ok = await signed(http, sim, f"/v3/{BJ_PROJECT}/instances", project=BJ_PROJECT)
    assert ok.status_code == 200
    assert [i["name"] for i in ok.json()["instances"]] == list(OTHER_REGION_NAMES)
    crossed = await signed(http, sim, f"/v3/{BJ_PROJECT}/instances", project=HK_PROJECT)
    assert_error(crossed, 401, "APIGW.0301")
    assert "X-Project-Id" in crossed.json()["error_msg"]
    # without the header (it is optional) the path alone decides
    assert (await signed(http, sim, f"/v3/{HK_PROJECT}/instances")).status_code == 200
