"""Error bodies, error classification, the retry policy, and how the client retries (or refuses
to) over ``httpx.MockTransport`` with an instant, recorded sleep."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.cloud.client import TaurusDB
from bot.cloud.errors import ApiError, Category, CloudError, TransportError, advise, parse_error_body
from bot.cloud.retry import RetryPolicy, parse_retry_after

PROJECT = "0123456789abcdef0123456789abcdef"
INSTANCE = "61a4ea66210545909d74a05c27a7179ein07"
API = "https://taurus.example.test"

# -- error bodies ---------------------------------------------------------------------------------


_TOKEN_MSG = "The token must be updated"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error_code": "DBS.280277", "error_msg": "Invalid name"}', ("DBS.280277", "Invalid name")),
        (b'{"errorCode": "APIGW.0308", "errorMsg": "throttled"}', ("APIGW.0308", "throttled")),
        (b'{"code": "APIGW.0101", "message": "no such API"}', ("APIGW.0101", "no such API")),
        (
            b'{"error": {"code": "APIGW.0307", "message": "The token must be updated"}}',
            ("APIGW.0307", _TOKEN_MSG),
        ),
        (
            b'{"error_code": "DBS.200543", "error_msg": "no job", "request_id": "x"}',
            ("DBS.200543", "no job"),
        ),
        (b"<html>502 Bad Gateway</html>", ("", "<html>502 Bad Gateway</html>")),
        (b"", ("", "")),
        (b"[1, 2]", ("", "")),
        (b'{"something": "else"}', ("", "")),
        ('{"error_code": "DBS.200002", "error_msg": "实例不存在"}'.encode(), ("DBS.200002", "实例不存在")),
    ],
)
def test_error_body_shapes(body: bytes, expected: tuple[str, str]) -> None:
    assert parse_error_body(body) == expected


@pytest.mark.parametrize(
    ("status", "code", "category", "retryable"),
    [
        (400, "DBS.280277", Category.BAD_INPUT, False),
        (409, "DBS.201014", Category.BUSY, True),  # the code wins over the status
        (400, "DBS.201014", Category.BUSY, True),
        (409, "DBS.201205", Category.BUSY, True),
        (400, "DBS.280449", Category.BUSY, False),
        (400, "DBS.200543", Category.NOT_FOUND, True),
        (429, "APIGW.0308", Category.THROTTLED, True),
        (401, "APIGW.0307", Category.AUTH, True),
        (401, "APIG.0307", Category.AUTH, True),  # the dedicated-gateway spelling
        (500, "DBS.108000", Category.SERVER, True),
        (503, "", Category.SERVER, True),  # no code: by status
        (404, "", Category.NOT_FOUND, False),
        (429, "", Category.THROTTLED, True),
        (418, "", Category.BAD_INPUT, False),
        (403, "SOMETHING.NEW", Category.PERMISSION, False),
    ],
)
def test_classification_by_code_then_status(
    status: int, code: str, category: Category, retryable: bool
) -> None:
    error = ApiError(status, code, "msg")
    assert (error.category, error.retryable) == (category, retryable)
    assert advise(status, code or str(status)).category is category


def test_api_error_carries_request_id_and_status_code_fallback() -> None:
    error = ApiError(502, "", "Bad Gateway", "req-42")
    assert error.error_code == "502"
    assert "req-42" in str(error)


def test_apigw_0301_is_never_retried_whatever_its_message_says() -> None:
    # The message is localised (X-Language) and covers both expired tokens and bad signatures; the
    # token auth refreshes once by status and code, and nothing may loop on a signature failure.
    for message in ("verify aksk signature fail", "token expires", "IAM 认证信息错误"):
        error = ApiError(401, "APIGW.0301", f"Incorrect IAM authentication information: {message}")
        assert error.category is Category.AUTH and not error.retryable


# -- retry policy -------------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        (format_datetime(NOW + timedelta(seconds=7), usegmt=True), 7.0),
        (format_datetime(NOW - timedelta(seconds=7), usegmt=True), 0.0),
        ("Thu, 01 Jan 2026 00:00:12 GMT", 12.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_full_jitter_is_bounded_by_the_exponential_cap() -> None:
    top = RetryPolicy(base=0.5, cap=3.0, random=lambda: 0.999999)
    bottom = RetryPolicy(base=0.5, cap=3.0, random=lambda: 0.0)
    assert [round(top.delay(n), 3) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert bottom.delay(4) == 0.0


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy(base=0.5, cap=1.0, random=lambda: 0.5)
    assert policy.delay(1, retry_after=5.0) == 5.0


def test_attempts_and_budget_bound_the_loop() -> None:
    now = [0.0]
    policy = RetryPolicy(attempts=3, budget=10.0, clock=lambda: now[0])
    assert policy.allows(1, started=0.0, wait=5.0)
    assert not policy.allows(3, started=0.0, wait=0.0)  # out of attempts
    now[0] = 9.0
    assert not policy.allows(1, started=0.0, wait=2.0)  # 9 s elapsed + 2 s wait > 10 s budget
    assert policy.allows(1, started=0.0, wait=1.0)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


# -- the client's retries (MockTransport) ---------------------------------------------------------

Reply = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests from a list of replies (the last one repeats), recording what was sent."""

    def __init__(self, *replies: Reply | httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else reply

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **policy: float) -> TaurusDB:
        http = httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(self.handle))
        return TaurusDB(http, PROJECT, retry=RetryPolicy(sleep=self.sleep, random=lambda: 0.5, **policy))  # type: ignore[arg-type]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def _error(status: int, code: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error_code": code, "error_msg": "nope"})


