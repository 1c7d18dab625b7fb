"""The :class:`~bot.app.ports.Directory` for Slack: a person's locale (``users.info``) and the user
groups with their members (``usergroups.list``), with Slack's failures made one exception."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.ports import DirectoryError, GroupMembers, SlackUser

# Error answers that may well be different in a minute; any other error answer will not be.
_PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackDirectory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def user(self, user_id: str) -> SlackUser:
        try:
            answer = await self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            error = _error_of(exc)
            raise DirectoryError(error or "an error answer", lasting=error not in _PASSING) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DirectoryError(type(exc).__name__, lasting=False) from exc
        user = answer.data.get("user") if isinstance(answer.data, dict) else None
        if not isinstance(user, dict):
            raise DirectoryError("users.info answered without a user", lasting=False)
        locale, tz = user.get("locale"), user.get("tz")
        return SlackUser(
            locale=locale if isinstance(locale, str) else None,
            tz=tz if isinstance(tz, str) else "",
            guest=user.get("is_restricted") is True or user.get("is_ultra_restricted") is True,
        )

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

    async def is_member(self, user_id: str, channel_id: str) -> bool:
        cursor = ""
        for _ in range(_MAX_MEMBER_PAGES):
            try:
                answer = await self._client.conversations_members(
                    channel=channel_id, cursor=cursor or None, limit=1000
                )
            except SlackApiError as exc:
                error = _error_of(exc)
                if error in _NOT_VISIBLE:
                    return False
                raise DirectoryError(error or "an error answer", lasting=error not in _PASSING) from exc
            except (SlackClientError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise DirectoryError(type(exc).__name__, lasting=False) from exc
            data = answer.data if isinstance(answer.data, dict) else {}
            if user_id in (data.get("members") or []):
                return True
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return False
        raise DirectoryError("too many members to look through", lasting=True)


_MAX_MEMBER_PAGES = 50
# The bot cannot see the conversation: to the bot, nobody is in it.
_NOT_VISIBLE = frozenset({"channel_not_found", "not_in_channel", "method_not_supported_for_channel_type"})


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    data = getattr(response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""
