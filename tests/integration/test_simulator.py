"""The TaurusDB + IAM simulator over real HTTP: shapes, rules, authentication, faults, persistence.

Tests that need time to pass swap the simulator's clock for a fake one and advance it, so nothing
depends on how fast the machine is; one test watches the real clock with a bounded poll.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from bot.cloud import signing
from bot.cloud.models import BackupPage, CreateBackupResult, InstancePage, Job, format_cloud_time
from bot.local.embedded_redis import free_port
from bot.local.simulator import SEED_INSTANCES, RunningSimulator, SimulatorConfig, seed_id, start_simulator

PROJECT = "0123456789abcdef0123456789abcdef"
OTHER_PROJECT = "fedcba9876543210fedcba9876543210"
HEADERS = {"X-Auth-Token": "any-token-will-do", "X-Language": "en-us"}
ORDERS_DEV = seed_id("orders-dev")
ORDERS_PROD = seed_id("orders-prod")
BROKEN = seed_id("legacy-broken")
FROZEN = seed_id("reporting-frozen")
ROOT = Path(__file__).resolve().parents[2]
CHINA = timezone(timedelta(hours=8))
BACKUP_ID_RE = re.compile(r"^[0-9a-f]{32}br07$")


class FakeClock:
    """Epoch seconds that only move when told to."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def client(simulator: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.url, headers=HEADERS, timeout=10) as http:
        yield http


def use_fake_clock(sim: RunningSimulator) -> FakeClock:
    """Make ``sim`` (its backups, jobs, tokens and outages) follow a fake clock."""
    fake = FakeClock()
    sim.state.clock = fake
    return fake


@pytest.fixture
def clock(simulator: RunningSimulator) -> FakeClock:
    return use_fake_clock(simulator)


def api(path: str, project: str = PROJECT) -> str:
    return f"/v3/{project}{path}"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert response.json()["error_msg"]
    assert response.headers["X-Request-Id"]


async def create(client: httpx.AsyncClient, instance_id: str, name: str, **extra: Any) -> httpx.Response:
    return await client.post(api("/backups/create"), json={"instance_id": instance_id, "name": name, **extra})


async def backup_by_id(client: httpx.AsyncClient, backup_id: str) -> dict[str, Any]:
    response = await client.get(api("/backups"), params={"backup_id": backup_id})
    assert response.status_code == 200, response.text
    (item,) = response.json()["backups"]
    return dict(item)


# instances


async def test_seeded_instances_are_listed_in_the_documented_shape(client: httpx.AsyncClient) -> None:
    response = await client.get(api("/instances"))
    assert response.status_code == 200
    assert response.headers["X-Request-Id"]
    page = InstancePage.model_validate(response.json())
    assert page.total_count == len(SEED_INSTANCES) == 8
    assert [i.id for i in page.instances] == [s.id for s in SEED_INSTANCES]
    statuses = {i.name: i.status for i in page.instances}
    assert statuses["reporting-frozen"] == "FROZEN"
    assert statuses["orders-prod"] == "ACTIVE"
    first = response.json()["instances"][0]
    assert first["type"] == "Cluster"
    assert first["datastore"]["type"] == "gaussdb-mysql"
    assert first["port"] == "3306"
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}in07", s.id) for s in SEED_INSTANCES)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"name": "orders-prod"}, ["orders-prod"]),
        ({"name": "orders"}, []),  # exact by default
        ({"name": "*prod"}, ["orders-prod", "billing-prod"]),
        ({"name": "shared-staging"}, ["shared-staging", "shared-staging"]),
        ({"id": ORDERS_DEV}, ["orders-dev"]),
        ({"id": "*" + ORDERS_DEV[:10]}, ["orders-dev"]),
        ({"limit": "2", "offset": "1"}, ["orders-dev", "billing-prod"]),
    ],
)
async def test_instance_filters(client: httpx.AsyncClient, params: dict[str, str], names: list[str]) -> None:
    response = await client.get(api("/instances"), params=params)
    assert response.status_code == 200, response.text
    assert [i["name"] for i in response.json()["instances"]] == names


@pytest.mark.parametrize(
    ("params", "code"),
    [({"name": "*"}, "DBS.200001"), ({"limit": "0"}, "DBS.280439"), ({"limit": "101"}, "DBS.280439")],
)
async def test_instance_list_refuses_bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    assert_error(await client.get(api("/instances"), params=params), 400, code)


