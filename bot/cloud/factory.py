"""Build the process's one TaurusDB client (and its auth) from :class:`bot.config.Settings`.

Credentials are chosen in the DESIGN.md §4 order: AK/SK, IAM password, static token; with none,
:func:`build_auth` returns None and the caller points the client at the simulator instead.
"""

from __future__ import annotations

import httpx

from bot.cloud.auth import AkSkAuth, IamTokenAuth, StaticTokenAuth
from bot.cloud.client import TaurusDB
from bot.cloud.retry import RetryPolicy
from bot.config import CloudAuth, ConfigError, Settings

# Simulator mode (no credentials): the simulator accepts any project and any token when it has no
# credentials configured, but like the real gateway it wants *some* X-Auth-Token on every call.
LOCAL_PROJECT_ID = "0" * 32
LOCAL_TOKEN = "local-simulator"

# Connect fails fast (a dead endpoint should not hold a worker); reads allow for a slow gateway.
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0)
USER_AGENT = "backup-bot/0.1 (+httpx)"


def build_auth(settings: Settings, iam_http: httpx.AsyncClient) -> httpx.Auth | None:
    """The auth for the configured credentials, or None (simulator mode).

    ``iam_http`` carries the IAM token requests; it may be the TaurusDB client itself, since the
    token request disables client auth.
    """
    mode = settings.cloud_auth
    if mode is CloudAuth.AKSK:
        assert settings.access_key is not None and settings.secret_key is not None
        if settings.project_id is None:
            raise ConfigError("HUAWEICLOUD_SDK_PROJECT_ID is required for AK/SK signing")
        return AkSkAuth(
            settings.access_key, settings.secret_key, settings.project_id, settings.security_token
        )
    if mode is CloudAuth.IAM_PASSWORD:
        assert settings.iam_password is not None and settings.iam_user and settings.iam_domain
        return IamTokenAuth(
            iam_http,
            settings.iam_url,
            settings.iam_user,
            settings.iam_password,
            settings.iam_domain,
            project_id=settings.project_id,
            # The default project of a region is named after it (fact sheet §4).
            project_name=settings.huaweicloud_region,
        )
    if mode is CloudAuth.TOKEN:
        assert settings.auth_token is not None
        return StaticTokenAuth(settings.auth_token)
    return None


def build_taurusdb(
    settings: Settings, *, endpoint_override: str | None = None, retry: RetryPolicy | None = None
) -> tuple[TaurusDB, httpx.AsyncClient]:
    """The TaurusDB client and the one ``httpx.AsyncClient`` under it; the caller closes the latter.

    ``endpoint_override`` (e.g. the local simulator's URL) wins over the configured endpoint. With
    no credentials the client sends a placeholder token, which only an open simulator accepts.
    """
    endpoint = endpoint_override or settings.cloud_endpoint
    if not endpoint:
        raise ConfigError("no TaurusDB endpoint: set HUAWEICLOUD_REGION or TAURUSDB_ENDPOINT")
    http = httpx.AsyncClient(
        base_url=endpoint.rstrip("/"),
        timeout=TIMEOUT,
        limits=LIMITS,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # a redirect would re-send a signed request somewhere else
    )
    http.auth = build_auth(settings, http) or StaticTokenAuth(LOCAL_TOKEN)
    project_id = settings.project_id or LOCAL_PROJECT_ID
    return TaurusDB(http, project_id, retry=retry), http
