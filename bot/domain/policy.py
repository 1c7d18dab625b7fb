"""Who may take, ask for and approve backups: the policy file (DESIGN.md §5) and its pure rules.

``parse_policy`` reads the YAML node tree rather than plain Python values, so every complaint names
the line of the offending key or value; any problem at all (syntax, shape, a bad member, a value
the constructor cannot build, nesting too deep) becomes a :class:`PolicyError`, and a malformed file
stops start-up with one clear sentence. The decision functions (``role_of``, ``needs_approval``,
``can_decide``) take plain values and never do I/O; group membership is resolved by the caller.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.i18n import t
from bot.slack.text import escape, format_duration

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
_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,}")
# Slack broadcasts look like handles but are not user groups; a policy that names one means "*".
_BROADCASTS = frozenset({"@everyone", "@channel", "@here"})


def member_problem(member: str) -> str | None:
    """``None`` for a valid member (``"*"``, ``"@handle"``, a user ID), else what is wrong with it."""
    if member == EVERYONE or _USER_ID_RE.fullmatch(member):
        return None
    if _HANDLE_RE.fullmatch(member) and member not in _BROADCASTS:
        return None
    problem = f'{_quote(member)} is not "*", an "@handle" or a user ID like U0123ABCDE'
    hint = _member_hint(member)
    return f"{problem} ({hint})" if hint else problem


def _member_hint(member: str) -> str | None:
    bare = member.strip()
    if bare.lower() in _BROADCASTS or bare.lower() in {"everyone", "all", "anyone", "@all"}:
        return 'write "*" for everyone'
    if bare != member:
        return "remove the spaces"
    if bare.startswith("<@") and bare.endswith(">") and _USER_ID_RE.fullmatch(bare[2:-1].split("|")[0]):
        return f"write the user ID alone: {_quote(bare[2:-1].split('|')[0])}"
    if bare.startswith("<!subteam^"):
        return "write the user group's @handle instead of its mention"
    if bare.startswith("@") and _USER_ID_RE.fullmatch(bare[1:]):
        return f"a user ID is written without @: {_quote(bare[1:])}"
    if bare.startswith("@") and _HANDLE_RE.fullmatch(bare.lower()):
        return f"Slack handles are lower case: {_quote(bare.lower())}"
    if _USER_ID_RE.fullmatch(bare.upper()):
        return f"user IDs are upper case: {_quote(bare.upper())}"
    if _HANDLE_RE.fullmatch("@" + bare):
        return f"a user group is written with @: {_quote('@' + bare)}"
    return None


def _quote(text: str, limit: int = 60) -> str:
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
            if problem := _glob_problem(glob):
                raise ValueError(problem)
        return globs

    @classmethod
    def open_default(cls) -> Policy:
        """No policy file: everyone is an operator and nothing needs an approval."""
        return cls(roles={Role.OPERATOR: (EVERYONE,)}, is_default=True)

    def members(self, role: Role) -> tuple[str, ...]:
        return self.roles.get(role, ())


def _glob_problem(glob: str) -> str | None:
    if not glob:
        return "a glob must not be empty"
    if glob != glob.strip():
        return f"{_quote(glob)} starts or ends with spaces, so it never matches an instance"
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


def _mention(member: str) -> str:
    return member if member.startswith("@") else f"<@{member}>"


def who_can_help(policy: Policy, role_needed: Role) -> list[str]:
    """Slack mrkdwn for the members holding ``role_needed`` or a higher role (approvers create like
    operators): user IDs as ``<@U…>``, groups as plain ``@handle`` (map them to ``<!subteam^ID>``
    where the ID is known). ``"*"`` is left out: it is never turned into a broadcast."""
    wanted = max(role_needed, Role.REQUESTER)
    seen: dict[str, None] = {}
    for role in sorted(policy.roles):
        if role >= wanted:
            seen.update((_mention(m), None) for m in policy.roles[role] if m != EVERYONE)
    return list(seen)


def _who(members: Iterable[str], lang: str) -> str:
    members = list(members)
    if EVERYONE in members:
        return t(lang, "policy.everyone")
    return ", ".join(_mention(m) for m in members)


def describe(policy: Policy, lang: str) -> list[str]:
    """Short human lines for ``/backup help``, in ``lang`` (Slack mrkdwn, free text escaped)."""
    if policy.is_default:
        return [t(lang, "policy.open_default")]
    lines: list[str] = []
    requesters, operators, approvers = (policy.members(r) for r in ROLE_NAMES.values())
    if requesters:
        lines.append(t(lang, "policy.requesters", who=_who(requesters, lang)))
    if operators:
        key = "policy.operators_except" if policy.required_for else "policy.operators"
        lines.append(t(lang, key, who=_who(operators, lang)))
    if approvers:
        lines.append(t(lang, "policy.approvers", who=_who(approvers, lang)))
    expiry = format_duration(policy.expires_after, lang)
    if policy.required_for:
        globs = ", ".join(f"`{escape(g)}`" for g in policy.required_for)
        lines.append(t(lang, "policy.required_for", globs=globs, expiry=expiry))
    elif requesters:
        lines.append(t(lang, "policy.no_gate", expiry=expiry))
    else:
        lines.append(t(lang, "policy.nothing_needs_approval"))
    if policy.required_for or requesters:
        key = "policy.self_approval" if policy.allow_self_approval else "policy.no_self_approval"
        lines.append(t(lang, key))
    if not any(policy.roles.values()):
        lines.append(t(lang, "policy.nobody"))
    elif not any(EVERYONE in members for members in policy.roles.values()):
        lines.append(t(lang, "policy.others_refused"))
    return lines


# --- the file --------------------------------------------------------------------------------------


class PolicyError(Exception):
    """The policy file cannot be used. ``str()`` names the file, the line and the problem."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source} line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


