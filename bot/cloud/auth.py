"""Authentication for TaurusDB calls, as ``httpx.Auth`` generator flows.

- :class:`AkSkAuth` signs every request with ``SDK-HMAC-SHA256`` (fact sheet §5) using
  :mod:`bot.cloud.signing`.
- :class:`IamTokenAuth` gets a project-scoped IAM token with a password (fact sheet §4), caches
  it, refreshes it before it expires (one refresh at a time however many callers wait) and once
  more when the gateway says the token must be updated.
- :class:`StaticTokenAuth` sends a ready ``X-Auth-Token``.

Secrets live in ``SecretStr`` and never appear in ``repr``, logs or exception messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bot.cloud import signing
from bot.cloud.calls import CallTag
from bot.cloud.errors import ApiError, TransportError, parse_error_body
from bot.cloud.models import parse_cloud_time

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


# Only headers we set ourselves are signed. Transport-managed ones (Content-Length, Connection,
# Accept-Encoding, User-Agent) may be rewritten by the transport or a proxy, which would break the
# signature; the gateway needs only X-Sdk-Date signed, and verifies whatever SignedHeaders lists.
_ALWAYS_SIGNED = frozenset({"host", "content-type"})


def _signable(headers: httpx.Headers) -> dict[str, str]:
    return {
        name: value
        for name, value in headers.items()
        if name != "authorization" and (name in _ALWAYS_SIGNED or name.startswith("x-"))
    }


class AkSkAuth(httpx.Auth):
    """``SDK-HMAC-SHA256`` request signing with an access key / secret key pair.

    ``X-Project-Id`` (like the SDK's ``BasicCredentials``) and ``X-Security-Token`` (temporary
    credentials) are added before signing, so both are signed; ``project_id=None`` leaves the
    project header out, as for global services and the SDK's own test vectors.

    The request's query is rewritten to exactly the canonical query string that was signed (so a
    ``+`` is sent as ``%2B``). Pass query values through ``params=``: like any form decoder, a
    literal ``+`` already in a hand-written URL is read as a space.

    A signature failure is never retried here: an AK locks for five minutes after more than five
    failures.
    """

    requires_request_body = True

    def __init__(
        self,
        access_key: str | SecretStr,
        secret_key: str | SecretStr,
        project_id: str | None,
        security_token: str | SecretStr | None = None,
        *,
        clock: Clock = _utc_now,
    ) -> None:
        self._access_key = _secret(access_key)
        self._secret_key = _secret(secret_key)
        self._security_token = None if security_token is None else _secret(security_token)
        self.project_id = project_id
        self._clock = clock

    def __repr__(self) -> str:
        return f"AkSkAuth(project_id={self.project_id!r}, access_key='**********')"

    def for_project(self, project_id: str | None) -> AkSkAuth:
        """The same keys signing for another project (its ``X-Project-Id``): one set of credentials
        serves every project of a fleet."""
        return AkSkAuth(
            self._access_key, self._secret_key, project_id, self._security_token, clock=self._clock
        )

    def sign(self, request: httpx.Request) -> None:
        """Add the date/project/token headers and ``Authorization`` to ``request`` in place."""
        request.headers[signing.DATE_HEADER] = signing.sdk_date(self._clock())
        if self.project_id is not None:
            request.headers["X-Project-Id"] = self.project_id
        if self._security_token is not None:
            request.headers["X-Security-Token"] = self._security_token.get_secret_value()
        pairs = list(request.url.params.multi_items())
        canonical_query = signing.canonical_query(pairs)
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        request.headers["Authorization"] = signing.authorization(
            self._access_key.get_secret_value(),
            self._secret_key.get_secret_value(),
            request.method,
            path,
            pairs,
            _signable(request.headers),
            request.content,
        )
        # The gateway recomputes the canonical query from what it receives; sending exactly the
        # string we signed removes any doubt about how '+', ':' or spaces were encoded.
        request.url = request.url.copy_with(query=canonical_query.encode("ascii") or None)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request


class StaticTokenAuth(httpx.Auth):
    """A ready IAM token sent as ``X-Auth-Token`` (it cannot be refreshed)."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = _secret(token)

    def __repr__(self) -> str:
        return "StaticTokenAuth(token='**********')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self._token.get_secret_value()
        yield request


# (status, error_code) answers that mean "this token is no longer good": refresh and resend once.
_TOKEN_REJECTED = frozenset({(401, "APIGW.0301"), (401, "APIGW.0307"), (403, "DBS.280056")})
_REFRESH_MARGIN = timedelta(hours=1)


