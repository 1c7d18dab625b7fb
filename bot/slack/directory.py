"""The :class:`~bot.app.ports.Directory` for Slack: a person's locale (``users.info``) and the user
groups with their members (``usergroups.list``), with Slack's failures made one exception."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.ports import DirectoryError, GroupMembers

# Error answers that may well be different in a minute; any other error answer will not be.
_PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackDirectory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def locale_of(self, user_id: str) -> str | None:
        try:
            answer = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            error = _error_of(exc)
            raise DirectoryError(error or "an error answer", lasting=error not in _PASSING) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DirectoryError(type(exc).__name__, lasting=False) from exc
        user = answer.get("user") if isinstance(answer.data, dict) else None
        locale = user.get("locale") if isinstance(user, dict) else None
        return locale if isinstance(locale, str) else None

    async def user_groups(self) -> list[GroupMembers]:
        try:
            answer = await self._client.usergroups_list(include_users=True, include_disabled=False)
        except SlackApiError as exc:
            raise DirectoryError(_error_of(exc) or "error answer", lasting=False) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DirectoryError(type(exc).__name__, lasting=False) from exc
        groups = answer.get("usergroups") if isinstance(answer.data, dict) else None
        return [
            GroupMembers(
                handle=str(group.get("handle", "")),
                id=str(group.get("id", "")),
                users=tuple(str(u) for u in group.get("users") or []),
            )
            for group in groups or []
            if isinstance(group, dict)
        ]


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    data = getattr(response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""