def load_policy(path: str | Path) -> Policy:
    """Read and parse a policy file; any problem (unreadable, not UTF-8, malformed) is a PolicyError."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(source, None, f"cannot read the policy file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PolicyError(source, line, "the policy file is not UTF-8 text") from exc
    return parse_policy(text, source)


_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a new line
_TOP_KEYS = ("roles", "approval")
_APPROVAL_KEYS = ("required_for", "expires_after", "allow_self_approval")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_FLOAT = "tag:yaml.org,2002:float"


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy YAML. Raises :class:`PolicyError` (never anything else) naming the line."""
    try:
        loader = yaml.SafeLoader(text)  # the reader already rejects unprintable characters here
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(source, line, _syntax_problem(exc)) from exc
    except yaml.reader.ReaderError as exc:
        line = len(_YAML_BREAKS.findall(text, 0, exc.position)) + 1
        raise PolicyError(source, line, f"not valid YAML: {_reader_problem(exc)}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(source, None, f"not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise PolicyError(source, None, "not valid YAML: nested too deeply") from exc
    try:
        if root is None:
            raise PolicyError(source, 1, "the policy file is empty (the README shows the format)")
        return _Reader(source, loader).policy(root)
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError) -> str:
    said = "; ".join(part for part in (exc.context, exc.problem) if part)
    problem = f"not valid YAML ({said})"
    if "alias" in said:
        return problem + '; a bare * starts a YAML alias: write "*" and globs like "*prod*" in quotes'
    if "'@'" in said:
        return problem + '; a bare @ cannot start a YAML value: write "@handle" in quotes'
    if "'\\t'" in said:
        return problem + "; indent with spaces, not tabs"
    return problem


def _reader_problem(exc: yaml.reader.ReaderError) -> str:
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return f"the character U+{ord(char):04X} is not allowed"


