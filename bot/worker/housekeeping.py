"""Background chores that keep the web process's caches warm and the audit channel fed.

- ``instances:refresh``: the instance list for the form's type-ahead (scheduled when a form opens);
- ``groups:sync``: Slack user-group membership for the policy, every few minutes;
- ``auditpost:<id>``: one line per decision and result in ``AUDIT_CHANNEL``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.cloud.client import TaurusDB
from bot.cloud.errors import CloudError
from bot.domain.policy import members_needing_groups
from bot.services import Services
from bot.store.groups import GroupCache
from bot.store.scheduler import Lease, Outcome

log = logging.getLogger("bot.worker.housekeeping")

GROUP_SYNC_EVERY = 300.0


def instances_key() -> str:
    return "instances:refresh"


def groups_key() -> str:
    return "groups:sync"


@dataclass
class Housekeeping:
    services: Services
    cloud: TaurusDB

    async def refresh_instances(self, lease: Lease) -> Outcome:
        try:
            instances = [i async for i in self.cloud.iter_instances()]
        except CloudError as exc:
            log.warning("could not list instances for the form (%s)", exc)
            return Outcome.later(5.0) if lease.attempt < 3 else Outcome.finished()
        await self.services.instances.put(instances)
        return Outcome.finished()

    async def sync_groups(self, lease: Lease) -> Outcome:
        handles = members_needing_groups(self.services.policy)
        if not handles:
            return Outcome.finished()
        try:
            answer = await self.services.slack.usergroups_list(include_users=True, include_disabled=False)
        except SlackApiError as exc:
            log.error("cannot read Slack user groups (%s); group members hold no role until it works", exc)
            return Outcome.later(60.0)
        members: dict[str, list[str]] = {handle: [] for handle in handles}
        ids: dict[str, str] = {}
        for group in answer.get("usergroups") or []:
            handle = str(group.get("handle", ""))
            if handle in handles:
                members[handle] = [str(u) for u in group.get("users") or []]
                ids[handle] = str(group.get("id", ""))
        await GroupCache(self.services.redis).replace(members, ids)
        return Outcome.later(GROUP_SYNC_EVERY)

    async def post_audit(self, lease: Lease) -> Outcome:
        channel, line = str(lease.payload.get("channel", "")), str(lease.payload.get("line", ""))
        if channel and line:
            await self.services.slack.chat_postMessage(channel=channel, text=line, unfurl_links=False)
        return Outcome.finished()
