"""People the bot names in a message: approvers to ask, or whoever can help someone refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.policy import EVERYONE


@dataclass(frozen=True, slots=True)
class Group:
    """A Slack user group as the policy names it; ``id`` once the group sync has seen it."""

    handle: str
    id: str = ""


@dataclass(frozen=True, slots=True)
class People:
    """User IDs and user groups, in policy order."""

    members: tuple[str | Group, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.members)

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(m for m in self.members if isinstance(m, str))

    @property
    def group_ids(self) -> dict[str, str]:
        """The Slack ID of each group whose ID is known, by handle."""
        return {m.handle: m.id for m in self.members if isinstance(m, Group) and m.id}


def named(members: Iterable[str], group_ids: Mapping[str, str]) -> People:
    """Policy members (user IDs, ``@handle`` groups) as people to mention, each group with its Slack
    ID when ``group_ids`` knows it (so it can be mentioned as a whole). "Everyone" is never among them."""
    return People(
        tuple(
            Group(m[1:], group_ids.get(m[1:], "")) if m.startswith("@") else m
            for m in members
            if m != EVERYONE
        )
    )