async def test_instance_detail_and_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(api(f"/instances/{ORDERS_PROD}"))
    assert response.status_code == 200
    detail = response.json()["instance"]
    assert (detail["id"], detail["name"], detail["status"]) == (ORDERS_PROD, "orders-prod", "ACTIVE")
    assert detail["nodes"]
    assert_error(await client.get(api(f"/instances/{'0' * 32}in07")), 404, "DBS.200002")
    assert_error(await client.get(api("/instances/not-an-id")), 400, "DBS.280404")


async def test_unknown_api_answers_like_the_gateway(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v4/nothing"), 404, "APIGW.0101")
    assert_error(await client.get(api("/flavors")), 404, "APIGW.0101")


# backups


async def test_backup_goes_from_building_to_completed(
    client: httpx.AsyncClient, simulator: RunningSimulator, clock: FakeClock
) -> None:
    response = await create(client, ORDERS_DEV, "nightly-check", description="before the migration")
    assert response.status_code == 201, response.text
    created = CreateBackupResult.model_validate(response.json())
    assert BACKUP_ID_RE.fullmatch(created.backup.id)
    assert re.fullmatch(r"[0-9a-f-]{36}", created.job_id)
    assert response.json()["backup"]["begin_time"].endswith("+0800")
    assert created.backup.status == "BUILDING"
    assert created.backup.instance_id == ORDERS_DEV

    building = await backup_by_id(client, created.backup.id)
    assert building["status"] == "BUILDING"
    assert building["end_time"] == ""
    assert "size" not in building
    detail = (await client.get(api(f"/instances/{ORDERS_DEV}"))).json()["instance"]
    assert detail["status"] == "BACKING UP"

    clock.advance(0.6)
    done = await backup_by_id(client, created.backup.id)
    page = BackupPage.model_validate({"backups": [done], "total_count": 1})
    assert page.backups[0].status == "COMPLETED"
    assert page.backups[0].size and page.backups[0].size > 0
    assert page.backups[0].end_time is not None
    assert done["instance_name"] == "orders-dev"
    assert done["description"] == "before the migration"
    assert isinstance(done["take_up_time"], int)
    assert done["datastore"] == {"type": "gaussdb-mysql", "version": "8.0"}
    detail = (await client.get(api(f"/instances/{ORDERS_DEV}"))).json()["instance"]
    assert detail["status"] == "ACTIVE"


async def test_backup_completes_on_the_real_clock(client: httpx.AsyncClient) -> None:
    response = await create(client, ORDERS_PROD, "real-clock")
    backup_id = response.json()["backup"]["id"]
    deadline = time.monotonic() + 10
    while (status := (await backup_by_id(client, backup_id))["status"]) == "BUILDING":
        assert time.monotonic() < deadline, "the backup never finished"
        await asyncio.sleep(0.05)
    assert status == "COMPLETED"


async def test_backup_of_a_broken_instance_fails_with_a_reason(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await create(client, BROKEN, "doomed-backup")
    assert response.status_code == 201
    clock.advance(1)
    failed = await backup_by_id(client, response.json()["backup"]["id"])
    assert failed["status"] == "FAILED"
    assert "lock" in failed["fail_reason"]
    assert "size" not in failed
    job = (await client.get(api("/jobs"), params={"id": response.json()["job_id"]})).json()["job"]
    assert job["status"] == "Failed"
    assert job["fail_reason"]


async def test_one_backup_per_instance_at_a_time_and_names_are_unique(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await create(client, ORDERS_DEV, "first-one")).status_code == 201
    assert_error(await create(client, ORDERS_DEV, "second-one"), 409, "DBS.201205")
    assert (await create(client, ORDERS_PROD, "first-one")).status_code == 201  # other instance: fine
    clock.advance(1)
    assert_error(await create(client, ORDERS_DEV, "first-one"), 409, "DBS.201209")
    assert (await create(client, ORDERS_DEV, "second-one")).status_code == 201


async def test_concurrent_creates_on_one_instance_start_exactly_one_backup(client: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(create(client, ORDERS_DEV, f"racer-{n:02d}") for n in range(10)))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 9
    assert {r.json()["error_code"] for r in answers if r.status_code == 409} == {"DBS.201205"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "good-name"}, 400, "DBS.280404"),
        ({"instance_id": "short", "name": "good-name"}, 400, "DBS.280404"),
        ({"instance_id": ORDERS_DEV[:32] + "in08", "name": "good-name"}, 400, "DBS.280404"),
        ({"instance_id": ORDERS_DEV}, 400, "DBS.280277"),
        ({"instance_id": ORDERS_DEV, "name": "1starts-with-digit"}, 400, "DBS.280277"),
        ({"instance_id": ORDERS_DEV, "name": "abc"}, 400, "DBS.280277"),
        ({"instance_id": ORDERS_DEV, "name": "a" * 65}, 400, "DBS.280277"),
        ({"instance_id": ORDERS_DEV, "name": "has space"}, 400, "DBS.280277"),
        ({"instance_id": ORDERS_DEV, "name": "good-name", "description": "a < b"}, 400, "DBS.280127"),
        ({"instance_id": ORDERS_DEV, "name": "good-name", "description": "two\r\nlines"}, 400, "DBS.280127"),
        ({"instance_id": ORDERS_DEV, "name": "good-name", "description": "x" * 257}, 400, "DBS.280127"),
        ({"instance_id": ORDERS_DEV, "name": "good-name", "description": 42}, 400, "DBS.280127"),
        ({"instance_id": "0" * 32 + "in07", "name": "good-name"}, 404, "DBS.200002"),
        ({"instance_id": FROZEN, "name": "good-name"}, 400, "DBS.280449"),
    ],
)
async def test_create_validation_codes(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(await client.post(api("/backups/create"), json=body), status, code)


async def test_create_accepts_the_rule_boundaries(client: httpx.AsyncClient, clock: FakeClock) -> None:
    assert (await create(client, ORDERS_DEV, "abcd", description="")).status_code == 201
    clock.advance(1)
    assert (await create(client, ORDERS_DEV, "Z" + "_-9" * 21, description="y" * 256)).status_code == 201


async def test_create_refuses_a_busy_instance_and_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    changed = await client.post(f"/_sim/instances/{ORDERS_DEV}", json={"status": "REBOOTING"})
    assert changed.json()["status"] == "REBOOTING"
    assert_error(await create(client, ORDERS_DEV, "while-rebooting"), 400, "DBS.201014")
    assert_error(await client.post(api("/backups/create"), content=b"{nope"), 400, "DBS.200006")


# jobs


async def test_job_is_invisible_at_first_then_reports_progress(clock_sim: RunningSimulator) -> None:
    clock = FakeClock()
    clock_sim.state.clock = clock
    async with httpx.AsyncClient(base_url=clock_sim.url, headers=HEADERS) as client:
        response = await create(client, ORDERS_DEV, "job-watch")
        job_id = response.json()["job_id"]
        assert_error(await client.get(api("/jobs"), params={"id": job_id}), 400, "DBS.200543")
        clock.advance(3)
        running = await client.get(api("/jobs"), params={"id": job_id})
        assert running.status_code == 200, running.text
        job = Job.model_validate(running.json()["job"])
        assert (job.status, job.process) == ("Running", 30)
        assert running.json()["job"]["process"] == "30%"
        assert job.instance is not None and job.instance.name == "orders-dev"
        assert job.entities == {"backup_id": response.json()["backup"]["id"], "backup_name": "job-watch"}
        assert running.json()["job"]["ended"] == ""
        clock.advance(10)
        finished = (await client.get(api("/jobs"), params={"id": job_id})).json()["job"]
        assert (finished["status"], finished["process"]) == ("Completed", "")
        assert finished["ended"].endswith("+0800")
        assert "fail_reason" not in finished
        assert_error(await client.get(api("/jobs"), params={"id": "unknown-job"}), 400, "DBS.200543")
        assert_error(await client.get(api("/jobs")), 400, "DBS.200001")


@pytest.fixture
async def clock_sim() -> AsyncIterator[RunningSimulator]:
    """10 s backups and jobs hidden for 2 s, for a fake clock to step through."""
    async with await start_simulator(SimulatorConfig(backup_seconds=10, job_invisible_seconds=2)) as sim:
        yield sim


# list filters


async def test_backup_list_filters_sorting_and_paging(client: httpx.AsyncClient, clock: FakeClock) -> None:
    start = clock.now
    ids: list[str] = []
    for n, instance_id in enumerate([ORDERS_DEV, ORDERS_PROD, ORDERS_DEV, BROKEN]):
        ids.append((await create(client, instance_id, f"listed-{n}")).json()["backup"]["id"])
        clock.advance(60)

    async def listed(query: str) -> list[str]:
        response = await client.get(api("/backups") + "?" + query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total_count"] >= len(body["backups"])
        return [item["id"] for item in body["backups"]]

    assert await listed("") == ids[::-1]  # newest first
    assert await listed(f"instance_id={ORDERS_DEV}") == [ids[2], ids[0]]
    assert await listed(f"backup_id={ids[1]}") == [ids[1]]
    assert await listed("name=listed-3") == [ids[3]]
    assert await listed("name=listed") == []
    assert await listed("backup_type=manual&limit=2") == [ids[3], ids[2]]
    assert await listed("backup_type=auto") == []
    assert await listed("limit=2&offset=1") == [ids[2], ids[1]]
    assert (await client.get(api("/backups?limit=1"))).json()["total_count"] == 4

    def at(offset: float, zone: timezone = CHINA) -> str:
        return quote(format_cloud_time(datetime.fromtimestamp(start + offset, zone)), safe="")

    assert "%2B0800" in at(0)
    assert await listed(f"begin_time={at(60)}") == [ids[3], ids[2], ids[1]]
    assert await listed(f"begin_time={at(60)}&end_time={at(120)}") == [ids[2], ids[1]]
    assert await listed(f"end_time={at(0)}") == [ids[0]]
    assert at(180, UTC).endswith("%2B0000")
    assert await listed(f"begin_time={at(180, UTC)}") == [ids[3]]


async def test_backup_list_refuses_bad_parameters(client: httpx.AsyncClient) -> None:
    begin, end = "2024-01-02T00:00:00%2B0800", "2024-01-01T00:00:00%2B0800"
    assert_error(await client.get(api(f"/backups?begin_time={begin}&end_time={end}")), 400, "DBS.200001")
    # a + that is not percent-encoded arrives as a space, as on the real service
    assert_error(await client.get(api("/backups?begin_time=2024-01-01T00:00:00+0800")), 400, "DBS.200001")
    assert_error(await client.get(api("/backups?limit=0")), 400, "DBS.280439")
    assert_error(await client.get(api("/backups?limit=x")), 400, "DBS.280439")
    assert_error(await client.get(api("/backups?offset=-1")), 400, "DBS.200001")
    assert_error(await client.get(api("/backups?instance_id=nope")), 400, "DBS.280404")
    assert_error(await client.get(api("/backups?backup_type=weekly")), 400, "DBS.200001")


# authentication


@pytest.fixture
async def strict_sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(
        backup_seconds=0.5,
        job_invisible_seconds=0.3,
        project_id=PROJECT,
        access_key="EXAMPLEAK",
        secret_key="EXAMPLESK",
        iam_user="bot-user",
        iam_password="s3cret",
        iam_domain="acme",
    )
    async with await start_simulator(config) as sim:
        yield sim


def token_request(
    password: str = "s3cret",
    scope: dict[str, str] | None = None,
    user: str = "bot-user",
    domain: str = "acme",
) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}},
            },
            "scope": {"project": {"name": "ap-southeast-3"} if scope is None else scope},
        }
    }