def _raise(exc_type: type[httpx.TransportError]) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return reply


EMPTY_INSTANCES = httpx.Response(200, json={"instances": [], "total_count": 0})
BACKUP = {
    "id": "b1",
    "name": "nightly-1",
    "instance_id": INSTANCE,
    "status": "BUILDING",
    "type": "manual",
    "begin_time": "2026-01-01T08:00:00+0800",
}
CREATED = httpx.Response(201, json={"backup": BACKUP, "job_id": "job-1"})
NOT_LISTED = httpx.Response(200, json={"backups": [], "total_count": 0})
LISTED = httpx.Response(200, json={"backups": [BACKUP], "total_count": 1})


async def test_reads_retry_5xx_and_429_with_retry_after() -> None:
    script = Script(_error(503), _error(429, "APIGW.0308", {"Retry-After": "2"}), EMPTY_INSTANCES)
    cloud = script.client()
    page = await cloud.list_instances()
    assert page.total_count == 0
    assert script.sleeps == [0.25, 2.0]  # jitter 0.5 x base 0.5, then the server's Retry-After
    assert cloud.calls["list_instances"] == 3


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError]
)
async def test_reads_retry_timeouts_and_connection_errors(failure: type[httpx.TransportError]) -> None:
    script = Script(_raise(failure), EMPTY_INSTANCES)
    await script.client().list_instances()
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
async def test_reads_never_retry_other_4xx(status: int) -> None:
    script = Script(_error(status, "DBS.200001", {"X-Request-Id": "rid-9"}))
    with pytest.raises(ApiError) as info:
        await script.client().list_instances()
    assert (info.value.status, info.value.request_id) == (status, "rid-9")
    assert len(script.requests) == 1


async def test_reads_give_up_after_the_attempts() -> None:
    script = Script(_error(500, "DBS.108000"))
    with pytest.raises(ApiError) as info:
        await script.client(attempts=3).get_job("job-1")
    assert info.value.error_code == "DBS.108000"
    assert len(script.requests) == 3


async def test_reads_give_up_when_retry_after_exceeds_the_budget() -> None:
    script = Script(_error(429, "APIGW.0308", {"Retry-After": "120"}), EMPTY_INSTANCES)
    with pytest.raises(ApiError):
        await script.client(budget=30).list_instances()
    assert script.sleeps == []


async def test_read_timeout_exhausted_is_a_transport_error() -> None:
    script = Script(_raise(httpx.ReadTimeout))
    with pytest.raises(TransportError) as info:
        await script.client(attempts=2).list_backups(instance_id=INSTANCE)
    assert info.value.maybe_sent


async def test_malformed_success_body_is_a_cloud_error() -> None:
    script = Script(httpx.Response(200, content=b"not json"))
    with pytest.raises(CloudError, match="unexpected"):
        await script.client().list_instances()


# -- the create: never blindly re-sent ---------------------------------------------------------------


