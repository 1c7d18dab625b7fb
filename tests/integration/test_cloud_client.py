"""The TaurusDB client against the project's simulator over real HTTP (real sockets, real timeouts).

Each test gets a fresh simulator on a random loopback port with AK/SK and IAM credentials set, and
inspects what it received through the ``/_sim/`` admin API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from bot.cloud.auth import AkSkAuth, IamTokenAuth, StaticTokenAuth
from bot.cloud.client import TaurusDB
from bot.cloud.errors import AmbiguousInstance, ApiError, Category, InstanceNotFound, InvalidRequest
from bot.cloud.factory import build_taurusdb
from bot.cloud.models import BackupStatus, JobStatus
from bot.cloud.retry import RetryPolicy
from bot.config import Settings
from bot.local.simulator import RunningSimulator, SimulatorConfig, seed_id, start_simulator

PROJECT = "5f3a9c0e1b2d4e6f8a7b9c0d1e2f3a4b"
AK, SK = "SIMULATORAK0000000001", "simulator-secret-key"
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = "backup-bot", "iam-pass-123", "acme"
FAST = RetryPolicy(attempts=4, base=0.02, cap=0.1, budget=10.0)
TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    config = SimulatorConfig(
        backup_seconds=1.5,  # long enough that a second create finds the first running
        job_invisible_seconds=0.5,
        access_key=AK,
        secret_key=SK,
        project_id=PROJECT,
        iam_user=IAM_USER,
        iam_password=IAM_PASSWORD,
        iam_domain=IAM_DOMAIN,
        token_ttl_seconds=3600,
    )
    simulator = await start_simulator(config, port=0)
    yield simulator
    await simulator.stop()


class Admin:
    """The simulator's ``/_sim/`` API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def faults(self, **knobs: Any) -> None:
        (await self.http.post("/_sim/faults", json=knobs)).raise_for_status()

    async def calls(self) -> list[dict[str, Any]]:
        response = await self.http.get("/_sim/calls")
        response.raise_for_status()
        calls: list[dict[str, Any]] = response.json()
        return calls

    async def service_calls(self) -> list[dict[str, Any]]:
        return [c for c in await self.calls() if c["path"].startswith(f"/v3/{PROJECT}/")]

    async def clear_calls(self) -> None:
        (await self.http.delete("/_sim/calls")).raise_for_status()

    async def expire_tokens(self) -> None:
        (await self.http.post("/_sim/expire-tokens")).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (await self.http.get("/_sim/stats")).json()
        return stats

    async def backups(self) -> list[dict[str, Any]]:
        backups: list[dict[str, Any]] = (await self.http.get("/_sim/backups")).json()["backups"]
        return backups


@pytest.fixture
async def admin(sim: RunningSimulator) -> AsyncIterator[Admin]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as http:
        yield Admin(http)


@pytest.fixture
async def http(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT, auth=AkSkAuth(AK, SK, PROJECT)) as client:
        yield client


@pytest.fixture
def cloud(http: httpx.AsyncClient) -> TaurusDB:
    return TaurusDB(http, PROJECT, retry=FAST)


async def _eventually(check: Callable[[], Awaitable[bool]], *, tries: int = 100, pause: float = 0.05) -> None:
    """Poll ``check`` until it holds (bounded; no assertion on how long it took)."""
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(pause)
    raise AssertionError("condition never held")


ORDERS_DEV = seed_id("orders-dev")
ANALYTICS_DEV = seed_id("analytics-dev")
ORDERS_PROD = seed_id("orders-prod")

# -- happy path --------------------------------------------------------------------------------


