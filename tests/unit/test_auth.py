"""IAM token caching/refresh, the token-rejected resend, AK/SK not retrying, secrets kept out of repr.

Everything runs over ``httpx.MockTransport``: one handler plays IAM and TaurusDB.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.cloud.auth import AkSkAuth, IamTokenAuth, StaticTokenAuth
from bot.cloud.calls import CallTag
from bot.cloud.client import TaurusDB
from bot.cloud.errors import ApiError, Category, TransportError
from bot.cloud.retry import RetryPolicy

PROJECT = "0123456789abcdef0123456789abcdef"
IAM = "https://iam.example.test"
API = "https://taurus.example.test"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


class FakeCloud:
    """IAM issuing numbered tokens with ``ttl``, and a service answering ``service(request)``."""

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(hours=24)) -> None:
        self.clock = clock
        self.ttl = ttl
        self.issued = 0
        self.iam_bodies: list[dict[str, object]] = []
        self.iam_queries: list[str] = []
        self.service_requests: list[httpx.Request] = []
        self.tokens_seen: list[str] = []  # at receipt: a resent request object is the same one
        self.iam_delay = 0.0
        self.service: Callable[[httpx.Request], httpx.Response] = lambda _: httpx.Response(
            200, json={"instances": [], "total_count": 0}
        )

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "iam.example.test":
            assert "X-Auth-Token" not in request.headers  # no recursion through the token auth
            self.iam_bodies.append(json.loads(request.content))
            self.iam_queries.append(request.url.query.decode())
            if self.iam_delay:
                await asyncio.sleep(self.iam_delay)
            self.issued += 1
            now = self.clock()
            return httpx.Response(
                201,
                headers={"X-Subject-Token": f"token-{self.issued}"},
                json={"token": {"issued_at": _stamp(now), "expires_at": _stamp(now + self.ttl)}},
            )
        self.service_requests.append(request)
        self.tokens_seen.append(request.headers.get("X-Auth-Token", ""))
        return self.service(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(self.handle))


def _iam_auth(http: httpx.AsyncClient, clock: Clock, **scope: str) -> IamTokenAuth:
    scope = scope or {"project_id": PROJECT}
    return IamTokenAuth(http, IAM, "bot-user", "s3cret-pass", "acme", clock=clock, **scope)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _get(http: httpx.AsyncClient) -> httpx.Response:
    return await http.get(f"/v3/{PROJECT}/instances")


async def test_token_is_requested_once_and_cached(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        for _ in range(3):
            assert (await _get(http)).status_code == 200
    assert auth.token_requests == cloud.issued == 1
    assert cloud.tokens_seen == ["token-1"] * 3
    assert cloud.iam_queries == ["nocatalog=true"]
    body = cloud.iam_bodies[0]["auth"]
    assert body == {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": "bot-user", "password": "s3cret-pass", "domain": {"name": "acme"}}},
        },
        "scope": {"project": {"id": PROJECT}},
    }


async def test_project_name_scope_when_no_id(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    async with cloud.client() as http:
        http.auth = _iam_auth(http, clock, project_name="ap-southeast-3")
        await _get(http)
    assert cloud.iam_bodies[0]["auth"]["scope"] == {"project": {"name": "ap-southeast-3"}}  # type: ignore[index]


def test_needs_a_project() -> None:
    with pytest.raises(ValueError, match="project"):
        IamTokenAuth(httpx.AsyncClient(), IAM, "u", "p", "d")


async def test_token_refreshed_one_hour_before_expiry(clock: Clock) -> None:
    cloud = FakeCloud(clock, ttl=timedelta(hours=24))
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        await _get(http)
        clock.now = T0 + timedelta(hours=22, minutes=59)  # 61 minutes left: still good
        await _get(http)
        assert auth.token_requests == 1
        clock.now = T0 + timedelta(hours=23, minutes=1)  # 59 minutes left: refresh
        await _get(http)
        assert auth.token_requests == 2
    assert cloud.tokens_seen[-1] == "token-2"


async def test_short_lived_token_refreshed_at_half_life(clock: Clock) -> None:
    cloud = FakeCloud(clock, ttl=timedelta(minutes=10))
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        await _get(http)
        clock.now = T0 + timedelta(minutes=4)
        await _get(http)
        assert auth.token_requests == 1
        clock.now = T0 + timedelta(minutes=5, seconds=1)
        await _get(http)
        assert auth.token_requests == 2


async def test_fifty_concurrent_callers_share_one_token_request(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    cloud.iam_delay = 0.05  # keep the first token request in flight while the others arrive
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        responses = await asyncio.gather(*(_get(http) for _ in range(50)))
    assert all(r.status_code == 200 for r in responses)
    assert auth.token_requests == 1
    assert set(cloud.tokens_seen) == {"token-1"}


def _rejecting(code: str, status: int = 401, times: int = 10**6) -> Callable[[httpx.Request], httpx.Response]:
    left = [times]

    def service(request: httpx.Request) -> httpx.Response:
        if left[0] > 0:
            left[0] -= 1
            return httpx.Response(status, json={"error_code": code, "error_msg": "The token must be updated"})
        return httpx.Response(200, json={"instances": [], "total_count": 0})

    return service


@pytest.mark.parametrize(("code", "status"), [("APIGW.0307", 401), ("APIGW.0301", 401), ("DBS.280056", 403)])
async def test_rejected_token_refreshed_once_and_request_resent_once(
    clock: Clock, code: str, status: int
) -> None:
    cloud = FakeCloud(clock)
    cloud.service = _rejecting(code, status, times=1)
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        response = await _get(http)
    assert response.status_code == 200
    assert auth.token_requests == 2
    assert cloud.tokens_seen == ["token-1", "token-2"]


async def test_a_second_rejection_is_returned_not_retried_again(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    cloud.service = _rejecting("APIGW.0307")
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        response = await _get(http)
    assert response.status_code == 401
    assert auth.token_requests == 2  # one refresh, not two
    assert len(cloud.service_requests) == 2  # one resend, not two


async def test_other_auth_errors_do_not_refresh(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    cloud.service = _rejecting("APIGW.0302", 403)
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        assert (await _get(http)).status_code == 403
    assert auth.token_requests == 1
    assert len(cloud.service_requests) == 1


async def test_concurrent_rejections_share_one_refresh(clock: Clock) -> None:
    def service(request: httpx.Request) -> httpx.Response:
        if request.headers["X-Auth-Token"] == "token-1":
            return httpx.Response(401, json={"error_code": "APIGW.0307", "error_msg": "expired"})
        return httpx.Response(200, json={"instances": [], "total_count": 0})

    cloud = FakeCloud(clock)
    cloud.iam_delay = 0.02
    cloud.service = service
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        await auth.token()  # everyone starts with token-1, which the service rejects
        responses = await asyncio.gather(*(_get(http) for _ in range(20)))
    assert all(r.status_code == 200 for r in responses)
    assert auth.token_requests == 2


async def test_iam_failure_is_an_api_error(clock: Clock) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "iam.example.test":
            return httpx.Response(401, json={"error": {"code": 401, "message": "The password is incorrect."}})
        raise AssertionError("the service must not be called without a token")

    async with httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(handler)) as http:
        http.auth = _iam_auth(http, Clock())
        with pytest.raises(ApiError) as info:
            await _get(http)
    assert info.value.status == 401
    assert "s3cret-pass" not in str(info.value)


async def test_iam_unreachable_is_a_transport_error_that_sent_nothing(clock: Clock) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(handler)) as http:
        http.auth = _iam_auth(http, clock)
        with pytest.raises(TransportError) as info:
            await _get(http)
    assert info.value.maybe_sent is False


def test_iam_auth_refuses_sync_clients(clock: Clock) -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as http:
        auth = _iam_auth(httpx.AsyncClient(), clock)
        with pytest.raises(RuntimeError, match="AsyncClient"):
            http.get(f"{API}/x", auth=auth)


async def test_static_token() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Auth-Token"])
        return httpx.Response(200)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler), auth=StaticTokenAuth("tok-123")
    ) as http:
        await http.get(f"{API}/x")
    assert seen == ["tok-123"]


async def test_signature_failure_is_not_retried() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(
            401,
            headers={"X-Request-Id": "req-1"},
            json={
                "error_code": "APIGW.0301",
                "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
            },
        )

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    auth = AkSkAuth("AK", "wrong-secret", PROJECT)
    async with httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(handler), auth=auth) as http:
        cloud = TaurusDB(http, PROJECT, retry=RetryPolicy(sleep=no_sleep))
        with pytest.raises(ApiError) as info:
            await cloud.list_instances()
    assert len(requests) == 1
    assert sleeps == []
    assert info.value.category is Category.AUTH and not info.value.retryable
    assert info.value.request_id == "req-1"
    assert requests[0].headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK, ")


def test_repr_hides_secrets() -> None:
    http = httpx.AsyncClient()
    auths: list[tuple[object, str]] = [
        (AkSkAuth("AKID-visible", "SK-hidden-1", PROJECT, "STS-hidden-2"), "AKID-visible"),
        (IamTokenAuth(http, IAM, "bot-user", "PW-hidden-3", "acme", project_id=PROJECT), "bot-user"),
        (StaticTokenAuth("TOKEN-hidden-4"), ""),
    ]
    for auth, _ in auths:
        text = repr(auth) + str(auth) + repr(vars(auth))
        for secret in ("SK-hidden-1", "STS-hidden-2", "PW-hidden-3", "TOKEN-hidden-4"):
            assert secret not in text
    assert "AKID-visible" not in repr(auths[0][0])  # the access key is an identifier, but still masked


async def test_cached_token_is_not_exposed_by_repr(clock: Clock) -> None:
    cloud = FakeCloud(clock)
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        await _get(http)
    assert "token-1" not in repr(auth) + repr(vars(auth))


# -- several projects --------------------------------------------------------------------------------

OTHER = "fedcba9876543210fedcba9876543210"


async def test_one_key_pair_signs_for_each_project() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"instances": [], "total_count": 0})

    signer = AkSkAuth("AK", "SK-secret-9", None, "STS", clock=lambda: T0)
    async with httpx.AsyncClient(base_url=API, transport=httpx.MockTransport(handler)) as http:
        for project in (PROJECT, OTHER):
            await TaurusDB(http, project, auth=signer.for_project(project)).list_instances()
    assert [r.headers["X-Project-Id"] for r in requests] == [PROJECT, OTHER]
    for request in requests:
        assert "x-project-id;x-sdk-date;x-security-token" in request.headers["Authorization"]
        assert request.headers["X-Security-Token"] == "STS"
    expected = signer.for_project(OTHER)
    replay = httpx.Request("GET", requests[1].url, headers={"Content-Type": "application/json"})
    replay.headers["X-Language"] = "en-us"
    expected.sign(replay)
    assert replay.headers["Authorization"] == requests[1].headers["Authorization"]
    assert "SK-secret-9" not in repr(signer.for_project(OTHER)) + repr(vars(signer.for_project(OTHER)))


async def test_name_scoped_token_tells_its_project_and_is_tagged(clock: Clock) -> None:
    bodies: list[dict[str, object]] = []
    tags: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        tags.append(request.extensions.get("backup_bot.call"))
        now = clock()
        token = {
            "expires_at": _stamp(now + timedelta(hours=24)),
            "project": {"id": OTHER, "name": "cn-north-4"},
        }
        return httpx.Response(201, headers={"X-Subject-Token": "t-1"}, json={"token": token})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        auth = IamTokenAuth(
            http, IAM, "u", "p", "acme", project_name="cn-north-4", region="cn-north-4", clock=clock
        )
        assert auth.scoped_project_id is None
        assert await auth.token() == "t-1"
    assert auth.scoped_project_id == OTHER
    assert bodies[0]["auth"]["scope"] == {"project": {"name": "cn-north-4"}}
    assert tags == [CallTag("cn-north-4", "", "iam_token")]


async def test_id_scoped_token_keeps_its_project(clock: Clock) -> None:
    cloud = FakeCloud(clock)  # its answers name no project
    async with cloud.client() as http:
        http.auth = auth = _iam_auth(http, clock)
        await _get(http)
    assert auth.scoped_project_id == PROJECT
