"""Who may do what: the policy applied to a Slack user, with group membership from the cache.

Reads only Redis, so the web process can answer before ``ack()``. When the policy names groups and
the cache has never been filled, the role is unknown (None) and the worker decides instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.people import Group, People
from bot.domain.policy import Policy, Role, members_holding, members_needing_groups, role_of
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

    async def holding(self, role: Role) -> People:
        """Who holds ``role`` (or more): user IDs and groups, with each group's ID once synced (so
        the adapter can mention the whole group)."""
        ids = await self.groups.subteam_ids() if members_needing_groups(self.policy) else {}
        return People(
            tuple(
                Group(m[1:], ids.get(m[1:], "")) if m.startswith("@") else m
                for m in members_holding(self.policy, role)
            )
        )
