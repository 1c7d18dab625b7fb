"""Who must agree before a backup starts, and who may agree (pure).

A request either goes ahead, or waits at a :class:`Gate`: ``min_approvals`` distinct approvals from
people the gate names. The first ``approval.rules`` entry whose globs match the instance (its name,
its ID or ``<region>/<name>``, ignoring case) is the gate, for everyone; otherwise requesters (and
anyone on an instance matching ``approval.required_for``) wait for one approval from
``roles.approver``. The open default never waits.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.policy import EVERYONE, Policy, Role, any_match


@dataclass(frozen=True, slots=True)
class Instance:
    """How an instance can be named in a glob."""

    name: str
    id: str = ""
    region: str = ""

    def names(self) -> list[str]:
        found = [n for n in (self.name, self.id) if n]
        if self.region and self.name:
            found.append(f"{self.region}/{self.name}")
        return found


@dataclass(frozen=True, slots=True)
class Gate:
    """Who may approve (members as the policy names them) and how many distinct approvals it takes;
    ``rule`` is the index of the matching ``approval.rules`` entry, None for the default gate."""

    approvers: tuple[str, ...]
    min_approvals: int = 1
    rule: int | None = None


def _matches_any(globs: tuple[str, ...], instance: Instance) -> bool:
    # Case-insensitive on purpose: a gate on "*prod*" must not be slipped past by "Orders-PROD".
    return any(fnmatch.fnmatchcase(n.lower(), g.lower()) for g in globs for n in instance.names())


def gate_for(policy: Policy, role: Role, instance: Instance) -> Gate | None:
    """The gate a backup of ``instance`` by someone holding ``role`` waits at, or None to go ahead."""
    if policy.is_default:
        return None
    for index, rule in enumerate(policy.rules):
        if _matches_any(rule.match, instance):
            return Gate(rule.approvers, rule.min_approvals, index)
    if role < Role.OPERATOR or _matches_any(policy.required_for, instance):
        return Gate(policy.members(Role.APPROVER))
    return None


def needs_approval(
    policy: Policy, role: Role, instance_name: str, instance_id: str, region: str = ""
) -> bool:
    return gate_for(policy, role, Instance(instance_name, instance_id, region)) is not None


class Refusal(StrEnum):
    NOT_AN_APPROVER = "not_an_approver"
    OWN_REQUEST = "own_request"


@dataclass(frozen=True)
class Verdict:
    """Whether a click on Approve/Reject counts; ``reason`` says why not."""

    reason: Refusal | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None

    def __bool__(self) -> bool:
        return self.allowed


def may_approve(
    policy: Policy, gate: Gate, user_id: str, user_groups: frozenset[str], *, guest: bool = False
) -> bool:
    """Whether this person is one of the gate's approvers (a guest only by their own user ID, unless
    the policy allows guests)."""
    return any_match(gate.approvers, user_id, user_groups, guest=guest and not policy.guests_allowed)


def can_decide(policy: Policy, approver_role: Role, approver_id: str, requester_id: str) -> Verdict:
    """The default gate's rule: only approvers decide, never on their own request unless
    ``allow_self_approval`` (a rule's gate never lets the requester approve)."""
    if approver_role < Role.APPROVER:
        return Verdict(Refusal.NOT_AN_APPROVER)
    if approver_id == requester_id and not policy.allow_self_approval:
        return Verdict(Refusal.OWN_REQUEST)
    return Verdict()


def self_approval_allowed(policy: Policy, gate: Gate) -> bool:
    """A rule asks for distinct approvers, never the requester; the default gate follows the policy."""
    return gate.rule is None and policy.allow_self_approval


def may_break_glass(
    policy: Policy, user_id: str, user_groups: frozenset[str], *, guest: bool = False
) -> bool:
    return any_match(policy.break_glass, user_id, user_groups, guest=guest and not policy.guests_allowed)


def may_read(role: Role) -> bool:
    """``/backup status`` and ``/backup list`` need a role (any); the viewer role is the least."""
    return role >= Role.VIEWER


def members_holding(policy: Policy, role_needed: Role) -> list[str]:
    """The members (as the policy names them: user IDs and ``@handle`` groups) holding ``role_needed``
    or a higher role, in policy order, without duplicates. ``"*"`` is left out: "everyone" is never a
    person to ask for help."""
    wanted = max(role_needed, Role.REQUESTER)
    seen: dict[str, None] = {}
    for role in sorted(policy.roles):
        if role >= wanted:
            seen.update((m, None) for m in policy.roles[role] if m != EVERYONE)
    return list(seen)


def without_everyone(members: tuple[str, ...]) -> list[str]:
    return [m for m in members if m != EVERYONE]


def gated_globs(policy: Policy, role: Role) -> tuple[str, ...] | None:
    """What waits for approval when someone holding ``role`` asks: None for everything, else the
    instance globs that do (empty: nothing does). One line of their App Home."""
    if policy.is_default:
        return ()
    if role < Role.OPERATOR:
        return None
    globs = [*policy.required_for, *(g for rule in policy.rules for g in rule.match)]
    return tuple(dict.fromkeys(globs))
