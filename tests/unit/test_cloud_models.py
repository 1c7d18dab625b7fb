"""Timestamps and response models parsed leniently; every input rule enforced before any HTTP call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cloud.client import TaurusDB
from bot.cloud.errors import AmbiguousInstance, InstanceNotFound, InvalidRequest
from bot.cloud.models import (
    BackupPage,
    BackupStatus,
    CreateBackupRequest,
    CreateBackupResult,
    InstancePage,
    Job,
    JobStatus,
    format_cloud_time,
    parse_cloud_time,
)

PROJECT = "0123456789abcdef0123456789abcdef"
INSTANCE = "61a4ea66210545909d74a05c27a7179ein07"
CST = timezone(timedelta(hours=8))

# -- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-07-07T01:17:05+0800", datetime(2020, 7, 7, 1, 17, 5, tzinfo=CST)),
        ("2020-07-07T01:17:05+08:00", datetime(2020, 7, 7, 1, 17, 5, tzinfo=CST)),
        ("2020-07-06T17:17:05Z", datetime(2020, 7, 6, 17, 17, 5, tzinfo=UTC)),
        ("2018-08-20T02:33:49_0800", datetime(2018, 8, 20, 2, 33, 49, tzinfo=CST)),  # doc typo
        ("2015-11-09T01:42:57.527363Z", datetime(2015, 11, 9, 1, 42, 57, tzinfo=UTC)),
        ("2020-07-07T01:17:05", datetime(2020, 7, 7, 1, 17, 5, tzinfo=UTC)),  # no offset: UTC
        ("2020-07-07T01:17:05-0330", datetime(2020, 7, 7, 4, 47, 5, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_parse_cloud_time(text: str | None, expected: datetime | None) -> None:
    assert parse_cloud_time(text) == expected


@given(
    st.integers(0, 9999),
    st.integers(0, 19),
    st.integers(0, 39),
    st.integers(0, 29),
    st.integers(0, 69),
    st.integers(0, 69),
    st.sampled_from(["", "Z", "+", "-", "_"]),
    st.integers(0, 29),
    st.integers(0, 69),
)
def test_times_read_as_strptime_reads_them_or_not_at_all(
    y: int, mo: int, d: int, h: int, mi: int, s: int, sign: str, oh: int, om: int
) -> None:
    """The digits are read straight into a datetime: whatever strptime took, with the same instant,
    and whatever it refused (month 13, minute 61, an offset of 25 hours …) still refused."""
    offset = sign if sign in ("", "Z") else f"{sign}{oh:02d}{om:02d}"
    text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{offset}"
    zone = "+0000" if offset in ("", "Z") else offset.replace("_", "+")
    try:
        expected = datetime.strptime(text[:19] + zone, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        with pytest.raises(ValueError):
            parse_cloud_time(text)
        return
    assert parse_cloud_time(text) == expected
    assert parse_cloud_time(text).utcoffset() == expected.utcoffset()  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["yesterday", "2020-13-45", "2020-07-07 01:17"])
def test_unparseable_time_is_an_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cloud_time(text)


def test_format_cloud_time() -> None:
    assert format_cloud_time(datetime(2024, 1, 1, tzinfo=CST)) == "2024-01-01T00:00:00+0800"
    assert format_cloud_time(datetime(2024, 1, 1)) == "2024-01-01T00:00:00+0000"


# -- responses ----------------------------------------------------------------------------------


def test_create_answer_from_the_docs() -> None:
    result = CreateBackupResult.model_validate(
        {
            "backup": {
                "id": "2f4ddb93-b901-4b08-93d8-1d2e472f30fe",
                "name": "backup-1",
                "description": "Manual backup",
                "begin_time": "2020-07-07T01:17:05+0800",
                "status": "BUILDING",
                "type": "manual",
                "instance_id": "07033b125fd94a8a96896f8bcfee6ddain07",
            },
            "job_id": "e0fbbfc8-1ac4-4721-b9e9-7dd685c5bdd7",
        }
    )
    assert result.backup.status is BackupStatus.BUILDING
    assert result.backup.begin_time == datetime(2020, 7, 6, 17, 17, 5, tzinfo=UTC)


def test_backup_list_items_parse_leniently() -> None:
    page = BackupPage.model_validate(
        {
            "backups": [
                {
                    "id": "b1",
                    "name": "n1",
                    "status": "COMPLETED",
                    "begin_time": "2020-07-07T01:17:05+0800",
                    "end_time": "",
                    "take_up_time": "2",
                    "size": "12.5",
                    "datastore": {"type": "gaussdb-mysql", "version": "8.0"},
                    "unknown_field": True,
                }
            ],
            "total_count": 1,
        }
    )
    record = page.backups[0]
    assert (record.end_time, record.take_up_time, record.size) == (None, 2.0, 12.5)
    assert record.status.succeeded


def test_job_and_instance_models() -> None:
    job = Job.model_validate(
        {"id": "j", "status": "Running", "process": "60%", "created": "2020-07-07T01:17:05+0800"}
    )
    assert (job.status, job.process) == (JobStatus.RUNNING, 60)
    page = InstancePage.model_validate(
        {
            "instances": [{"id": INSTANCE, "name": "orders", "status": "ACTIVE", "port": "3306"}],
            "total_count": 1,
        }
    )
    assert page.instances[0].port == 3306 and page.instances[0].selectable


# -- validation before any HTTP call --------------------------------------------------------------


def _must_not_be_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no HTTP call expected, got {request.method} {request.url}")


@pytest.fixture
def cloud() -> Iterator[TaurusDB]:
    http = httpx.AsyncClient(
        base_url="https://taurus.example.test", transport=httpx.MockTransport(_must_not_be_called)
    )
    yield TaurusDB(http, PROJECT)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("1backup", "must start with a letter"),
        ("_backup", "must start with a letter"),
        ("", "required"),
        ("abc", "4 to 64 characters"),
        ("a" * 65, "4 to 64 characters"),
        ("nightly backup", "only letters, digits, hyphens"),
        ("nightly.backup", "only letters, digits, hyphens"),
        ("备份备份备份", "must start with a letter"),
    ],
)
async def test_invalid_backup_names(cloud: TaurusDB, name: str, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule):
        await cloud.create_backup(INSTANCE, name)
    assert sum(cloud.calls.values()) == 0


@pytest.mark.parametrize(
    ("description", "rule"),
    [
        ("x" * 257, "at most 256 characters"),
        ("line one\rline two", "single line"),
        ("line one\nline two", "single line"),
        ("drop <table>", "may not contain < >"),
        ("it's fine!", "may not contain ! '"),
        ('a "quoted" = b & c', 'may not contain " & ='),
    ],
)
async def test_invalid_descriptions(cloud: TaurusDB, description: str, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule):
        await cloud.create_backup(INSTANCE, "nightly-1", description)


@pytest.mark.parametrize(
    "instance_id",
    [
        "",
        "61a4ea66210545909d74a05c27a7179e",
        "61a4ea66210545909d74a05c27a7179ein08",
        "61a4ea66-2105-4590-9d74-a0in07",
    ],
)
async def test_invalid_instance_ids(cloud: TaurusDB, instance_id: str) -> None:
    with pytest.raises(InvalidRequest, match="36 letters or digits ending in `in07`"):
        await cloud.create_backup(instance_id, "nightly-1")
    with pytest.raises(InvalidRequest, match="ending in `in07`"):
        await cloud.list_backups(instance_id=instance_id or "x")


def test_the_longest_valid_values_pass() -> None:
    request = CreateBackupRequest(instance_id=INSTANCE, name="a" + "b_-9" * 15 + "xyz", description="d" * 256)
    assert len(request.name) == 64


T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"offset": -1}, "offset must be 0 or more"),
        ({"begin_time": T, "end_time": T}, "end_time must be later than begin_time"),
        ({"begin_time": T, "end_time": T - timedelta(seconds=1)}, "end_time must be later than begin_time"),
        ({"backup_type": "full"}, "auto or manual"),
        ({"backup_id": "has space"}, "backup ID"),
        ({"backup_id": ""}, "backup ID"),
        ({"language": "fr-fr"}, "X-Language must be en-us or zh-cn"),
        ({"language": "EN-US"}, "X-Language must be en-us or zh-cn"),
    ],
)
async def test_invalid_list_queries(cloud: TaurusDB, kwargs: dict[str, Any], rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule):
        await cloud.list_backups(**kwargs)


async def test_naive_and_aware_times_compare(cloud: TaurusDB) -> None:
    with pytest.raises(InvalidRequest, match="later than"):
        await cloud.list_backups(
            begin_time=datetime(2026, 1, 1, 8), end_time=datetime(2026, 1, 1, 15, tzinfo=CST)
        )


@pytest.mark.parametrize(
    ("call", "rule"),
    [
        (lambda c: c.list_instances(limit=500), "limit must be between 1 and 100"),
        (lambda c: c.list_instances(name="*prod"), r"may not start with \*"),
        (lambda c: c.list_instances(name=""), "must not be empty"),
        (lambda c: c.list_instances(id="orders-prod"), "ending in `in07`"),
        (lambda c: c.find_instance("*"), r"may not start with \*"),
        (lambda c: c.find_instance("*orders"), r"may not start with \*"),
        (lambda c: c.find_instance("   "), "name or ID is required"),
        (lambda c: c.get_job(""), "job ID"),
        (lambda c: c.get_job("a b"), "job ID"),
        (lambda c: c.get_job("j", language="de"), "X-Language"),
        (lambda c: c.create_backup(INSTANCE, "nightly-1", language="zh_CN"), "X-Language"),
        (lambda c: c.find_backup(INSTANCE, ""), "name is required"),
    ],
)
async def test_other_rules(cloud: TaurusDB, call: Any, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule):
        await call(cloud)
    assert sum(cloud.calls.values()) == 0


def test_project_id_is_checked() -> None:
    with pytest.raises(InvalidRequest, match="32 letters or digits"):
        TaurusDB(httpx.AsyncClient(), "not-a-project")


# -- paging and exact matching (MockTransport) ------------------------------------------------------


def _instances(names: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"id": i, "name": n, "status": "ACTIVE"} for i, n in names]


FLEET = [
    (f"{k:032x}in07", name)
    for k, name in enumerate(["orders-prod", "orders-dev", "billing", "stage", "stage"])
]


def _fleet_server(requests: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        params = request.url.params
        rows = [r for r in FLEET if params.get("name") in (None, r[1]) and params.get("id") in (None, r[0])]
        offset, limit = int(params["offset"]), int(params["limit"])
        return httpx.Response(
            200, json={"instances": _instances(rows[offset : offset + limit]), "total_count": len(rows)}
        )

    return httpx.MockTransport(handle)


async def test_iter_instances_pages_until_total_count() -> None:
    requests: list[httpx.Request] = []
    cloud = TaurusDB(httpx.AsyncClient(base_url="https://t.test", transport=_fleet_server(requests)), PROJECT)
    names = [i.name async for i in cloud.iter_instances(page_size=2)]
    assert names == [n for _, n in FLEET]
    assert [r.url.params["offset"] for r in requests] == ["0", "2", "4"]
    assert cloud.calls["list_instances"] == 3


async def test_find_instance_by_id_name_missing_and_ambiguous() -> None:
    requests: list[httpx.Request] = []
    cloud = TaurusDB(httpx.AsyncClient(base_url="https://t.test", transport=_fleet_server(requests)), PROJECT)
    assert (await cloud.find_instance(FLEET[1][0])).name == "orders-dev"
    assert requests[-1].url.params["id"] == FLEET[1][0]
    assert (await cloud.find_instance(" orders-prod ")).id == FLEET[0][0]
    assert requests[-1].url.params["name"] == "orders-prod"
    with pytest.raises(InstanceNotFound) as missing:
        await cloud.find_instance("Orders-Prd")
    assert missing.value.suggestions[0] == "orders-prod"
    assert len(missing.value.suggestions) <= 3
    with pytest.raises(AmbiguousInstance) as ambiguous:
        await cloud.find_instance("stage")
    assert ambiguous.value.choices == [(FLEET[3][0], "stage"), (FLEET[4][0], "stage")]
