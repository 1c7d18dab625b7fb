"""Build the process's TaurusDB fleet (clients, connection pools, auth) from :class:`Settings`.

Credentials are chosen in the DESIGN.md §4 order: AK/SK, IAM password, static token; with none the
clients send a placeholder token that only an open simulator accepts. Auth is per project: one
AK/SK key pair signs for every project (its ``X-Project-Id`` per project), an IAM password gets one
project-scoped token per project, a static token serves as is. Projects configured without an ID
are looked up in IAM once, at start-up (:mod:`bot.cloud.projects`).

:func:`open_fleet` is the entry point; :func:`build_taurusdb` is the single-project form of before.
"""

from __future__ import annotations

import httpx

from bot.cloud.auth import AkSkAuth, IamTokenAuth, StaticTokenAuth
from bot.cloud.calls import CallHook, response_hook
from bot.cloud.client import TaurusDB
from bot.cloud.fleet import Fleet
from bot.cloud.projects import lookup_project_id, token_project_id
from bot.cloud.retry import RetryPolicy
from bot.config import LOCAL_PROJECT_ID, CloudAuth, ConfigError, ProjectSpec, Settings

__all__ = ["LOCAL_PROJECT_ID", "LOCAL_TOKEN", "build_auth", "build_taurusdb", "open_fleet"]

# Simulator mode (no credentials): the simulator accepts any project and any token when it has no
# credentials configured, but like the real gateway it wants *some* X-Auth-Token on every call.
LOCAL_TOKEN = "local-simulator"

# Connect fails fast (a dead endpoint should not hold a worker); reads allow for a slow gateway.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)
USER_AGENT = "backup-bot/0.1 (+httpx)"


def _http(base_url: str = "", hook: CallHook | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=TIMEOUT,
        limits=LIMITS,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # a redirect would re-send a signed request somewhere else
        event_hooks={"response": [response_hook(hook)] if hook is not None else []},
    )


def _no_endpoint() -> ConfigError:
    return ConfigError("no TaurusDB endpoint: set HUAWEICLOUD_REGION or TAURUSDB_ENDPOINT")


def _signer(settings: Settings) -> AkSkAuth:
    assert settings.access_key is not None and settings.secret_key is not None
    return AkSkAuth(settings.access_key, settings.secret_key, None, settings.security_token)


def _iam_auth(
    settings: Settings, iam_http: httpx.AsyncClient, iam_url: str, region: str, project_id: str | None
) -> IamTokenAuth:
    assert settings.iam_password is not None and settings.iam_user and settings.iam_domain
    return IamTokenAuth(
        iam_http,
        iam_url,
        settings.iam_user,
        settings.iam_password,
        settings.iam_domain,
        project_id=project_id,
        # The default project of a region is named after it (fact sheet §4).
        project_name=region if settings.regions else None,
        region=region,
    )


def build_auth(settings: Settings, iam_http: httpx.AsyncClient) -> httpx.Auth | None:
    """The auth of a single-project configuration, or None (simulator mode).

    ``iam_http`` carries the IAM token requests; it may be the TaurusDB client itself, since the
    token request disables client auth.
    """
    mode = settings.cloud_auth
    (spec,) = settings.projects[:1]
    if mode is CloudAuth.AKSK:
        if settings.project_id is None:
            raise ConfigError("HUAWEICLOUD_SDK_PROJECT_ID is required for AK/SK signing")
        return _signer(settings).for_project(settings.project_id)
    if mode is CloudAuth.IAM_PASSWORD:
        return _iam_auth(settings, iam_http, settings.iam_url, spec.region, settings.project_id)
    if mode is CloudAuth.TOKEN:
        assert settings.auth_token is not None
        return StaticTokenAuth(settings.auth_token)
    return None


