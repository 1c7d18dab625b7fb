"""People the bot names in a message: approvers to ask, or whoever can help someone refused."""

from __future__ import annotations

from dataclasses import dataclass


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
