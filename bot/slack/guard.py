"""The Bolt middleware every request passes before a listener: it must be well formed (the bot's
payload models) and come from the workspace the bot is installed in (``auth.test`` at start-up).
Anything else is refused with a 4xx and nothing done."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack import payloads

log = logging.getLogger("bot.slack.guard")

MALFORMED = BoltResponse(status=400, body='{"ok":false,"error":"malformed request"}')
FOREIGN = BoltResponse(status=401, body='{"ok":false,"error":"not this workspace"}')


@dataclass(frozen=True)
class Workspace:
    """Where the bot is installed: one workspace, or a whole Enterprise org (org-wide install)."""

    team_id: str
    enterprise_id: str = ""
    org_wide: bool = False

    def accepts(self, team_id: str, enterprise_id: str) -> bool:
        if self.org_wide:
            return bool(enterprise_id) and enterprise_id == self.enterprise_id
        return bool(team_id) and team_id == self.team_id


def _event_origin(body: dict[str, Any]) -> tuple[str, str]:
    return str(body.get("team_id") or ""), str(body.get("enterprise_id") or "")


class Guard(AsyncMiddleware):
    """The guard as a class middleware: Bolt hands it the request as it is. (A function middleware
    gets arguments Bolt builds from the body first, e.g. ``body["actions"][0]``, which fails on a
    malformed body before the guard could refuse it.)"""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        refusal = self.refusal(req.body, req.context)
        if refusal is not None:
            return refusal
        return await next()

    def refusal(self, body: dict[str, Any], context: dict[str, Any]) -> BoltResponse | None:
        """Why ``body`` is refused (its response), or None: then ``context["payload"]`` is its model."""
        workspace = self._workspace
        try:
            payload = payloads.read(body)
        except payloads.Malformed as exc:
            log.info("refused a malformed request (%s)", exc)
            return MALFORMED
        if payload is None:
            team, enterprise = _event_origin(body)
            if body.get("type") == "event_callback" and not workspace.accepts(team, enterprise):
                log.warning("refused an event from another workspace (%s)", team or enterprise or "none")
                return FOREIGN
            return None
        if isinstance(payload, payloads.Command):
            team, enterprise = payload.team_id, payload.enterprise_id or ""
        else:
            team, enterprise = payload.team_id, payload.enterprise_id
        if not workspace.accepts(team, enterprise):
            log.warning("refused a request from another workspace (%s)", team or enterprise or "none")
            return FOREIGN
        context["payload"] = payload
        return None