class _Reader:
    """Walks the composed node tree; every failure carries the line of the node at fault."""

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        self._source = source
        self._loader = loader
        self._role_keys: dict[Role, Node] = {}

    def fail(self, node: Node, problem: str) -> NoReturn:
        raise PolicyError(self._source, node.start_mark.line + 1, problem)

    def policy(self, root: Node) -> Policy:
        top = self.mapping(root, "", _TOP_KEYS, "top-level key")
        if "roles" not in top:
            self.fail(root, "roles: missing; the policy must say who may take backups (see the README)")
        roles_key, roles_node = top["roles"]
        roles = self.roles(roles_node)

        required_for: tuple[str, ...] = ()
        expires_after = DEFAULT_EXPIRES_AFTER
        allow_self_approval = False
        if "approval" in top:
            approval = self.mapping(top["approval"][1], "approval", _APPROVAL_KEYS, "key")
            if "required_for" in approval:
                required_for = self.globs(approval["required_for"][1])
            if "expires_after" in approval:
                expires_after = self.seconds(approval["expires_after"][1])
            if "allow_self_approval" in approval:
                allow_self_approval = self.flag(approval["allow_self_approval"][1])

        if not roles[Role.APPROVER] and (roles[Role.REQUESTER] or required_for):
            at = self._role_keys.get(Role.APPROVER, roles_key)
            self.fail(
                at,
                "roles.approver: nobody holds the approver role, so a request that needs an approval "
                "(every requester's, and any on approval.required_for) could never be approved",
            )
        try:
            return Policy(
                roles=roles,
                required_for=required_for,
                expires_after=expires_after,
                allow_self_approval=allow_self_approval,
            )
        except ValidationError as exc:  # pragma: no cover - the checks above are stricter
            self.fail(root, f"invalid policy: {exc.errors()[0]['msg']}")

    # --- shapes --------------------------------------------------------------------------------

    def mapping(
        self, node: Node, path: str, allowed: tuple[str, ...], noun: str
    ) -> dict[str, tuple[Node, Node]]:
        """Keys (each at most once, each one of ``allowed``) → (key node, value node)."""
        label = f"{path}: " if path else ""
        names = f"the {noun}s are {', '.join(allowed)}"
        if not isinstance(node, MappingNode):
            whole = f"{label}expected a mapping" if path else "the policy must be a mapping"
            self.fail(node, f"{whole} ({names}), not {self.show(node)}")
        found: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.fail(key_node, f"{label}{self.show(key_node)} is not a {noun} name; {names}")
            key = str(key_node.value)
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                guess = f"; did you mean {close[0]}?" if close else ""
                self.fail(key_node, f"{label}{_quote(key)} is not a {noun}; {names}{guess}")
            if key in found:
                self.fail(key_node, f"{label}{key} appears twice (YAML would silently keep only the last)")
            found[key] = (key_node, value_node)
        return found

    def sequence(self, node: Node, path: str, example: str) -> list[Node]:
        if isinstance(node, SequenceNode):
            return list(node.value)
        hint = " (write [] for none)" if self.is_null(node) else ""
        self.fail(node, f"{path}: expected a list such as {example}, not {self.show(node)}{hint}")

    def text(self, node: Node, path: str) -> str:
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return str(node.value)
        hint = f" (quote it: {_quote(node.value)})" if isinstance(node, ScalarNode) and node.value else ""
        self.fail(node, f"{path}: expected text, not {self.show(node)}{hint}")

    def scalar(self, node: ScalarNode, path: str) -> object:
        """The Python value of a plain scalar; only the types a policy can use are built."""
        if node.tag not in (_STR, _INT, _BOOL, _NULL, _FLOAT):
            self.fail(node, f"{path}: {self.show(node)}: a policy has no use for that type")
        try:
            return self._loader.construct_object(node)
        # SafeConstructor raises assorted built-in errors on explicitly tagged junk (``!!int ""`` is
        # an IndexError, ``!!bool maybe`` a KeyError): every one of them is a problem in the file.
        except Exception as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            self.fail(node, f"{path}: {_quote(node.value)} cannot be read as {kind} ({exc})")

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _NULL

    def show(self, node: Node) -> str:
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        if not isinstance(node, ScalarNode):  # pragma: no cover - the composer builds only these
            return "an unknown YAML node"
        if node.tag == _NULL:
            return "nothing"
        if node.tag == _STR:
            return _quote(str(node.value))
        if node.tag == _BOOL:
            return f"the yes/no value {node.value}"
        if node.tag in (_INT, _FLOAT):
            return f"the number {node.value}"
        return f"{_quote(str(node.value))} tagged {node.tag.replace('tag:yaml.org,2002:', '!!')}"

    # --- sections ------------------------------------------------------------------------------

    def roles(self, node: Node) -> dict[Role, tuple[str, ...]]:
        found = self.mapping(node, "roles", tuple(ROLE_NAMES), "role")
        self._role_keys = {ROLE_NAMES[name]: key for name, (key, _) in found.items()}
        roles: dict[Role, tuple[str, ...]] = dict.fromkeys(ROLE_NAMES.values(), ())
        for name, (_, value) in found.items():
            path = f"roles.{name}"
            members: dict[str, None] = {}
            for item in self.sequence(value, path, '["*"], ["@db-oncall"] or ["U0123ABCDE"]'):
                member = self.text(item, path)
                if problem := member_problem(member):
                    self.fail(item, f"{path}: {problem}")
                members[member] = None
            roles[ROLE_NAMES[name]] = tuple(members)
        return roles

    def globs(self, node: Node) -> tuple[str, ...]:
        path = "approval.required_for"
        globs: dict[str, None] = {}
        for item in self.sequence(node, path, '["*prod*"]'):
            glob = self.text(item, path)
            if problem := _glob_problem(glob):
                self.fail(item, f"{path}: {problem}")
            globs[glob] = None
        return tuple(globs)

    def seconds(self, node: Node) -> int:
        path = "approval.expires_after"
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, f"{path}: expected a whole number of seconds such as 1800, not {self.show(node)}")
        if not 0 < value <= MAX_EXPIRES_AFTER:
            self.fail(
                node,
                f"{path}: {value} is not between 1 and {MAX_EXPIRES_AFTER} seconds "
                f"({format_duration(MAX_EXPIRES_AFTER)})",
            )
        return value

    def flag(self, node: Node) -> bool:
        path = "approval.allow_self_approval"
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.fail(node, f"{path}: expected true or false, not {self.show(node)}")
        return value
