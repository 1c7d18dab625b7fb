"""The fleet over ``httpx.MockTransport``: instance resolution across regions, and the IAM project
lookups (AK/SK-signed ``GET /v3/projects?name=``, the name-scoped token)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.cloud.auth import AkSkAuth, IamTokenAuth, StaticTokenAuth
from bot.cloud.calls import CloudCall
from bot.cloud.client import TaurusDB
from bot.cloud.errors import AmbiguousInstance, ApiError, InstanceNotFound, InvalidRequest, UnknownRegion
from bot.cloud.fleet import Fleet, Project
from bot.cloud.projects import lookup_project_id, token_project_id
from bot.cloud.retry import RetryPolicy
from bot.config import ConfigError

HK, BJ = "ap-southeast-1", "cn-north-4"
P_HK, P_BJ = "a" * 32, "b" * 32
REGION_OF = {P_HK: HK, P_BJ: BJ}


def _id(n: int) -> str:
    return f"{n:032x}in07"


# Instances per project: orders-prod is in both regions; billing only in Beijing.
INSTANCES = {
    P_HK: [(_id(1), "orders-prod"), (_id(2), "orders-dev")],
    P_BJ: [(_id(3), "orders-prod"), (_id(4), "billing")],
}


class Cloud:
    """Both projects behind one endpoint, told apart by the project ID in the path."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.down: set[str] = set()  # project IDs answering 403

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        _, _, project, resource = request.url.path.split("/", 3)
        if project in self.down:
            return httpx.Response(403, json={"error_code": "DBS.200604", "error_msg": "no"})
        if resource == "backups":
            return httpx.Response(200, json={"backups": [], "total_count": 0})
        params = request.url.params
        rows = [
            {"id": i, "name": n, "status": "ACTIVE", "region": "elsewhere"}
            for i, n in INSTANCES[project]
            if params.get("id") in (None, i) and params.get("name") in (None, n)
        ]
        return httpx.Response(200, json={"instances": rows, "total_count": len(rows)})

    def posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method != "GET"]

    def fleet(self, *projects: str) -> Fleet:
        http = httpx.AsyncClient(base_url="https://t.test", transport=httpx.MockTransport(self.handle))
        retry = RetryPolicy(attempts=1)
        return Fleet([TaurusDB(http, p, region=REGION_OF[p], retry=retry) for p in projects], owned=[http])


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