async def test_iam_token_is_issued_used_and_expires(strict_sim: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=strict_sim.url) as http:
        issued = await http.post("/v3/auth/tokens?nocatalog=true", json=token_request())
        assert issued.status_code == 201, issued.text
        token = issued.headers["X-Subject-Token"]
        body = issued.json()["token"]
        assert body["project"]["id"] == PROJECT
        assert body["methods"] == ["password"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["expires_at"])
        assert "catalog" not in body

        with_token = {"X-Auth-Token": token}
        assert (await http.get(api("/instances"), headers=with_token)).status_code == 200
        assert_error(await http.get(api("/instances")), 401, "APIGW.0301")
        assert_error(await http.get(api("/instances"), headers={"X-Auth-Token": "forged"}), 401, "APIGW.0301")
        assert_error(await http.get(api("/instances", OTHER_PROJECT), headers=with_token), 403, "APIGW.0310")
        assert_error(await http.get(api("/instances", "short"), headers=with_token), 404, "APIGW.0101")

        assert (await http.post("/_sim/expire-tokens")).json() == {"expired": 1}
        assert_error(await http.get(api("/instances"), headers=with_token), 401, "APIGW.0307")
        fresh = (await http.post("/v3/auth/tokens", json=token_request())).headers["X-Subject-Token"]
        assert (await http.get(api("/instances"), headers={"X-Auth-Token": fresh})).status_code == 200
        assert (await http.get("/_sim/stats")).json()["token_issues"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (token_request(password="wrong"), 401),
        (token_request(scope={"id": OTHER_PROJECT}), 401),
        ({"auth": {"identity": {"methods": ["token"]}}}, 400),
        (token_request(scope={}), 400),
    ],
)
async def test_iam_refuses_wrong_credentials(strict_sim: RunningSimulator, body: Any, status: int) -> None:
    async with httpx.AsyncClient(base_url=strict_sim.url) as http:
        refused = await http.post("/v3/auth/tokens", json=body)
    assert refused.status_code == status
    assert refused.json()["error"]["message"]
    assert refused.headers["X-Request-Id"]
    assert "X-Subject-Token" not in refused.headers


