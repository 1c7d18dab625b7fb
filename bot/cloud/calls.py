"""What each cloud request is, for metrics: region, project and operation, carried on the request.

Every request the cloud code sends (TaurusDB, IAM tokens, IAM project lookups) is tagged through
``httpx`` request *extensions* with a :class:`CallTag`. A response hook reads it back with
:func:`call_of`, so a counter can label calls by region, operation and status without parsing
paths, even when several projects share one connection pool. An untagged request (one sent by
other code over the same client) is an ``other`` call of no region.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

_EXTENSION = "backup_bot.call"


@dataclass(frozen=True)
class CallTag:
    """Who a request is for: ``region`` and ``project_id`` are "" when it serves no one project."""

    region: str
    project_id: str
    operation: str

    def extensions(self) -> dict[str, object]:
        return {_EXTENSION: self}


@dataclass(frozen=True)
class CloudCall:
    """One answered cloud request (a retry or a token resend is a call of its own)."""

    region: str
    project_id: str
    operation: str
    status: int


CallHook = Callable[[CloudCall], Awaitable[None]]


def tag_of(request: httpx.Request) -> CallTag:
    tag = request.extensions.get(_EXTENSION)
    if isinstance(tag, CallTag):
        return tag
    return CallTag("", "", "other")


def call_of(response: httpx.Response) -> CloudCall:
    tag = tag_of(response.request)
    return CloudCall(tag.region, tag.project_id, tag.operation, response.status_code)


def response_hook(hook: CallHook) -> Callable[[httpx.Response], Awaitable[None]]:
    """An ``httpx`` response event hook that hands each answered request to ``hook``."""

    async def on_response(response: httpx.Response) -> None:
        await hook(call_of(response))

    return on_response