async def test_projects_and_clients(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        assert fleet.projects == (Project(HK, P_HK), Project(BJ, P_BJ))
        assert fleet.regions == (HK, BJ) and fleet.multi_region
        assert fleet.client(BJ).project_id == P_BJ
        assert fleet.client_of_project(P_HK).region == HK
        with pytest.raises(UnknownRegion):
            fleet.client("eu-west-0")
        with pytest.raises(ValueError, match="needs a region"):
            fleet.client()


async def test_by_id_is_found_in_whichever_region_has_it(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        found = await fleet.find_instance(_id(4))
    assert (found.name, found.region) == ("billing", BJ)
    assert {r.url.path for r in cloud.requests} == {f"/v3/{P_HK}/instances", f"/v3/{P_BJ}/instances"}
    assert {r.url.params["id"] for r in cloud.requests} == {_id(4)}


async def test_unique_name_is_searched_in_every_region(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        found = await fleet.find_instance("orders-dev")
        assert (found.id, found.region) == (_id(2), HK)
        assert fleet.label(found) == "ap-southeast-1/orders-dev"
    assert sorted(r.url.params["name"] for r in cloud.requests) == ["orders-dev", "orders-dev"]


async def test_name_in_two_regions_is_ambiguous_with_qualified_choices(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        with pytest.raises(AmbiguousInstance) as ambiguous:
            await fleet.find_instance("orders-prod")
    assert ambiguous.value.names == ["ap-southeast-1/orders-prod", "cn-north-4/orders-prod"]
    assert ambiguous.value.choices == [
        (_id(1), "ap-southeast-1/orders-prod"),
        (_id(3), "cn-north-4/orders-prod"),
    ]
    assert "<region>/<name>" in str(ambiguous.value)
    assert cloud.posts() == []


async def test_qualified_name_asks_only_its_region(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        found = await fleet.find_instance(" cn-north-4/orders-prod ")
        assert (found.id, found.region) == (_id(3), BJ)
        with pytest.raises(UnknownRegion, match="eu-west-0"):
            await fleet.find_instance("eu-west-0/orders-prod")
        with pytest.raises(InvalidRequest, match="name or ID is required"):
            await fleet.find_instance("cn-north-4/")
    assert [r.url.path for r in cloud.requests] == [f"/v3/{P_BJ}/instances"]


async def test_not_found_suggests_across_regions(cloud: Cloud) -> None:
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        with pytest.raises(InstanceNotFound) as missing:
            await fleet.find_instance("orders-prd")
        assert missing.value.suggestions == [
            "ap-southeast-1/orders-prod",
            "cn-north-4/orders-prod",
            "ap-southeast-1/orders-dev",
        ]
        with pytest.raises(InstanceNotFound) as qualified:
            await fleet.find_instance("cn-north-4/biling")
    assert qualified.value.ref == "cn-north-4/biling" and qualified.value.suggestions == [
        "cn-north-4/billing"
    ]


async def test_a_failing_region_blocks_a_name_but_not_an_id_found_elsewhere(cloud: Cloud) -> None:
    cloud.down.add(P_HK)
    async with cloud.fleet(P_HK, P_BJ) as fleet:
        with pytest.raises(ApiError) as refused:
            await fleet.find_instance("billing")  # Hong Kong might have one too: cannot tell
        assert refused.value.error_code == "DBS.200604"
        assert (await fleet.find_instance(_id(4))).region == BJ
        with pytest.raises(ApiError):
            await fleet.find_instance(_id(9))  # absent where asked, unknown where not
        listed = await fleet.all_instances()
    assert isinstance(listed[HK], ApiError)
    assert [(i.name, i.region) for i in listed[BJ]] == [("orders-prod", BJ), ("billing", BJ)]  # type: ignore[union-attr]


async def test_one_region_is_exactly_its_client(cloud: Cloud) -> None:
    async with cloud.fleet(P_BJ) as fleet:
        assert not fleet.multi_region and fleet.client() is fleet.client(BJ)
        found = await fleet.find_instance("orders-prod")
        assert fleet.label(found) == "orders-prod" and found.region == BJ
        assert (await fleet.find_instance("cn-north-4/billing")).id == _id(4)
        with pytest.raises(InstanceNotFound) as missing:
            await fleet.find_instance("biling")
        assert missing.value.suggestions == ["billing"]  # no region shown


async def test_locate_backup_and_call_hook(cloud: Cloud) -> None:
    seen: list[CloudCall] = []

    async def hook(call: CloudCall) -> None:
        seen.append(call)

    async with cloud.fleet(P_HK, P_BJ) as fleet:
        fleet.add_call_hook(hook)
        assert await fleet.locate_backup("b-1") is None
    assert sorted(seen, key=lambda c: c.region) == [
        CloudCall(HK, P_HK, "list_backups", 200),
        CloudCall(BJ, P_BJ, "list_backups", 200),
    ]


def test_a_fleet_serves_one_project_per_region() -> None:
    http = httpx.AsyncClient()
    with pytest.raises(ValueError, match="one project per region"):
        Fleet([TaurusDB(http, P_HK, region=HK), TaurusDB(http, P_BJ, region=HK)])
    with pytest.raises(ValueError, match="at least one"):
        Fleet([])


# -- project lookups --------------------------------------------------------------------------------

IAM = "https://iam.example.test"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _projects(*ids: str) -> httpx.Response:
    return httpx.Response(200, json={"projects": [{"id": i, "name": BJ} for i in ids], "links": {}})


async def _lookup(
    *replies: httpx.Response, auth: httpx.Auth | None = None
) -> tuple[str, list[httpx.Request]]:
    sent: list[httpx.Request] = []
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return queue.pop(0)

    async def no_sleep(_: float) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        signer = auth or AkSkAuth("AK", "SK", None, clock=lambda: NOW)
        pid = await lookup_project_id(http, IAM + "/", BJ, signer, retry=RetryPolicy(sleep=no_sleep))
    return pid, sent


async def test_lookup_is_the_sdks_signed_request() -> None:
    pid, sent = await _lookup(_projects(P_BJ))
    assert pid == P_BJ
    (request,) = sent
    assert str(request.url) == f"{IAM}/v3/projects?name=cn-north-4"
    assert "X-Project-Id" not in request.headers  # the project is what is being asked
    assert request.headers["Authorization"].startswith(
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date,"
    )
    assert request.extensions["backup_bot.call"].operation == "iam_projects"


async def test_lookup_retries_a_server_error() -> None:
    pid, sent = await _lookup(httpx.Response(503), _projects(P_BJ), auth=StaticTokenAuth("t"))
    assert pid == P_BJ and len(sent) == 2


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (_projects(), "IAM has no project named cn-north-4"),
        (_projects(P_HK, P_BJ), f"IAM has 2 projects named cn-north-4 ({P_HK}, {P_BJ}): choose one"),
        (_projects("not-an-id"), "malformed project ID"),
        (httpx.Response(200, json={"unexpected": True}), "unknown shape"),
        (httpx.Response(401, json={"error_code": "APIGW.0301", "error_msg": "bad sig"}), "APIGW.0301"),
    ],
)
async def test_lookup_failures_are_start_up_errors_naming_the_region(
    reply: httpx.Response, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        await _lookup(reply)
    message = str(info.value)
    assert message.startswith("invalid configuration:\n  HUAWEICLOUD_SDK_PROJECT_ID: ")
    assert "region cn-north-4" in message and words in message
    assert "cn-north-4=<project id>" in message


async def test_name_scoped_token_gives_the_project_id() -> None:
    bodies: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        token = {"expires_at": (NOW + timedelta(hours=24)).isoformat(), "project": {"id": P_BJ, "name": BJ}}
        return httpx.Response(201, headers={"X-Subject-Token": "tok"}, json={"token": token})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        auth = IamTokenAuth(http, IAM, "u", "p", "acme", project_name=BJ, region=BJ, clock=lambda: NOW)
        assert await token_project_id(auth, BJ) == P_BJ
        assert await auth.token() == "tok"  # the lookup's token is the project's first token
    assert len(bodies) == 1


async def test_refused_token_is_a_start_up_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"error": {"code": 401, "message": "The request you have made requires authentication."}},
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
        auth = IamTokenAuth(http, IAM, "u", "wrong", "acme", project_name=BJ)
        with pytest.raises(ConfigError, match="IAM refused a token for the project named cn-north-4"):
            await token_project_id(auth, BJ)
