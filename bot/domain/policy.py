"""Who may take, ask for and approve backups (DESIGN.md §5): the policy model and its pure rules.

The decision functions (``role_of``, ``needs_approval``, ``can_decide``) take plain values and never
do I/O; group membership is resolved by the caller. The file format is read by
:mod:`bot.domain.policy_file`; how a policy is explained to people is the Slack adapter's job.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.people import is_user_id

DEFAULT_EXPIRES_AFTER = 1800
# Not in the contract's wording, but a pending request that waits longer than this is a mistake,
# and an unbounded value would overflow the datetime arithmetic that computes the expiry.
MAX_EXPIRES_AFTER = 30 * 24 * 3600


class Role(IntEnum):
    """What a user may do; a user holds the highest role any of their memberships gives."""

    NONE = 0
    REQUESTER = 1
    OPERATOR = 2
    APPROVER = 3


ROLE_NAMES: dict[str, Role] = {
    "requester": Role.REQUESTER,
    "operator": Role.OPERATOR,
    "approver": Role.APPROVER,
}

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


def quote(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(shown, ensure_ascii=False)


class Policy(BaseModel):
    """A validated policy. Build one with :func:`parse_policy`, :func:`load_policy` or
    :meth:`open_default`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: dict[Role, tuple[str, ...]] = Field(default_factory=dict)
    required_for: tuple[str, ...] = ()
    expires_after: int = Field(default=DEFAULT_EXPIRES_AFTER, gt=0, le=MAX_EXPIRES_AFTER)
    allow_self_approval: bool = False
    is_default: bool = False

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
        return cls(roles={Role.OPERATOR: (EVERYONE,)}, is_default=True)

    def members(self, role: Role) -> tuple[str, ...]:
        return self.roles.get(role, ())


def glob_problem(glob: str) -> str | None:
    if not glob:
        return "a glob must not be empty"
    if glob != glob.strip():
        return f"{quote(glob)} starts or ends with spaces, so it never matches an instance"
    return None


# --- decisions -------------------------------------------------------------------------------------


def members_needing_groups(policy: Policy) -> set[str]:
    """The Slack user-group handles the policy names, as Slack spells them (without ``@``)."""
    return {m[1:] for members in policy.roles.values() for m in members if m.startswith("@")}


def _matches(member: str, user_id: str, user_groups: frozenset[str]) -> bool:
    if member == EVERYONE:
        return True
    if member.startswith("@"):
        return member[1:] in user_groups or member in user_groups
    return member == user_id


def role_of(policy: Policy, user_id: str, user_groups: frozenset[str]) -> Role:
    """The highest role ``user_id`` holds; ``user_groups`` are the handles of the groups they are in
    (without ``@``; with it is accepted too)."""
    held = [
        role
        for role, members in policy.roles.items()
        if any(_matches(m, user_id, user_groups) for m in members)
    ]
    return max(held, default=Role.NONE)


def needs_approval(policy: Policy, role: Role, instance_name: str, instance_id: str) -> bool:
    """Whether a backup by someone holding ``role`` waits for an approver.

    Requesters always need one; operators and approvers only on instances whose name or ID matches
    ``approval.required_for`` (``fnmatch`` globs, matched ignoring case). The open default needs none.
    """
    if policy.is_default:
        return False
    if role < Role.OPERATOR:
        return True
    candidates = [c for c in (instance_name, instance_id) if c]
    # Case-insensitive on purpose: a gate on "*prod*" must not be slipped past by "Orders-PROD".
    return any(
        fnmatch.fnmatchcase(c.lower(), glob.lower()) for glob in policy.required_for for c in candidates
    )


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


def can_decide(policy: Policy, approver_role: Role, approver_id: str, requester_id: str) -> Verdict:
    """Only approvers decide, and never on their own request unless ``allow_self_approval``."""
    if approver_role < Role.APPROVER:
        return Verdict(Refusal.NOT_AN_APPROVER)
    if approver_id == requester_id and not policy.allow_self_approval:
        return Verdict(Refusal.OWN_REQUEST)
    return Verdict()


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