def build_taurusdb(
    settings: Settings, *, endpoint_override: str | None = None, retry: RetryPolicy | None = None
) -> tuple[TaurusDB, httpx.AsyncClient]:
    """The one project's client and the ``httpx.AsyncClient`` under it; the caller closes the latter.

    Kept for single-project callers: several regions, or a project ID still to be looked up, need
    :func:`open_fleet`. ``endpoint_override`` (e.g. the local simulator's URL) wins over the
    configured endpoint.
    """
    if len(settings.projects) != 1:
        raise ConfigError(f"{len(settings.projects)} regions are configured: build a fleet (open_fleet)")
    (spec,) = settings.projects
    if spec.project_id is None:
        raise ConfigError(
            f"the project ID of {spec.region} must be looked up in IAM: build a fleet (open_fleet)"
        )
    endpoint = endpoint_override or settings.endpoint_for(spec.region)
    if not endpoint:
        raise _no_endpoint()
    http = _http(endpoint)
    http.auth = build_auth(settings, http) or StaticTokenAuth(LOCAL_TOKEN)
    return TaurusDB(http, spec.project_id, retry=retry, region=spec.region), http


class _Builder:
    """Pools, auth and project IDs for :func:`open_fleet`; closes what it opened if start-up fails."""

    def __init__(
        self,
        settings: Settings,
        endpoint_override: str | None,
        iam_override: str | None,
        retry: RetryPolicy,
        hook: CallHook | None,
    ) -> None:
        self.settings, self.retry, self.hook = settings, retry, hook
        self.endpoint_override, self.iam_override = endpoint_override, iam_override
        self.iam_http = _http(hook=hook)
        self.pools: dict[str, httpx.AsyncClient] = {}
        self.signer = _signer(settings) if settings.cloud_auth is CloudAuth.AKSK else None
        token = settings.auth_token if settings.cloud_auth is CloudAuth.TOKEN else None
        self.token = StaticTokenAuth(token or LOCAL_TOKEN)

    def endpoint(self, region: str) -> str:
        endpoint = self.endpoint_override or self.settings.endpoint_for(region)
        if not endpoint:
            raise _no_endpoint()
        return endpoint

    def iam_url(self, region: str) -> str:
        if self.iam_override:
            return self.iam_override
        if self.settings.cloud_auth is CloudAuth.NONE and not self.settings.iam_endpoint:
            return self.endpoint(region)  # the simulator serves IAM beside TaurusDB
        return self.settings.iam_url_for(region)

    def pool(self, region: str) -> httpx.AsyncClient:
        endpoint = self.endpoint(region).rstrip("/")
        if endpoint not in self.pools:
            self.pools[endpoint] = _http(endpoint, self.hook)
        return self.pools[endpoint]

    async def client(self, spec: ProjectSpec) -> TaurusDB:
        """The project's client, its ID looked up first when none is configured."""
        region, project_id = spec.region, spec.project_id
        auth: httpx.Auth
        if self.settings.cloud_auth is CloudAuth.IAM_PASSWORD:
            iam = _iam_auth(self.settings, self.iam_http, self.iam_url(region), region, project_id)
            project_id = project_id or await token_project_id(iam, region)
            auth = iam
        else:
            lookup_auth: httpx.Auth = self.signer if self.signer is not None else self.token
            if project_id is None:
                url = self.iam_url(region)
                project_id = await lookup_project_id(
                    self.iam_http, url, region, lookup_auth, retry=self.retry
                )
            auth = self.signer.for_project(project_id) if self.signer is not None else self.token
        return TaurusDB(self.pool(region), project_id, retry=self.retry, auth=auth, region=region)

    async def aclose(self) -> None:
        for http in (*self.pools.values(), self.iam_http):
            await http.aclose()


async def open_fleet(
    settings: Settings,
    *,
    endpoint_override: str | None = None,
    iam_override: str | None = None,
    retry: RetryPolicy | None = None,
    call_hook: CallHook | None = None,
) -> Fleet:
    """Every configured project's client, project IDs looked up where missing (a
    :class:`ConfigError` naming the region when IAM cannot say). The caller closes the fleet.

    ``endpoint_override`` (the local simulator's URL) serves every region, as does
    ``iam_override`` for IAM; without credentials IAM is asked at the TaurusDB endpoint unless
    HUAWEICLOUD_SDK_IAM_ENDPOINT says otherwise. ``call_hook`` is told of every answered request
    from the start, the IAM lookups included (:meth:`Fleet.add_call_hook` adds one later).
    """
    builder = _Builder(settings, endpoint_override, iam_override, retry or RetryPolicy(), call_hook)
    try:
        clients = [await builder.client(spec) for spec in settings.projects]
    except BaseException:
        await builder.aclose()
        raise
    return Fleet(clients, owned=[*builder.pools.values(), builder.iam_http])
