"""Who may do what: the policy applied to a Slack user, with group membership and the user record
(is this a guest?) from the caches.

Reads only Redis, so the web process can answer before ``ack()``. When the policy names groups and
the group cache has never been filled, or whether the user is a guest would change their role and
the user record is not cached yet, the role is unknown (None) and the worker decides instead: it
asks Slack, and a user Slack will not describe counts as a guest (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app.people import People, named
from bot.app.users import UserProfiles
from bot.domain import gates
from bot.domain.gates import Gate
from bot.domain.policy import EVERYONE, Policy, Role, members_needing_groups, role_of
from bot.store.groups import GroupCache


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    groups: frozenset[str]
    guest: bool | None  # None: not known yet


_ROLES_REMEMBERED = 10_000  # people whose role is remembered (then forgotten all at once)


@dataclass
class Access:
    policy: Policy
    groups: GroupCache
    people: UserProfiles
    # Worked out from the policy, which does not change while the process runs: the group handles it
    # names, and the role each (person, their groups, guest or not) holds — both asked on every request.
    _handles: frozenset[str] = field(init=False, repr=False)
    _roles: dict[tuple[Person, bool], Role] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._handles = frozenset(members_needing_groups(self.policy))

    async def person(self, user_id: str, *, ask_slack: bool = False) -> Person | None:
        """What the policy needs to know of someone; None while their groups are not known. With
        ``ask_slack`` (workers) an unknown user record is fetched, and one Slack will not give means
        "guest"."""
        handles = self._handles
        user_groups = await self.groups.groups_of(user_id, handles) if handles else frozenset()
        if user_groups is None:
            return None
        guest: bool | None = False  # what guests may do is what members may: no need to know
        if not self.policy.is_default and not self.policy.guests_allowed:
            if ask_slack:
                record = await self.people.resolve(user_id)
                guest = True if record.guest is None else record.guest
            else:
                cached = await self.people.record(user_id)
                guest = cached.guest if cached is not None else None
        return Person(user_id, user_groups, guest)

    async def role(self, user_id: str, *, ask_slack: bool = False) -> Role | None:
        found = await self.person(user_id, ask_slack=ask_slack)
        return None if found is None else self.role_of(found)

    def role_of(self, person: Person) -> Role | None:
        if person.guest is not None:
            return self._role(person, guest=person.guest)
        as_member = self._role(person, guest=False)
        as_guest = self._role(person, guest=True)
        return as_member if as_member == as_guest else None  # being a guest would matter: not known

    def approves(self, gate: Gate, person: Person) -> bool | None:
        """Whether the person is one of the gate's approvers; None when only their guest status,
        not known yet, would tell (a worker, or a click after its ack, can ask Slack)."""

        def as_guest(guest: bool) -> bool:
            return gates.may_approve(self.policy, gate, person.user_id, person.groups, guest=guest)

        if person.guest is not None:
            return as_guest(person.guest)
        member, guest = as_guest(False), as_guest(True)
        return member if member == guest else None

    def _role(self, person: Person, *, guest: bool) -> Role:
        known = self._roles.get((person, guest))
        if known is None:
            if len(self._roles) >= _ROLES_REMEMBERED:
                self._roles.clear()
            known = self._roles[(person, guest)] = role_of(
                self.policy, person.user_id, person.groups, guest=guest
            )
        return known

    def may_approve(self, gate: Gate, person: Person) -> bool:
        """One of the gate's approvers (fail closed: an unknown guest status counts as guest)."""
        return self.approves(gate, person) is True

    def may_break_glass(self, person: Person) -> bool:
        return gates.may_break_glass(
            self.policy, person.user_id, person.groups, guest=person.guest is not False
        )

    async def holding(self, role: Role) -> People:
        """Who holds ``role`` (or more), to name when someone needs help."""
        return await self.named(tuple(gates.members_holding(self.policy, role)))

    async def named(self, members: tuple[str, ...]) -> People:
        """Policy members as people to mention: user IDs, and groups with their ID once synced (so
        the adapter can mention the whole group). "Everyone" is never among them."""
        ids = await self.groups.subteam_ids() if any(m.startswith("@") for m in members) else {}
        return named(members, ids)

    async def user_ids(self, members: tuple[str, ...]) -> list[str]:
        """Every user the members name (groups expanded from the cache; "everyone" is nobody in
        particular), in order, once each."""
        found: dict[str, None] = {}
        for member in members:
            if member == EVERYONE:
                continue
            if member.startswith("@"):
                found.update(dict.fromkeys(await self.groups.members_of(member[1:])))
            else:
                found[member] = None
        return list(found)