async def test_create_success() -> None:
    script = Script(CREATED)
    result = await script.client().create_backup(INSTANCE, "nightly-1", "manual backup")
    assert (result.backup.id, result.job_id) == ("b1", "job-1")
    sent = script.requests[0]
    assert sent.method == "POST" and sent.url.path == f"/v3/{PROJECT}/backups/create"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-Language"] == "en-us"
    assert json.loads(sent.content) == {
        "instance_id": INSTANCE,
        "name": "nightly-1",
        "description": "manual backup",
    }


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
async def test_ambiguous_create_found_by_lookup_is_not_resent(failure: type[httpx.TransportError]) -> None:
    script = Script(_raise(failure), LISTED)
    result = await script.client().create_backup(INSTANCE, "nightly-1")
    assert (result.backup.id, result.job_id) == ("b1", "")
    assert script.paths() == [f"POST /v3/{PROJECT}/backups/create", f"GET /v3/{PROJECT}/backups"]
    lookup = script.requests[1].url.params
    assert (lookup["instance_id"], lookup["name"]) == (INSTANCE, "nightly-1")


async def test_ambiguous_create_not_found_is_posted_once_more() -> None:
    script = Script(_error(503, "DBS.108000"), NOT_LISTED, CREATED)
    result = await script.client().create_backup(INSTANCE, "nightly-1")
    assert result.job_id == "job-1"
    assert [p.split()[0] for p in script.paths()] == ["POST", "GET", "POST"]


async def test_ambiguous_twice_gives_up_after_two_posts() -> None:
    script = Script(_raise(httpx.ReadTimeout), NOT_LISTED, _raise(httpx.ReadTimeout), NOT_LISTED, CREATED)
    with pytest.raises(TransportError) as info:
        await script.client().create_backup(INSTANCE, "nightly-1")
    assert info.value.maybe_sent
    assert [p.split()[0] for p in script.paths()] == ["POST", "GET", "POST", "GET"]


async def test_ambiguous_create_with_a_failed_lookup_raises_the_original_error() -> None:
    script = Script(_raise(httpx.ReadTimeout), _error(403, "DBS.200604"), CREATED)
    with pytest.raises(TransportError) as info:
        await script.client().create_backup(INSTANCE, "nightly-1")
    assert isinstance(info.value.__cause__, ApiError)
    assert [p.split()[0] for p in script.paths()] == ["POST", "GET"]


async def test_repost_answered_409_looks_again() -> None:
    # First POST lost, lookup empty (not visible yet), the re-POST says "backup in progress":
    # that is most likely our own first backup, so look once more.
    script = Script(_raise(httpx.ReadTimeout), NOT_LISTED, _error(409, "DBS.201205"), LISTED)
    result = await script.client().create_backup(INSTANCE, "nightly-1")
    assert result.backup.id == "b1"
    assert [p.split()[0] for p in script.paths()] == ["POST", "GET", "POST", "GET"]


async def test_connect_error_nothing_sent_is_simply_retried() -> None:
    script = Script(_raise(httpx.ConnectError), CREATED)
    result = await script.client().create_backup(INSTANCE, "nightly-1")
    assert result.job_id == "job-1"
    assert [p.split()[0] for p in script.paths()] == ["POST", "POST"]


async def test_create_429_waits_for_retry_after() -> None:
    script = Script(_error(429, "APIGW.0308", {"Retry-After": "3"}), CREATED)
    await script.client().create_backup(INSTANCE, "nightly-1")
    assert script.sleeps == [3.0]
    assert [p.split()[0] for p in script.paths()] == ["POST", "POST"]


async def test_create_409_backup_in_progress_is_raised() -> None:
    script = Script(_error(409, "DBS.201205"))
    with pytest.raises(ApiError) as info:
        await script.client().create_backup(INSTANCE, "nightly-1")
    assert info.value.error_code == "DBS.201205"
    assert len(script.requests) == 1


@pytest.mark.parametrize(("status", "code"), [(400, "DBS.280277"), (401, "APIGW.0301"), (403, "DBS.200604")])
async def test_create_client_errors_are_raised_at_once(status: int, code: str) -> None:
    script = Script(_error(status, code))
    with pytest.raises(ApiError):
        await script.client().create_backup(INSTANCE, "nightly-1")
    assert len(script.requests) == 1