class IamTokenAuth(httpx.Auth):
    """A project-scoped IAM token from a user's password, cached and refreshed.

    The token is refreshed one hour before ``expires_at`` (or halfway through its lifetime when
    that is shorter). Concurrent callers share one refresh. When the gateway rejects the token
    (401 APIGW.0301/0307, 403 DBS.280056) the flow refreshes once and resends the request once.

    IAM is called through ``http`` with auth disabled, so the token request never recurses
    through this flow even when ``http`` is the client this auth is attached to.

    A token scoped by project *name* (the region's default project) tells which project it is for:
    :attr:`scoped_project_id` is ``token.project.id`` of the last answer (fact sheet §4).
    ``region`` only labels the token requests for metrics (:mod:`bot.cloud.calls`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        iam_url: str,
        user: str,
        password: str | SecretStr,
        domain: str,
        *,
        project_id: str | None = None,
        project_name: str | None = None,
        region: str = "",
        clock: Clock = _utc_now,
    ) -> None:
        if not (project_id or project_name):
            raise ValueError("IamTokenAuth needs a project_id or a project_name to scope the token")
        self._http = http
        self.iam_url = iam_url.rstrip("/")
        self.user = user
        self._password = _secret(password)
        self.domain = domain
        self.project_id = project_id
        self.project_name = project_name
        self.region = region
        self.scoped_project_id: str | None = project_id
        self._clock = clock
        self._token: SecretStr | None = None
        self._refresh_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.token_requests = 0  # for tests: how many times IAM was asked for a token

    def __repr__(self) -> str:
        scope = (
            f"project_id={self.project_id!r}" if self.project_id else f"project_name={self.project_name!r}"
        )
        return f"IamTokenAuth(iam_url={self.iam_url!r}, user={self.user!r}, domain={self.domain!r}, {scope})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("IamTokenAuth works only with httpx.AsyncClient")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["X-Auth-Token"] = token
        response = yield request
        if response.status_code not in (401, 403):
            return
        await response.aread()
        code, _ = parse_error_body(response.content)
        if (response.status_code, code) not in _TOKEN_REJECTED:
            return
        # Refresh only if nobody replaced this token meanwhile, then resend exactly once: a
        # second rejection goes back to the caller as an error.
        request.headers["X-Auth-Token"] = await self.token(rejected=token)
        yield request

    def _fresh(self, rejected: str | None) -> str | None:
        if self._token is None or self._refresh_at is None:
            return None
        value = self._token.get_secret_value()
        if value == rejected or self._clock() >= self._refresh_at:
            return None
        return value

    async def token(self, *, rejected: str | None = None) -> str:
        """The cached token, or a new one when it is due for refresh or equals ``rejected``."""
        if (value := self._fresh(rejected)) is not None:
            return value
        async with self._lock:
            # Whoever held the lock before us may already have refreshed it.
            if (value := self._fresh(rejected)) is not None:
                return value
            return await self._request_token()

    def _body(self) -> dict[str, Any]:
        project = {"id": self.project_id} if self.project_id else {"name": self.project_name}
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.user,
                            "password": self._password.get_secret_value(),
                            "domain": {"name": self.domain},
                        }
                    },
                },
                "scope": {"project": project},
            }
        }

    async def _request_token(self) -> str:
        self.token_requests += 1
        url = f"{self.iam_url}/v3/auth/tokens"
        try:
            # A bare httpx.Auth() overrides the client's auth: IAM never recurses through here.
            response = await self._http.post(
                url,
                params={"nocatalog": "true"},
                json=self._body(),
                headers={"Content-Type": "application/json;charset=utf8"},
                auth=httpx.Auth(),
                extensions=CallTag(self.region, self.project_id or "", "iam_token").extensions(),
            )
        except httpx.HTTPError as exc:
            # Nothing reached TaurusDB yet, so the caller's request was not sent.
            raise TransportError(
                f"IAM token request failed: {type(exc).__name__}", maybe_sent=False
            ) from None
        if response.status_code not in (200, 201):
            code, msg = parse_error_body(response.content)
            raise ApiError(
                response.status_code, code, f"IAM: {msg}", response.headers.get("X-Request-Id", "")
            )
        token = str(response.headers.get("X-Subject-Token", ""))
        try:
            data = response.json()["token"]
            expires_at = parse_cloud_time(data["expires_at"])
            issued_at = parse_cloud_time(data.get("issued_at"))
            scoped = (data.get("project") or {}).get("id")
        except (ValueError, KeyError, TypeError, AttributeError):
            expires_at = None
            issued_at = None
            scoped = None
        if not token or expires_at is None:
            raise ApiError(
                response.status_code, "IAM.MALFORMED", "IAM answered without a token or expires_at"
            )
        now = self._clock()
        # Use IAM's own issued_at when present so our clock's skew does not shorten the lifetime.
        lifetime = max(expires_at - (issued_at or now), timedelta(0))
        margin = min(_REFRESH_MARGIN, lifetime / 2)
        self._token = SecretStr(token)
        self._refresh_at = now + lifetime - margin
        if isinstance(scoped, str) and scoped:
            self.scoped_project_id = scoped
        return token