async def test_token_lifetime_comes_from_the_config() -> None:
    config = SimulatorConfig(token_ttl_seconds=60, iam_user="u", iam_password="p", iam_domain="d")
    async with await start_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        clock = FakeClock()
        sim.state.clock = clock
        body = token_request(user="u", password="p", domain="d")
        issued = await http.post("/v3/auth/tokens", json=body)
        token, project = issued.headers["X-Subject-Token"], issued.json()["token"]["project"]["id"]
        # with no project configured, the token's project derives from the scope's name
        assert re.fullmatch(r"[0-9a-f]{32}", project)
        project_path = api("/instances", project)
        clock.advance(59)
        assert (await http.get(project_path, headers={"X-Auth-Token": token})).status_code == 200
        clock.advance(2)
        assert_error(await http.get(project_path, headers={"X-Auth-Token": token}), 401, "APIGW.0307")


async def signed_request(
    http: httpx.AsyncClient,
    sim: RunningSimulator,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes = b"",
    *,
    secret_key: str = "EXAMPLESK",
    date: str | None = None,
) -> httpx.Response:
    headers = {
        "Host": f"127.0.0.1:{sim.port}",
        "Content-Type": "application/json",
        "X-Sdk-Date": date or signing.sdk_date(),
        "X-Project-Id": PROJECT,
    }
    headers["Authorization"] = signing.authorization(
        "EXAMPLEAK", secret_key, method, path, query, headers, body
    )
    url = path + ("?" + signing.canonical_query(query) if query else "")
    return await http.request(method, url, headers=headers, content=body)


