"""The API gateway in front of TaurusDB: who may call ``/v3/{project_id}/…`` and for which project.

A request passes with an ``X-Auth-Token`` (one we issued and that has not expired, the configured
``auth_token``, or any token when no credential is configured) or with an ``SDK-HMAC-SHA256``
signature, verified with :mod:`bot.cloud.signing` over the raw path, the decoded query pairs and the
raw body. The path's project must be one the simulator serves, and the credentials must be for it: a
token's project scope, a signed ``X-Project-Id``. Refusals use the gateway's codes: ``APIGW.0301``
(bad credentials, or a signed ``X-Project-Id`` for another project), ``APIGW.0307`` (expired token,
or a token of another project or region, fact sheet §3.2), ``APIGW.0101`` (no such API) and
``APIGW.0310`` (a project not served).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.cloud import signing
from bot.domain import rules
from bot.local.simulator.apierror import ApiFailure, no_such_api, project_unavailable
from bot.local.simulator.config import SimulatorConfig
from bot.local.simulator.notes import notes
from bot.local.simulator.state import STATE, SimulatorState

MAX_CLOCK_SKEW = 15 * 60
PROJECT_HEADER = "X-Project-Id"


@dataclass(frozen=True)
class Caller:
    kind: str  # "aksk" | "token"
    project_id: str | None = None  # the token's scope, when we issued it
    domain: str | None = None  # the token's account, when we issued it


def _refused(detail: str) -> ApiFailure:
    return ApiFailure(401, "APIGW.0301", f"Incorrect IAM authentication information: {detail}")


def authenticate(
    state: SimulatorState,
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> Caller:
    """Who is calling, or an :class:`ApiFailure` saying why the gateway refuses."""
    authorization = headers.get("Authorization", "")
    if authorization.startswith(signing.ALGORITHM):
        _verify_signature(
            state.config, authorization, method, raw_path, list(query), headers, body, state.now()
        )
        return Caller("aksk")
    return _verify_token(state, headers.get("X-Auth-Token", ""))


async def authenticate_request(request: web.Request) -> Caller:
    """:func:`authenticate` for an aiohttp request; notes how the caller authenticated for the log."""
    caller = authenticate(
        request.app[STATE],
        request.method,
        request.rel_url.raw_path,
        request.query.items(),
        request.headers,
        await request.read(),
    )
    notes().auth = caller.kind
    return caller


def _verify_token(state: SimulatorState, token: str) -> Caller:
    if not token:
        raise _refused("x-auth-token not found")
    issued = state.tokens.get(token)
    if issued is not None:
        if issued.expires <= state.now():
            raise ApiFailure(401, "APIGW.0307", "The token must be updated.")
        return Caller("token", issued.project_id, issued.domain)
    config = state.config
    if config.auth_token is not None and _same(token, config.auth_token):
        return Caller("token")
    if not config.strict_tokens:
        return Caller("token")  # nothing configured: any token will do
    raise _refused("decrypt token fail")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _verify_signature(
    config: SimulatorConfig,
    authorization: str,
    method: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
) -> None:
    parts = signing.parse_authorization(authorization)
    if parts is None:
        raise _refused("authorization header format invalid")
    date = headers.get(signing.DATE_HEADER, "")
    try:
        signed_at = datetime.strptime(date, signing.DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise _refused("x-sdk-date not found or malformed") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise _refused("calc ak sk signature fail:signature expired")
    signed = parts["SignedHeaders"].split(";")
    if signing.DATE_HEADER.lower() not in signed or any(name not in headers for name in signed):
        raise _refused("verify aksk signature fail")
    if config.access_key is not None and parts["Access"] != config.access_key:
        raise _refused(f"Get secretKey failed,ak:{parts['Access']},err:ak not exist")
    if config.security_token is not None and headers.get("X-Security-Token") != config.security_token:
        raise _refused("verify security token fail")
    if config.secret_key is None:
        return  # no secret configured: a well-formed signature is enough
    canonical = signing.canonical_request(
        method, raw_path, query, {name: headers[name] for name in signed}, signed, body
    )
    expected = signing.signature(config.secret_key, date, canonical)
    if not _same(parts["Signature"], expected):
        raise _refused("verify aksk signature fail")


def check_project(state: SimulatorState, caller: Caller, project_id: str, headers: Mapping[str, str]) -> str:
    """The region that the path's ``project_id`` selects, if this caller may use that project."""
    if rules.check_project_id(project_id) is not None:
        raise no_such_api()
    region = state.region_of(project_id)
    if region is None:
        raise project_unavailable()
    if caller.project_id is not None and caller.project_id != project_id:
        raise ApiFailure(401, "APIGW.0307", "The token must be updated: it is for another project or region.")
    signed_for = headers.get(PROJECT_HEADER)
    if caller.kind == "aksk" and signed_for is not None and signed_for != project_id:
        raise _refused(f"the {PROJECT_HEADER} header is not the project in the URL")
    return region


def project_in_path(path: str) -> str | None:
    """``{project_id}`` of a ``/v3/{project_id}/…`` path (not IAM's ``/v3/auth/…``), else None."""
    segments = path.split("/")
    if len(segments) >= 4 and segments[1] == "v3" and segments[2] != "auth":
        return segments[2]
    return None


def path_project(state: SimulatorState, path: str) -> tuple[str | None, str | None]:
    """(project ID, region) of a ``/v3/{project_id}/…`` path; None for what is not served or no project."""
    project_id = project_in_path(path)
    if project_id is None or rules.check_project_id(project_id) is not None:
        return project_id, None
    return project_id, state.region_of(project_id)


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    project_id = project_in_path(request.path)
    if project_id is None:
        return await handler(request)
    caller = await authenticate_request(request)
    check_project(request.app[STATE], caller, project_id, request.headers)
    return await handler(request)
