"""Project IDs from IAM, for regions configured without one: once per region, at start-up.

The way the official SDK finds them (``huaweicloudsdkcore`` ``BasicCredentials.process_auth_params``):
``GET {iam}/v3/projects?name={region}``, signed with the AK/SK and no ``X-Project-Id`` yet (the
project is what is being asked), exactly one project expected: none or several is an error naming
the region. With an IAM password the project-scoped token request answers the same question
(``scope.project.name = region`` → ``token.project.id``), so that token is kept and used.

Every failure is a :class:`ConfigError` naming the region: the bot cannot serve a project it
cannot name, so it stops at start-up rather than later, in the middle of a request.
"""

from __future__ import annotations

import logging

import httpx

from bot.cloud.auth import IamTokenAuth
from bot.cloud.calls import CallTag
from bot.cloud.errors import CloudError
from bot.cloud.retry import RetryPolicy
from bot.cloud.transport import READ, run, transport_error
from bot.config import ConfigError
from bot.domain import rules

log = logging.getLogger(__name__)

_VARIABLE = "HUAWEICLOUD_SDK_PROJECT_ID"


def _refusal(region: str, problem: str) -> ConfigError:
    return ConfigError(
        f"invalid configuration:\n  {_VARIABLE}: no project ID is configured for region {region}, and "
        f"{problem}; set {_VARIABLE} ({region}=<project id>)"
    )


def _checked(region: str, project_id: object, source: str) -> str:
    if not isinstance(project_id, str) or rules.check_project_id(project_id):
        raise _refusal(region, f"{source} gave a malformed project ID ({project_id!r})")
    log.info("project ID of region %s from IAM: %s…", region, project_id[:4])
    return project_id


async def lookup_project_id(
    http: httpx.AsyncClient, iam_url: str, region: str, auth: httpx.Auth, *, retry: RetryPolicy
) -> str:
    """The ID of the project named ``region``, asked of IAM with ``auth`` (an AK/SK signer for no
    project; any token the IAM accepts). Transient failures are retried like any read."""
    url = f"{iam_url.rstrip('/')}/v3/projects"

    async def send() -> httpx.Response:
        try:
            return await http.get(
                url,
                params={"name": region},
                auth=auth,
                extensions=CallTag(region, "", "iam_projects").extensions(),
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc

    try:
        response = await run(retry, "iam_projects", send, READ)
        projects = response.json()["projects"]
        ids = [project["id"] for project in projects]
    except CloudError as exc:
        raise _refusal(region, f"IAM at {iam_url} could not be asked for it ({exc})") from None
    except (ValueError, KeyError, TypeError):
        raise _refusal(region, f"IAM at {iam_url} answered GET /v3/projects in an unknown shape") from None
    if not ids:
        raise _refusal(region, f"IAM has no project named {region} (does the account use that region?)")
    if len(ids) > 1:
        raise _refusal(
            region, f"IAM has {len(ids)} projects named {region} ({', '.join(map(str, ids))}): choose one"
        )
    return _checked(region, ids[0], "IAM")


async def token_project_id(auth: IamTokenAuth, region: str) -> str:
    """The ID of the project a token scoped by ``auth.project_name`` is for (its token is kept)."""
    try:
        await auth.token()
    except CloudError as exc:
        raise _refusal(region, f"IAM refused a token for the project named {region} ({exc})") from None
    if auth.scoped_project_id is None:
        raise _refusal(region, f"IAM's token for the project named {region} names no project")
    return _checked(region, auth.scoped_project_id, "IAM's token")
