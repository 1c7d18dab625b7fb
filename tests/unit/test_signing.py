"""The five golden vectors of fact sheet §5.4, through the pure signer and through ``AkSkAuth`` on
real ``httpx.Request`` objects (what is actually sent: headers, query string and body)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest

from bot.cloud import signing
from bot.cloud.auth import AkSkAuth

PROJECT = "0123456789abcdef0123456789abcdef"
INSTANCE = "61a4ea66210545909d74a05c27a7179ein07"
HOST4 = "gaussdb.ap-southeast-3.myhuaweicloud.com"
CREATE_BODY = (
    b'{"instance_id": "61a4ea66210545909d74a05c27a7179ein07", "name": "slackbot-20240101", '
    b'"description": "manual backup"}'
)

V1 = "cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
V2 = "436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
V3 = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
V4 = "fdfcb9bf74dc1f8324550b3a4fb71ebe6372e54e16854ed6a30f0f51becc2474"
V5 = "fb65ee49c4e0ce61dd7a37173f52a26f2731fc539e8483e01a9d89a485477d98"
V3_AK, V3_SK = "QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"


def _at(stamp: str) -> datetime:
    return datetime.strptime(stamp, signing.DATE_FORMAT).replace(tzinfo=UTC)


def _expected(ak: str, signed: str, sig: str) -> str:
    return f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={sig}"


# -- the pure signer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "sig"),
    [("GET", b"", V1), ("POST", b'{"name":"test","id":1}', V2)],
)
def test_sdk_vectors_1_and_2(method: str, body: bytes, sig: str) -> None:
    headers = {
        "Host": "service.endpoint.myhuaweicloud.com",
        "X-Sdk-Date": "20200608T023900Z",
        "TEST_UNDERSCORE": "TEST_VALUE",  # excluded from signing because of the underscore
    }
    got = signing.authorization(
        "AccessKey", "SecretKey", method, "/resources", [("size", "1")], headers, body
    )
    assert got == _expected("AccessKey", "host;x-sdk-date", sig)


def test_huawei_doc_vector_3() -> None:
    headers = {
        "Content-Type": "application/json",
        "Host": "service.region.example.com",
        "X-Sdk-Date": "20191115T033655Z",
    }
    path = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
    query = [("limit", "2"), ("marker", "13551d6b-755d-4757-b956-536f674975c0")]
    canonical = signing.canonical_request(
        "GET", path, query, headers, signing.signed_header_names(headers), b""
    )
    assert signing.canonical_uri(path) == path + "/"
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    )
    got = signing.authorization(V3_AK, V3_SK, "GET", path, query, headers, b"")
    assert got == _expected(V3_AK, "content-type;host;x-sdk-date", V3)


def test_backup_create_vector_4() -> None:
    headers = {
        "Content-Type": "application/json",
        "Host": HOST4,
        "X-Sdk-Date": "20240101T000000Z",
        "X-Project-Id": PROJECT,
    }
    got = signing.authorization(
        "EXAMPLEAK", "EXAMPLESK", "POST", f"/v3/{PROJECT}/backups/create", [], headers, CREATE_BODY
    )
    assert got == _expected("EXAMPLEAK", "content-type;host;x-project-id;x-sdk-date", V4)


def test_backup_list_vector_5() -> None:
    query = [("instance_id", INSTANCE), ("begin_time", "2024-01-01T00:00:00+0800"), ("limit", "10")]
    assert signing.canonical_query(query) == (
        f"begin_time=2024-01-01T00%3A00%3A00%2B0800&instance_id={INSTANCE}&limit=10"
    )
    headers = {"Content-Type": "application/json", "Host": HOST4, "X-Sdk-Date": "20240101T000000Z"}
    got = signing.authorization(
        "EXAMPLEAK", "EXAMPLESK", "GET", f"/v3/{PROJECT}/backups", query, headers, b""
    )
    assert got == _expected("EXAMPLEAK", "content-type;host;x-sdk-date", V5)


# -- through AkSkAuth on real httpx requests ----------------------------------------------------


def _signed(auth: AkSkAuth, request: httpx.Request) -> httpx.Request:
    flow = auth.sync_auth_flow(request)
    sent = next(flow)
    with pytest.raises(StopIteration):  # one request only: never a second (signature) attempt
        flow.send(
            httpx.Response(401, json={"error_code": "APIGW.0301", "error_msg": "verify aksk signature fail"})
        )
    return sent


@pytest.mark.parametrize(
    ("method", "body", "sig"),
    [("GET", b"", V1), ("POST", b'{"name":"test","id":1}', V2)],
)
def test_sdk_vectors_1_and_2_through_auth(method: str, body: bytes, sig: str) -> None:
    # The SDK's vectors sign only host and x-sdk-date: no project header (project_id=None).
    request = httpx.Request(
        method,
        "https://service.endpoint.myhuaweicloud.com/resources?size=1",
        headers={"TEST_UNDERSCORE": "TEST_VALUE"},
        content=body,
    )
    auth = AkSkAuth("AccessKey", "SecretKey", None, clock=lambda: _at("20200608T023900Z"))
    sent = _signed(auth, request)
    assert sent.headers["X-Sdk-Date"] == "20200608T023900Z"
    assert "X-Project-Id" not in sent.headers
    assert sent.headers["TEST_UNDERSCORE"] == "TEST_VALUE"  # sent, but not signed
    assert sent.url.query == b"size=1"
    assert sent.content == body
    assert sent.headers["Authorization"] == _expected("AccessKey", "host;x-sdk-date", sig)


def test_vector_3_through_auth() -> None:
    request = httpx.Request(
        "GET",
        "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        params={"limit": "2", "marker": "13551d6b-755d-4757-b956-536f674975c0"},
        headers={"Content-Type": "application/json"},
    )
    sent = _signed(AkSkAuth(V3_AK, V3_SK, None, clock=lambda: _at("20191115T033655Z")), request)
    assert sent.url.query == b"limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
    assert sent.headers["Authorization"] == _expected(V3_AK, "content-type;host;x-sdk-date", V3)


def test_vector_4_through_auth() -> None:
    request = httpx.Request(
        "POST",
        f"https://{HOST4}/v3/{PROJECT}/backups/create",
        headers={"Content-Type": "application/json"},
        content=CREATE_BODY,
    )
    sent = _signed(
        AkSkAuth("EXAMPLEAK", "EXAMPLESK", PROJECT, clock=lambda: _at("20240101T000000Z")), request
    )
    assert sent.content == CREATE_BODY
    assert sent.headers["X-Project-Id"] == PROJECT
    assert sent.headers["Authorization"] == _expected(
        "EXAMPLEAK", "content-type;host;x-project-id;x-sdk-date", V4
    )


def test_vector_5_through_auth_sends_the_canonical_query() -> None:
    request = httpx.Request(
        "GET",
        f"https://{HOST4}/v3/{PROJECT}/backups",
        params={"instance_id": INSTANCE, "begin_time": "2024-01-01T00:00:00+0800", "limit": "10"},
        headers={"Content-Type": "application/json"},
    )
    # Vector 5 was generated without X-Project-Id.
    sent = _signed(AkSkAuth("EXAMPLEAK", "EXAMPLESK", None, clock=lambda: _at("20240101T000000Z")), request)
    assert sent.url.query.decode() == (
        f"begin_time=2024-01-01T00%3A00%3A00%2B0800&instance_id={INSTANCE}&limit=10"
    )
    assert "+" not in sent.url.raw_path.decode()
    assert sent.headers["Authorization"] == _expected("EXAMPLEAK", "content-type;host;x-sdk-date", V5)


def test_security_token_is_added_and_signed() -> None:
    request = httpx.Request("GET", f"https://{HOST4}/v3/{PROJECT}/instances")
    auth = AkSkAuth(
        "EXAMPLEAK", "EXAMPLESK", PROJECT, "temporary-token", clock=lambda: _at("20240101T000000Z")
    )
    sent = _signed(auth, request)
    assert sent.headers["X-Security-Token"] == "temporary-token"
    assert "SignedHeaders=host;x-project-id;x-sdk-date;x-security-token," in sent.headers["Authorization"]
    signed_headers = {k: sent.headers[k] for k in ("Host", "X-Project-Id", "X-Sdk-Date", "X-Security-Token")}
    assert sent.headers["Authorization"] == signing.authorization(
        "EXAMPLEAK", "EXAMPLESK", "GET", sent.url.path, [], signed_headers, b""
    )


def test_transport_headers_are_not_signed() -> None:
    request = httpx.Request(
        "POST",
        f"https://{HOST4}/v3/{PROJECT}/backups/create",
        headers={"Content-Type": "application/json", "User-Agent": "x", "X-Language": "zh-cn"},
        content=b"{}",
    )
    sent = _signed(
        AkSkAuth("EXAMPLEAK", "EXAMPLESK", PROJECT, clock=lambda: _at("20240101T000000Z")), request
    )
    assert "content-length" in sent.headers
    assert (
        "SignedHeaders=content-type;host;x-language;x-project-id;x-sdk-date," in sent.headers["Authorization"]
    )