async def test_aksk_signatures_are_verified(strict_sim: RunningSimulator) -> None:
    since = [("begin_time", "2024-01-01T00:00:00+0800"), ("instance_id", ORDERS_DEV), ("limit", "10")]
    body = b'{"instance_id": "%s", "name": "signed-backup"}' % ORDERS_DEV.encode()
    async with httpx.AsyncClient(base_url=strict_sim.url) as http:
        created = await signed_request(http, strict_sim, "POST", api("/backups/create"), [], body)
        assert created.status_code == 201, created.text
        listed = await signed_request(http, strict_sim, "GET", api("/backups"), since)
        assert listed.status_code == 200, listed.text
        assert listed.json()["total_count"] == 1

        wrong = await signed_request(http, strict_sim, "GET", api("/backups"), since, secret_key="WRONG")
        assert_error(wrong, 401, "APIGW.0301")
        assert "signature" in wrong.json()["error_msg"]
        stale = await signed_request(http, strict_sim, "GET", api("/backups"), since, date="20240101T000000Z")
        assert_error(stale, 401, "APIGW.0301")
        calls = (await http.get("/_sim/calls")).json()
        assert [c["auth"] for c in calls] == ["aksk", "aksk", None, None]


async def test_open_simulator_accepts_any_well_formed_signature(simulator: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=simulator.url) as http:
        signed = await signed_request(http, simulator, "GET", api("/instances"), [], secret_key="anything")
        assert signed.status_code == 200
        malformed = await http.get(api("/instances"), headers={"Authorization": "SDK-HMAC-SHA256 nonsense"})
        assert_error(malformed, 401, "APIGW.0301")