async def test_create_then_list_by_backup_id_then_job(cloud: TaurusDB, admin: Admin) -> None:
    created = await cloud.create_backup(ORDERS_DEV, "nightly-1", "before the migration")
    assert created.backup.status is BackupStatus.BUILDING
    assert created.backup.instance_id == ORDERS_DEV and created.job_id

    page = await cloud.list_backups(backup_id=created.backup.id)
    assert [b.id for b in page.backups] == [created.backup.id]
    assert page.backups[0].name == "nightly-1" and page.backups[0].instance_name == "orders-dev"

    # A new job is not visible for a moment: DBS.200543, answered at once (a 400 is not retried).
    with pytest.raises(ApiError) as invisible:
        await cloud.get_job(created.job_id)
    assert (invisible.value.status, invisible.value.error_code) == (400, "DBS.200543")
    assert invisible.value.retryable  # the caller polls again later
    assert cloud.calls["get_job"] == 1

    seen: list[JobStatus] = []

    async def job_visible() -> bool:
        try:
            seen.append((await cloud.get_job(created.job_id)).status)
        except ApiError as exc:
            assert exc.error_code == "DBS.200543"
            return False
        return seen[-1] is JobStatus.COMPLETED

    await _eventually(job_visible)
    assert set(seen) <= {JobStatus.RUNNING, JobStatus.COMPLETED}

    async def backup_done() -> bool:
        (record,) = (await cloud.list_backups(backup_id=created.backup.id)).backups
        return record.status.finished

    await _eventually(backup_done)
    (record,) = (await cloud.list_backups(backup_id=created.backup.id)).backups
    assert record.status is BackupStatus.COMPLETED
    assert (await cloud.find_backup(ORDERS_DEV, "nightly-1")) == record

    posted = [c for c in await admin.service_calls() if c["method"] == "POST"]
    assert len(posted) == 1
    assert posted[0]["body"] == {
        "instance_id": ORDERS_DEV,
        "name": "nightly-1",
        "description": "before the migration",
    }


async def test_time_window_query_survives_plus_encoding(cloud: TaurusDB, admin: Admin) -> None:
    created = await cloud.create_backup(ANALYTICS_DEV, "window-1")
    cst = timezone(timedelta(hours=8))
    now = datetime.now(cst)
    found = [
        b.id
        async for b in cloud.iter_backups(
            instance_id=ANALYTICS_DEV, begin_time=now - timedelta(hours=1), end_time=now + timedelta(hours=1)
        )
    ]
    assert found == [created.backup.id]
    listed = (await admin.service_calls())[-1]
    assert listed["query"]["begin_time"].endswith("+0800")  # the '+' arrived as '+', not a space


async def test_iter_backups_pages(cloud: TaurusDB) -> None:
    ids = []
    for n, instance in enumerate([ORDERS_DEV, ANALYTICS_DEV, ORDERS_PROD]):
        ids.append((await cloud.create_backup(instance, f"paged-{n}")).backup.id)
    walked = [b.id async for b in cloud.iter_backups(page_size=2)]
    assert sorted(walked) == sorted(ids)
    assert cloud.calls["list_backups"] == 2


# -- instances --------------------------------------------------------------------------------------


async def test_find_instance(cloud: TaurusDB, admin: Admin) -> None:
    by_id = await cloud.find_instance(ORDERS_PROD)
    assert by_id.name == "orders-prod"
    by_name = await cloud.find_instance("orders-dev")
    assert by_name.id == ORDERS_DEV
    queries = [c["query"] for c in await admin.service_calls()]
    assert queries[0]["id"] == ORDERS_PROD and queries[1]["name"] == "orders-dev"

    with pytest.raises(InstanceNotFound) as missing:
        await cloud.find_instance("orders-prd")
    assert missing.value.suggestions[0] == "orders-prod"
    assert 1 <= len(missing.value.suggestions) <= 3

    with pytest.raises(InstanceNotFound):
        await cloud.find_instance("0" * 32 + "in07")

    with pytest.raises(AmbiguousInstance) as ambiguous:
        await cloud.find_instance("shared-staging")
    assert sorted(ambiguous.value.choices) == sorted(
        [(i.id, i.name) async for i in cloud.iter_instances(name="shared-staging")]
    )
    assert len(ambiguous.value.choices) == 2
    assert all(not c["query"].get("name", "").startswith("*") for c in await admin.service_calls())


async def test_instance_states_come_through(cloud: TaurusDB) -> None:
    frozen = await cloud.find_instance("reporting-frozen")
    assert frozen.status == "FROZEN" and not frozen.selectable
    with pytest.raises(ApiError) as refused:
        await cloud.create_backup(frozen.id, "frozen-1")
    assert refused.value.error_code == "DBS.280449"


