"""The :class:`~bot.app.ports.Directory` for Slack: a person's locale (``users.info``) and the user
groups with their members (``usergroups.list``), with Slack's failures made one exception.

Any answer the bot cannot read counts as a failed lookup, however it fails: Slack out of reach, a
body that is not JSON, or one that is not what Slack sends (slack_sdk's own checks then fail with
``AttributeError`` and the like, e.g. a status 200 with a ``text/plain`` body from a proxy)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.app.ports import DirectoryError, GroupMembers, SlackUser

# Error answers that may well be different in a minute; any other error answer will not be.
_PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_UNREADABLE = (
    SlackClientError,
    aiohttp.ClientError,
    TimeoutError,
    ValueError,
    AttributeError,
    TypeError,
    LookupError,
)


async def _data(call: Awaitable[AsyncSlackResponse]) -> dict[str, Any]:
    """Slack's answer as data. An error answer is raised as Slack's SlackApiError (the caller judges
    it); an answer that never came, or cannot be read, as a passing DirectoryError."""
    try:
        answer = await call
    except SlackApiError:
        raise
    except _UNREADABLE as exc:
        raise DirectoryError(f"unreadable answer ({type(exc).__name__})", lasting=False) from exc
    data = answer.data
    if not isinstance(data, dict) or data.get("ok") is not True:
        raise DirectoryError("unreadable answer (not what Slack sends)", lasting=False)
    return data


def _failure(exc: SlackApiError) -> DirectoryError:
    """An error answer as a lookup failure: lasting only when Slack named an error that will not go
    away (one without a name is a proxy's page, an empty body, …: it may well be different soon)."""
    error = _error_of(exc)
    return DirectoryError(error or "an error answer", lasting=bool(error) and error not in _PASSING)


class SlackDirectory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def user(self, user_id: str) -> SlackUser:
        try:
            data = await _data(self._client.users_info(user=user_id, include_locale=True))
        except SlackApiError as exc:
            raise _failure(exc) from exc
        user = data.get("user")
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
            data = await _data(self._client.usergroups_list(include_users=True, include_disabled=False))
        except SlackApiError as exc:
            raise DirectoryError(_error_of(exc) or "error answer", lasting=False) from exc
        groups = data.get("usergroups")
        if not isinstance(groups, list):  # never read as "no groups": that would empty every role
            raise DirectoryError("usergroups.list answered without groups", lasting=False)
        return [
            GroupMembers(
                handle=str(group.get("handle", "")),
                id=str(group.get("id", "")),
                users=tuple(str(u) for u in _list(group.get("users"))),
            )
            for group in groups
            if isinstance(group, dict)
        ]

    async def is_member(self, user_id: str, channel_id: str) -> bool:
        cursor = ""
        for _ in range(_MAX_MEMBER_PAGES):
            try:
                data = await _data(
                    self._client.conversations_members(channel=channel_id, cursor=cursor or None, limit=1000)
                )
            except SlackApiError as exc:
                if _error_of(exc) in _NOT_VISIBLE:
                    return False
                raise _failure(exc) from exc
            members = data.get("members")
            if not isinstance(members, list):
                raise DirectoryError("conversations.members answered without members", lasting=False)
            if user_id in members:
                return True
            metadata = data.get("response_metadata")
            cursor = str((metadata if isinstance(metadata, dict) else {}).get("next_cursor") or "")
            if not cursor:
                return False
        raise DirectoryError("too many members to look through", lasting=True)


_MAX_MEMBER_PAGES = 50
# The bot cannot see the conversation: to the bot, nobody is in it.
_NOT_VISIBLE = frozenset({"channel_not_found", "not_in_channel", "method_not_supported_for_channel_type"})


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    data = getattr(response, "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""
