"""Who may take, ask for and approve backups (DESIGN.md §5): the policy model and its pure rules.

The decision functions (``role_of``, ``needs_approval``, ``can_decide``) take plain values and never
do I/O; group membership is resolved by the caller. The file format is read by
:mod:`bot.domain.policy_file`; how a policy is explained to people is the Slack adapter's job.
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.lifetimes import Retention
from bot.domain.people import is_user_id
from bot.domain.yaml_nodes import quote

DEFAULT_EXPIRES_AFTER = 1800
MAX_APPROVALS = 10
# Not in the contract's wording, but a pending request that waits longer than this is a mistake,
# and an unbounded value would overflow the datetime arithmetic that computes the expiry.
MAX_EXPIRES_AFTER = 30 * 24 * 3600


class Role(IntEnum):
    """What a user may do; a user holds the highest role any of their memberships gives. (Stored by
    name, never by number: see :func:`role_named`.)"""

    NONE = 0
    VIEWER = 1  # may read (/backup status, /backup list), nothing else
    REQUESTER = 2
    OPERATOR = 3
    APPROVER = 4


ROLE_NAMES: dict[str, Role] = {
    "viewer": Role.VIEWER,
    "requester": Role.REQUESTER,
    "operator": Role.OPERATOR,
    "approver": Role.APPROVER,
}


def role_named(name: str) -> Role | None:
    """A stored role: its name, ``"none"``, or "" for "not known yet"."""
    return Role.NONE if name == "none" else ROLE_NAMES.get(name)


def name_of(role: Role) -> str:
    return role.name.lower()


class Notify(StrEnum):
    """Where approvers are asked."""

    CHANNEL = "channel"
    DM = "dm"
    BOTH = "both"

    @property
    def in_channel(self) -> bool:
        return self is not Notify.DM

    @property
    def by_dm(self) -> bool:
        return self is not Notify.CHANNEL


EVERYONE = "*"
_HANDLE_RE = re.compile(r"@[a-z0-9._-]+")
# Slack broadcasts look like handles but are not user groups; a policy that names one means "*".
_BROADCASTS = frozenset({"@everyone", "@channel", "@here"})


def _is_member_id(value: str) -> bool:
    # Real Slack user IDs are 9-11 characters: a two-character one in a policy file is a typo.
    return is_user_id(value, min_length=3)


def member_problem(member: str) -> str | None:
    """``None`` for a valid member (``"*"``, ``"@handle"``, a user ID), else what is wrong with it."""
    if member == EVERYONE or _is_member_id(member):
        return None
    if _HANDLE_RE.fullmatch(member) and member not in _BROADCASTS:
        return None
    problem = f'{quote(member)} is not "*", an "@handle" or a user ID like U0123ABCDE'
    hint = _member_hint(member)
    return f"{problem} ({hint})" if hint else problem


def _member_hint(member: str) -> str | None:
    bare = member.strip()
    if bare.lower() in _BROADCASTS or bare.lower() in {"everyone", "all", "anyone", "@all"}:
        return 'write "*" for everyone'
    if bare != member:
        return "remove the spaces"
    if bare.startswith("<@") and bare.endswith(">") and _is_member_id(bare[2:-1].split("|")[0]):
        return f"write the user ID alone: {quote(bare[2:-1].split('|')[0])}"
    if bare.startswith("<!subteam^"):
        return "write the user group's @handle instead of its mention"
    if bare.startswith("@") and _is_member_id(bare[1:]):
        return f"a user ID is written without @: {quote(bare[1:])}"
    if bare.startswith("@") and _HANDLE_RE.fullmatch(bare.lower()):
        return f"Slack handles are lower case: {quote(bare.lower())}"
    if _is_member_id(bare.upper()):
        return f"user IDs are upper case: {quote(bare.upper())}"
    if _HANDLE_RE.fullmatch("@" + bare):
        return f"a user group is written with @: {quote('@' + bare)}"
    return None


def _valid_member_list(members: tuple[str, ...]) -> tuple[str, ...]:
    for member in members:
        if problem := member_problem(member):
            raise ValueError(problem)
    return members


class ApprovalRule(BaseModel):
    """``approval.rules[i]``: instances matching any glob need ``min_approvals`` distinct approvals
    from ``approvers`` (who replace ``roles.approver`` for them), never the requester's own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: tuple[str, ...] = Field(min_length=1)
    approvers: tuple[str, ...] = Field(min_length=1)
    min_approvals: int = Field(default=1, ge=1, le=MAX_APPROVALS)

    @field_validator("match")
    @classmethod
    def _globs(cls, globs: tuple[str, ...]) -> tuple[str, ...]:
        for glob in globs:
            if problem := glob_problem(glob):
                raise ValueError(problem)
        return globs

    @field_validator("approvers")
    @classmethod
    def _members(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_member_list(members)


class Policy(BaseModel):
    """A validated policy. Build one with :func:`parse_policy`, :func:`load_policy` or
    :meth:`open_default`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: dict[Role, tuple[str, ...]] = Field(default_factory=dict)
    required_for: tuple[str, ...] = ()
    expires_after: int = Field(default=DEFAULT_EXPIRES_AFTER, gt=0, le=MAX_EXPIRES_AFTER)
    allow_self_approval: bool = False
    rules: tuple[ApprovalRule, ...] = ()
    break_glass: tuple[str, ...] = ()  # who may start their own pending request at once
    notify: Notify = Notify.CHANNEL
    guests_allowed: bool = False  # guests hold roles through "*" and groups too
    # retention: seconds a backup is kept (None: forever), and the longest anyone may ask for
    keep_default: int | None = Field(default=None, gt=0)
    keep_max: int | None = Field(default=None, gt=0)
    is_default: bool = False

    @property
    def retention(self) -> Retention:
        return Retention(self.keep_default, self.keep_max)

    @field_validator("break_glass")
    @classmethod
    def _break_glass(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return _valid_member_list(members)

    @field_validator("roles")
    @classmethod
    def _valid_members(cls, roles: dict[Role, tuple[str, ...]]) -> dict[Role, tuple[str, ...]]:
        if Role.NONE in roles:
            raise ValueError("Role.NONE has no members")
        for role, members in roles.items():
            for member in members:
                if problem := member_problem(member):
                    raise ValueError(f"{role.name.lower()}: {problem}")
        return roles

    @field_validator("required_for")
    @classmethod
    def _valid_globs(cls, globs: tuple[str, ...]) -> tuple[str, ...]:
        for glob in globs:
            if problem := glob_problem(glob):
                raise ValueError(problem)
        return globs

    @classmethod
    def open_default(cls) -> Policy:
        """No policy file: everyone is an operator and nothing needs an approval."""
        return cls(roles={Role.OPERATOR: (EVERYONE,)}, guests_allowed=True, is_default=True)

    def members(self, role: Role) -> tuple[str, ...]:
        return self.roles.get(role, ())


def glob_problem(glob: str) -> str | None:
    if not glob:
        return "a glob must not be empty"
    if glob != glob.strip():
        return f"{quote(glob)} starts or ends with spaces, so it never matches an instance"
    return None


# --- decisions -------------------------------------------------------------------------------------


def all_members(policy: Policy) -> set[str]:
    """Every member the policy names anywhere: roles, rule approvers, break glass."""
    named = {m for members in policy.roles.values() for m in members}
    named.update(m for rule in policy.rules for m in rule.approvers)
    named.update(policy.break_glass)
    return named


def members_needing_groups(policy: Policy) -> set[str]:
    """The Slack user-group handles the policy names, as Slack spells them (without ``@``)."""
    return {m[1:] for m in all_members(policy) if m.startswith("@")}


def matches(member: str, user_id: str, user_groups: frozenset[str], *, guest: bool = False) -> bool:
    """Whether ``member`` (as the policy names it) includes this person. A guest is included only
    by their own user ID (``guests: refuse``: the caller passes ``guest=False`` when guests are
    allowed)."""
    if member == EVERYONE:
        return not guest
    if member.startswith("@"):
        return not guest and (member[1:] in user_groups or member in user_groups)
    return member == user_id


def any_match(
    members: tuple[str, ...], user_id: str, user_groups: frozenset[str], *, guest: bool = False
) -> bool:
    return any(matches(m, user_id, user_groups, guest=guest) for m in members)


def role_of(policy: Policy, user_id: str, user_groups: frozenset[str], *, guest: bool = False) -> Role:
    """The highest role ``user_id`` holds; ``user_groups`` are the handles of the groups they are in
    (without ``@``; with it is accepted too). A Slack guest holds roles only through their own user
    ID unless the policy says ``guests: allow``."""
    excluded = guest and not policy.guests_allowed
    held = [
        role
        for role, members in policy.roles.items()
        if any_match(members, user_id, user_groups, guest=excluded)
    ]
    return max(held, default=Role.NONE)