# -- validation: nothing reaches the server -----------------------------------------------------------

INVALID_CALLS: list[tuple[str, Callable[[TaurusDB], Awaitable[Any]], str]] = [
    ("name-digit", lambda c: c.create_backup(ORDERS_DEV, "1abc"), "must start with a letter"),
    ("name-short", lambda c: c.create_backup(ORDERS_DEV, "abc"), "4 to 64 characters"),
    ("name-long", lambda c: c.create_backup(ORDERS_DEV, "a" * 65), "4 to 64 characters"),
    ("name-chars", lambda c: c.create_backup(ORDERS_DEV, "a b.c"), "only letters, digits"),
    ("desc-long", lambda c: c.create_backup(ORDERS_DEV, "name-ok", "x" * 257), "at most 256"),
    ("desc-cr", lambda c: c.create_backup(ORDERS_DEV, "name-ok", "a\rb"), "single line"),
    ("desc-chars", lambda c: c.create_backup(ORDERS_DEV, "name-ok", "a<b"), "may not contain"),
    ("instance-id", lambda c: c.create_backup("orders-dev", "name-ok"), "ending in `in07`"),
    ("language", lambda c: c.create_backup(ORDERS_DEV, "name-ok", language="fr"), "X-Language"),
    ("limit-0", lambda c: c.list_backups(limit=0), "limit must be between 1 and 100"),
    ("limit-101", lambda c: c.list_instances(limit=101), "limit must be between 1 and 100"),
    ("offset", lambda c: c.list_backups(offset=-1), "offset must be 0 or more"),
    (
        "window",
        lambda c: c.list_backups(
            begin_time=datetime(2026, 1, 2, tzinfo=UTC), end_time=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        "end_time must be later than begin_time",
    ),
    ("backup-type", lambda c: c.list_backups(backup_type="full"), "auto or manual"),
    ("wildcard", lambda c: c.find_instance("*prod"), r"may not start with \*"),
    ("wildcard-list", lambda c: c.list_instances(name="*"), r"may not start with \*"),
    ("job-id", lambda c: c.get_job(""), "job ID"),
]


@pytest.mark.parametrize(
    ("call", "rule"), [(c, r) for _, c, r in INVALID_CALLS], ids=[i for i, _, _ in INVALID_CALLS]
)
async def test_validation_happens_before_any_call(
    cloud: TaurusDB, admin: Admin, call: Callable[[TaurusDB], Awaitable[Any]], rule: str
) -> None:
    with pytest.raises(InvalidRequest, match=rule):
        await call(cloud)
    assert await admin.calls() == []
    assert sum(cloud.calls.values()) == 0


# -- read retries ---------------------------------------------------------------------------------


async def test_503_burst_on_reads_is_recovered(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(
        fail_next=[{"count": 3, "status": 503, "method": "GET", "path_contains": "backups", "retry_after": 0}]
    )
    page = await cloud.list_backups(instance_id=ORDERS_DEV)
    assert page.total_count == 0
    assert [c["status"] for c in await admin.service_calls()] == [503, 503, 503, 200]
    assert cloud.calls["list_backups"] == 4


async def test_429_burst_on_reads_is_recovered(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(
        fail_next=[
            {"count": 2, "status": 429, "method": "GET", "path_contains": "instances", "retry_after": 0}
        ]
    )
    instance = await cloud.find_instance("orders-dev")
    assert instance.id == ORDERS_DEV
    assert [c["status"] for c in await admin.service_calls()] == [429, 429, 200]


async def test_a_longer_burst_than_the_attempts_fails(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(
        fail_next=[{"count": 10, "status": 502, "method": "GET", "path_contains": "jobs", "retry_after": 0}]
    )
    with pytest.raises(ApiError) as failed:
        await cloud.get_job("e0fbbfc8-1ac4-4721-b9e9-7dd685c5bdd7")
    assert failed.value.status == 502
    assert len(await admin.service_calls()) == FAST.attempts


async def test_read_timeout_is_retried(sim: RunningSimulator, admin: Admin) -> None:
    await admin.faults(hang_ms=3000, hang_path_contains="instances")
    short = httpx.Timeout(5.0, read=0.5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=short, auth=AkSkAuth(AK, SK, PROJECT)) as http:
        cloud = TaurusDB(http, PROJECT, retry=FAST)
        instance = await cloud.find_instance(ORDERS_DEV)
    assert instance.name == "orders-dev"
    assert cloud.calls["list_instances"] == 2


async def test_4xx_on_reads_is_not_retried(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(fail_next=[{"count": 1, "status": 403, "method": "GET", "error_code": "DBS.200604"}])
    with pytest.raises(ApiError) as refused:
        await cloud.list_instances()
    assert refused.value.error_code == "DBS.200604" and refused.value.request_id
    assert len(await admin.service_calls()) == 1


# -- the ambiguous create ---------------------------------------------------------------------------


async def test_create_committed_but_unanswered_is_found_not_repeated(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(drop_after_create=1)
    result = await cloud.create_backup(ORDERS_DEV, "dropped-1")
    backups = [b for b in await admin.backups() if b["name"] == "dropped-1"]
    assert len(backups) == 1
    assert result.backup.id == backups[0]["id"]
    assert result.job_id == ""  # lost with the answer
    calls = await admin.service_calls()
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 0), ("GET", 200)]
    assert cloud.calls["create_backup"] == 1


async def test_create_5xx_not_committed_is_posted_once_more(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(fail_next=[{"count": 1, "status": 503, "method": "POST", "path_contains": "create"}])
    result = await cloud.create_backup(ANALYTICS_DEV, "retried-1")
    assert result.job_id
    assert [b["id"] for b in await admin.backups() if b["name"] == "retried-1"] == [result.backup.id]
    assert [(c["method"], c["status"]) for c in await admin.service_calls()] == [
        ("POST", 503),
        ("GET", 200),
        ("POST", 201),
    ]


async def test_create_429_is_retried_after_retry_after(cloud: TaurusDB, admin: Admin) -> None:
    await admin.faults(fail_next=[{"count": 1, "status": 429, "method": "POST", "retry_after": 0}])
    result = await cloud.create_backup(ORDERS_PROD, "throttled-1")
    assert [(c["method"], c["status"]) for c in await admin.service_calls()] == [("POST", 429), ("POST", 201)]
    assert result.backup.name == "throttled-1"


async def test_backup_already_running_is_raised(cloud: TaurusDB) -> None:
    await cloud.create_backup(ORDERS_DEV, "first-1")
    with pytest.raises(ApiError) as busy:
        await cloud.create_backup(ORDERS_DEV, "second-1")
    assert (busy.value.status, busy.value.error_code) == (409, "DBS.201205")
    assert cloud.calls["create_backup"] == 2


# -- IAM tokens -----------------------------------------------------------------------------------


def _iam_client(sim: RunningSimulator) -> tuple[httpx.AsyncClient, IamTokenAuth]:
    http = httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT)
    auth = IamTokenAuth(http, sim.url, IAM_USER, IAM_PASSWORD, IAM_DOMAIN, project_id=PROJECT)
    http.auth = auth
    return http, auth


async def test_token_expiry_mid_run_costs_one_token_request(sim: RunningSimulator, admin: Admin) -> None:
    http, auth = _iam_client(sim)
    async with http:
        cloud = TaurusDB(http, PROJECT, retry=FAST)
        await cloud.list_instances()
        assert auth.token_requests == 1
        await admin.expire_tokens()
        page = await cloud.list_instances()
    assert page.total_count > 0
    assert auth.token_requests == 2
    assert (await admin.stats())["token_issues"] == 2
    statuses = [(c["path"].split("/")[-1], c["status"]) for c in await admin.calls()]
    assert statuses == [
        ("tokens", 201),
        ("instances", 200),
        ("instances", 401),
        ("tokens", 201),
        ("instances", 200),
    ]


async def test_twenty_concurrent_callers_share_one_token(sim: RunningSimulator, admin: Admin) -> None:
    http, auth = _iam_client(sim)
    async with http:
        cloud = TaurusDB(http, PROJECT, retry=FAST)
        pages = await asyncio.gather(*(cloud.list_instances() for _ in range(20)))
    assert all(p.total_count == pages[0].total_count for p in pages)
    assert auth.token_requests == 1
    assert (await admin.stats())["token_issues"] == 1


async def test_wrong_iam_password_is_an_auth_error(sim: RunningSimulator, admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT) as http:
        http.auth = IamTokenAuth(http, sim.url, IAM_USER, "wrong", IAM_DOMAIN, project_id=PROJECT)
        with pytest.raises(ApiError) as refused:
            await TaurusDB(http, PROJECT, retry=FAST).list_instances()
    assert refused.value.status == 401
    assert await admin.service_calls() == []


# -- AK/SK -----------------------------------------------------------------------------------------


async def test_wrong_secret_key_is_refused_and_not_retried(sim: RunningSimulator, admin: Admin) -> None:
    async with httpx.AsyncClient(
        base_url=sim.url, timeout=TIMEOUT, auth=AkSkAuth(AK, "wrong", PROJECT)
    ) as http:
        cloud = TaurusDB(http, PROJECT, retry=FAST)
        with pytest.raises(ApiError) as refused:
            await cloud.list_backups()
    assert (refused.value.status, refused.value.error_code) == (401, "APIGW.0301")
    assert refused.value.category is Category.AUTH and not refused.value.retryable
    assert len(await admin.calls()) == 1


async def test_language_reaches_the_server(cloud: TaurusDB, admin: Admin) -> None:
    await cloud.list_instances(language="zh-cn")
    await cloud.list_backups()
    assert [c["x_language"] for c in await admin.service_calls()] == ["zh-cn", "en-us"]


# -- built from settings -------------------------------------------------------------------------------


async def test_factory_builds_a_working_aksk_client(sim: RunningSimulator) -> None:
    settings = Settings(
        HUAWEICLOUD_SDK_AK=AK,
        HUAWEICLOUD_SDK_SK=SK,
        HUAWEICLOUD_SDK_PROJECT_ID=PROJECT,
        TAURUSDB_ENDPOINT=sim.url,
    )
    cloud, http = build_taurusdb(settings)
    async with http:
        assert isinstance(http.auth, AkSkAuth)
        assert (await cloud.find_instance("orders-prod")).id == ORDERS_PROD


async def test_factory_builds_a_working_iam_client(sim: RunningSimulator, admin: Admin) -> None:
    settings = Settings(
        HUAWEICLOUD_IAM_USER=IAM_USER,
        HUAWEICLOUD_IAM_PASSWORD=IAM_PASSWORD,
        HUAWEICLOUD_IAM_DOMAIN=IAM_DOMAIN,
        HUAWEICLOUD_SDK_PROJECT_ID=PROJECT,
        HUAWEICLOUD_SDK_IAM_ENDPOINT=sim.url,
        HUAWEICLOUD_REGION="ap-southeast-3",
    )
    cloud, http = build_taurusdb(settings, endpoint_override=sim.url)
    async with http:
        assert isinstance(http.auth, IamTokenAuth)
        await cloud.list_instances()
        await cloud.list_instances()
    assert (await admin.stats())["token_issues"] == 1


async def test_static_token_and_simulator_mode(sim: RunningSimulator) -> None:
    # The simulator refuses tokens it did not issue when credentials are configured.
    async with httpx.AsyncClient(base_url=sim.url, timeout=TIMEOUT, auth=StaticTokenAuth("made-up")) as http:
        with pytest.raises(ApiError) as refused:
            await TaurusDB(http, PROJECT, retry=FAST).list_instances()
    assert refused.value.error_code == "APIGW.0301"


async def test_simulator_mode_without_credentials() -> None:
    # No credentials at all: a placeholder token and project, which an open simulator accepts.
    async with await start_simulator(SimulatorConfig(backup_seconds=0.1), port=0) as open_sim:
        cloud, http = build_taurusdb(Settings(), endpoint_override=open_sim.url)
        async with http:
            assert isinstance(http.auth, StaticTokenAuth)
            assert (await cloud.find_instance("orders-dev")).id == ORDERS_DEV
