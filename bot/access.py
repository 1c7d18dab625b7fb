"""Who may do what: the policy applied to a Slack user, with group membership from the cache.

Reads only Redis, so the web process can answer before ``ack()``. When the policy names groups and
the cache has never been filled, the role is unknown (None) and the worker decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import Policy, Role, members_needing_groups, role_of, who_can_help
from bot.store.groups import GroupCache


@dataclass
class Access:
    policy: Policy
    groups: GroupCache

    async def role(self, user_id: str) -> Role | None:
        handles = members_needing_groups(self.policy)
        user_groups = await self.groups.groups_of(user_id, handles) if handles else frozenset()
        if user_groups is None:
            return None
        return role_of(self.policy, user_id, user_groups)

    async def mentions(self, role: Role) -> list[str]:
        """Who holds ``role``, as Slack mentions; groups become ``<!subteam^ID>`` once their IDs
        are known (a mention that notifies the whole group)."""
        ids = await self.groups.subteam_ids() if members_needing_groups(self.policy) else {}
        out = []
        for who in who_can_help(self.policy, role):
            handle = who.removeprefix("@")
            out.append(f"<!subteam^{ids[handle]}>" if who.startswith("@") and handle in ids else who)
        return out
