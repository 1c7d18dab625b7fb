"""``delete_backup`` over ``httpx.MockTransport``: typed refusals, and never a blind resend when the
answer is lost. Also the call tags every request carries for metrics."""

from __future__ import annotations

import httpx
import pytest

from bot.cloud.calls import CallTag, CloudCall, call_of, response_hook
from bot.cloud.client import TaurusDB
from bot.cloud.errors import (
    ApiError,
    BackupNotDeletable,
    BackupNotFound,
    Category,
    InvalidRequest,
    TransportError,
)
from bot.cloud.models import DeletedBackup
from bot.cloud.retry import RetryPolicy
from tests.unit.test_cloud_errors import API, LISTED, NOT_LISTED, PROJECT, Script, _error, _raise

DELETED = httpx.Response(200, json={"backup_id": "b1", "backup_name": "nightly-1"})
PATH = f"/v3/{PROJECT}/backups/b1"


async def test_delete_success() -> None:
    script = Script(DELETED)
    cloud = script.client()
    assert await cloud.delete_backup("b1") == DeletedBackup(backup_id="b1", backup_name="nightly-1")
    (sent,) = script.requests
    assert (sent.method, sent.url.path, sent.content) == ("DELETE", PATH, b"")
    assert sent.headers["X-Language"] == "en-us"
    assert cloud.calls["delete_backup"] == 1


async def test_delete_with_an_empty_answer_is_done() -> None:
    script = Script(httpx.Response(200))
    assert await script.client().delete_backup("b1") == DeletedBackup(backup_id="b1")


async def test_backup_id_is_one_path_segment() -> None:
    script = Script(DELETED)
    await script.client().delete_backup("a/b?c")
    assert script.requests[0].url.raw_path == f"/v3/{PROJECT}/backups/a%2Fb%3Fc".encode()


@pytest.mark.parametrize("backup_id", ["", "has space", "tab\there"])
async def test_invalid_backup_id_sends_nothing(backup_id: str) -> None:
    script = Script(DELETED)
    with pytest.raises(InvalidRequest, match="backup ID"):
        await script.client().delete_backup(backup_id)
    assert script.requests == []


async def test_backup_status_refusal_is_typed_and_not_retried() -> None:
    script = Script(_error(400, "DBS.201208"))
    with pytest.raises(BackupNotDeletable) as info:
        await script.client().delete_backup("b1")
    assert info.value.error_code == "DBS.201208"
    assert info.value.category is Category.BUSY and info.value.retryable  # try later, not now
    assert len(script.requests) == 1


@pytest.mark.parametrize(("status", "code"), [(404, "DBS.201010"), (400, "DBS.280214"), (400, "DBS.201203")])
async def test_missing_backup_is_typed(status: int, code: str) -> None:
    script = Script(_error(status, code, {"X-Request-Id": "rid-4"}))
    with pytest.raises(BackupNotFound) as info:
        await script.client().delete_backup("b1")
    assert (info.value.status, info.value.request_id) == (status, "rid-4")
    assert info.value.category is Category.NOT_FOUND
    assert len(script.requests) == 1


@pytest.mark.parametrize(("status", "code"), [(404, "APIGW.0101"), (403, "DBS.200604"), (401, "APIGW.0301")])
async def test_other_refusals_keep_their_category(status: int, code: str) -> None:
    script = Script(_error(status, code))
    with pytest.raises(ApiError) as info:
        await script.client().delete_backup("b1")
    assert type(info.value) is ApiError and info.value.error_code == code


async def test_429_and_refused_connection_are_retried_as_nothing_was_done() -> None:
    script = Script(_error(429, "APIGW.0308", {"Retry-After": "1"}), _raise(httpx.ConnectError), DELETED)
    await script.client().delete_backup("b1")
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "DELETE", "DELETE"]
    assert script.sleeps[0] == 1.0


@pytest.mark.parametrize("lost", [_raise(httpx.ReadTimeout), _error(503, "DBS.108000")])
async def test_lost_answer_and_backup_gone_is_deleted_without_a_resend(lost: object) -> None:
    script = Script(lost, NOT_LISTED)  # type: ignore[arg-type]
    assert await script.client().delete_backup("b1") == DeletedBackup(backup_id="b1")
    assert script.paths() == [f"DELETE {PATH}", f"GET /v3/{PROJECT}/backups"]
    assert script.requests[1].url.params["backup_id"] == "b1"


async def test_lost_answer_and_backup_still_there_is_sent_once_more() -> None:
    script = Script(_raise(httpx.ReadTimeout), LISTED, DELETED)
    assert (await script.client().delete_backup("b1")).backup_name == "nightly-1"
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "GET", "DELETE"]


async def test_resend_answered_not_found_means_the_first_one_did_it() -> None:
    script = Script(_raise(httpx.ReadTimeout), LISTED, _error(404, "DBS.201010"))
    assert await script.client().delete_backup("b1") == DeletedBackup(backup_id="b1")
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "GET", "DELETE"]


async def test_resend_refused_by_status_looks_again() -> None:
    # Our first delete is still running: the resend is refused (DBS.201208), then the backup is gone.
    script = Script(_raise(httpx.ReadTimeout), LISTED, _error(400, "DBS.201208"), NOT_LISTED)
    assert await script.client().delete_backup("b1") == DeletedBackup(backup_id="b1")
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "GET", "DELETE", "GET"]


async def test_lost_twice_gives_up_after_two_deletes() -> None:
    script = Script(_raise(httpx.ReadTimeout), LISTED, _raise(httpx.ReadTimeout), LISTED, DELETED)
    with pytest.raises(TransportError):
        await script.client().delete_backup("b1")
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "GET", "DELETE", "GET"]


async def test_lost_answer_with_a_failed_lookup_raises_the_original_error() -> None:
    script = Script(_raise(httpx.ReadTimeout), _error(403, "DBS.200604"), DELETED)
    with pytest.raises(TransportError) as info:
        await script.client().delete_backup("b1")
    assert isinstance(info.value.__cause__, ApiError)
    assert [p.split()[0] for p in script.paths()] == ["DELETE", "GET"]


# -- call tags -------------------------------------------------------------------------------------


async def test_every_request_is_tagged_with_region_project_and_operation() -> None:
    seen: list[CloudCall] = []

    async def hook(call: CloudCall) -> None:
        seen.append(call)

    script = Script(_error(503), LISTED, DELETED)
    http = httpx.AsyncClient(
        base_url=API,
        transport=httpx.MockTransport(script.handle),
        event_hooks={"response": [response_hook(hook)]},
    )
    cloud = TaurusDB(http, PROJECT, region="cn-north-4", retry=RetryPolicy(sleep=script.sleep))
    await cloud.list_backups(backup_id="b1")
    await cloud.delete_backup("b1")
    assert seen == [
        CloudCall("cn-north-4", PROJECT, "list_backups", 503),
        CloudCall("cn-north-4", PROJECT, "list_backups", 200),
        CloudCall("cn-north-4", PROJECT, "delete_backup", 200),
    ]


def test_an_untagged_request_is_another_call() -> None:
    response = httpx.Response(200, request=httpx.Request("GET", "https://x.test/v3/p/instances"))
    assert call_of(response) == CloudCall("", "", "other", 200)
    tagged = httpx.Request("GET", "https://x.test/", extensions=CallTag("r", "p", "op").extensions())
    assert call_of(httpx.Response(204, request=tagged)) == CloudCall("r", "p", "op", 204)