async def test_security_token_must_match_when_configured() -> None:
    config = SimulatorConfig(access_key="EXAMPLEAK", secret_key="EXAMPLESK", security_token="sts-token")
    async with await start_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        assert_error(await signed_request(http, sim, "GET", api("/instances"), []), 401, "APIGW.0301")
        headers = {
            "Host": f"127.0.0.1:{sim.port}",
            "X-Sdk-Date": signing.sdk_date(),
            "X-Security-Token": "sts-token",
        }
        path = api("/instances")
        headers["Authorization"] = signing.authorization(
            "EXAMPLEAK", "EXAMPLESK", "GET", path, [], headers, b""
        )
        assert (await http.get(path, headers=headers)).status_code == 200


def test_config_reads_the_bots_environment_variables() -> None:
    config = SimulatorConfig.from_env(
        {"HUAWEICLOUD_SDK_PROJECT_ID": PROJECT, "HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_AUTH_TOKEN": ""},
        backup_seconds=1,
    )
    assert (config.project_id, config.access_key, config.auth_token, config.backup_seconds) == (
        PROJECT,
        "ak",
        None,
        1,
    )
    assert config.strict_tokens
    assert not SimulatorConfig.from_env({}).strict_tokens


async def test_configured_static_token_is_the_only_one_accepted() -> None:
    config = SimulatorConfig(auth_token="static")
    async with await start_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        ok = await http.get(api("/instances"), headers={"X-Auth-Token": "static"})
        assert ok.status_code == 200
        other = await http.get(api("/instances"), headers={"X-Auth-Token": "other"})
        assert_error(other, 401, "APIGW.0301")


# faults


async def test_fail_next_burst_then_recovery(client: httpx.AsyncClient) -> None:
    rules = [
        {"count": 2, "status": 503, "method": "GET", "path_contains": "backups"},
        {"count": 1, "status": 429, "method": "*", "path_contains": "instances", "retry_after": 2},
    ]
    assert (await client.post("/_sim/faults", json={"fail_next": rules})).status_code == 200
    assert_error(await client.get(api("/backups")), 503, "DBS.108000")
    throttled = await client.get(api("/instances"))
    assert_error(throttled, 429, "APIGW.0308")
    assert throttled.headers["Retry-After"] == "2"
    assert (await client.get(api("/instances"))).status_code == 200
    assert_error(await client.get(api("/backups")), 503, "DBS.108000")
    assert (await client.get(api("/backups"))).status_code == 200
    assert (await client.get("/_sim/faults")).json()["fail_next"] == []


async def test_random_throttling_and_errors_hit_reads_only(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"throttle_rate": 1.0, "retry_after": 1})
    throttled = await client.get(api("/backups"))
    assert_error(throttled, 429, "APIGW.0308")
    assert throttled.headers["Retry-After"] == "1"
    assert (await create(client, ORDERS_DEV, "writes-pass")).status_code == 201
    await client.post("/_sim/faults", json={"throttle_rate": 0, "error_rate": 1.0, "error_status": 500})
    assert_error(await client.get(api("/instances")), 500, "DBS.108000")
    assert (await client.delete("/_sim/faults")).json()["error_rate"] == 0
    assert (await client.get(api("/instances"))).status_code == 200
    bad = await client.post("/_sim/faults", json={"error_rate": 2})
    assert bad.status_code == 400


async def test_dropped_create_is_committed_but_unanswered(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await client.post("/_sim/faults", json={"drop_after_create": 1})
    with pytest.raises(httpx.TransportError):
        await create(client, ORDERS_DEV, "ambiguous-one")
    everything = (await client.get("/_sim/backups")).json()["backups"]
    assert [b["name"] for b in everything] == ["ambiguous-one"]
    found = (await client.get(api("/backups"), params={"instance_id": ORDERS_DEV})).json()
    assert [b["name"] for b in found["backups"]] == ["ambiguous-one"]
    calls = (await client.get("/_sim/calls")).json()
    assert [(c["method"], c["status"]) for c in calls[:1]] == [("POST", 0)]
    assert calls[0]["body"] == {"instance_id": ORDERS_DEV, "name": "ambiguous-one"}
    clock.advance(1)
    assert (await create(client, ORDERS_DEV, "answered-one")).status_code == 201


async def test_hang_stalls_the_next_request_past_a_client_timeout(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"hang_ms": 800, "hang_path_contains": "/instances"})
    await client.get(api("/backups"))  # not matched: no stall, the hang stays armed
    with pytest.raises(httpx.ReadTimeout):
        await client.get(api("/instances"), timeout=0.2)
    assert (await client.get(api("/instances"))).status_code == 200


async def test_startup_faults_come_from_the_config() -> None:
    config = SimulatorConfig.model_validate({"faults": {"throttle_rate": 1.0, "retry_after": None}})
    async with (
        await start_simulator(config) as sim,
        httpx.AsyncClient(base_url=sim.url, headers=HEADERS) as http,
    ):
        throttled = await http.get(api("/instances"))
        assert_error(throttled, 429, "APIGW.0308")
        assert "Retry-After" not in throttled.headers
        await http.post("/_sim/faults", json={"throttle_rate": 0})
        assert (await http.get(api("/instances"))).status_code == 200
        await http.post("/_sim/reset")
        assert (await http.get(api("/instances"))).status_code == 429  # reset restores start-up faults


# admin


async def test_calls_stats_and_reset(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_sim/health")).json() == {"ok": True}
    await client.get(api("/instances"), params={"name": "orders-dev"})
    await create(client, ORDERS_DEV, "recorded")
    await client.get("/_sim/backups")  # admin calls are not recorded
    calls = (await client.get("/_sim/calls")).json()
    assert [(c["method"], c["path"], c["query"], c["status"], c["x_language"]) for c in calls] == [
        ("GET", api("/instances"), {"name": "orders-dev"}, 200, "en-us"),
        ("POST", api("/backups/create"), {}, 201, "en-us"),
    ]
    stats = (await client.get("/_sim/stats")).json()
    assert stats["by_route"]["POST /v3/{project_id}/backups/create"] == {"201": 1}
    assert stats["requests"] == 2
    assert (await client.delete("/_sim/calls")).status_code == 200
    assert (await client.get("/_sim/calls")).json() == []
    await client.post("/_sim/reset")
    assert (await client.get("/_sim/backups")).json()["total_count"] == 0
    assert (await create(client, ORDERS_DEV, "recorded")).status_code == 201


# persistence and processes


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    config = SimulatorConfig(backup_seconds=600, job_invisible_seconds=0, state_file=tmp_path / "sim.json")
    async with (
        await start_simulator(config) as first,
        httpx.AsyncClient(base_url=first.url, headers=HEADERS) as http,
    ):
        created = (await create(http, ORDERS_DEV, "survivor")).json()
    assert files_in(tmp_path) == ["sim.json"]  # no temporary file left behind
    async with (
        await start_simulator(config) as second,
        httpx.AsyncClient(base_url=second.url, headers=HEADERS) as http,
    ):
        again = await backup_by_id(http, created["backup"]["id"])
        assert (again["name"], again["status"]) == ("survivor", "BUILDING")
        job = await http.get(api("/jobs"), params={"id": created["job_id"]})
        assert job.json()["job"]["status"] == "Running"
        assert_error(await create(http, ORDERS_DEV, "another"), 409, "DBS.201205")


@asynccontextmanager
async def cli_simulator(*args: str) -> AsyncIterator[tuple[str, str]]:
    """``python -m bot simulator --port N *args`` as a child process: yields (its URL, its banner),
    then stops it with SIGTERM and checks that it exits cleanly."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "simulator", "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        yield f"http://127.0.0.1:{port}", banner
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            code = await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    assert code == 0, (await process.stderr.read()).decode()


async def test_cli_serves_until_terminated() -> None:
    async with cli_simulator("--backup-seconds", "0.2") as (url, banner):
        assert f"TaurusDB simulator listening on {url}" in banner, banner
        async with httpx.AsyncClient(headers=HEADERS) as http:
            answer = await http.get(f"{url}{api('/instances')}")
        assert answer.status_code == 200
        assert answer.json()["total_count"] == len(SEED_INSTANCES)
