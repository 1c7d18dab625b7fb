"""The policy file (DESIGN.md §5): YAML in, a validated :class:`~bot.domain.policy.Policy` out.

``parse_policy`` reads the YAML node tree rather than plain Python values, so every complaint names
the line of the offending key or value; any problem at all (syntax, shape, a bad member, a value
the constructor cannot build, nesting too deep) becomes a :class:`PolicyError`, and a malformed file
stops start-up with one clear sentence.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError
from yaml.nodes import Node

from bot.domain.lifetimes import parse_keep
from bot.domain.policy import (
    DEFAULT_EXPIRES_AFTER,
    EVERYONE,
    MAX_APPROVALS,
    MAX_EXPIRES_AFTER,
    ROLE_NAMES,
    ApprovalRule,
    Notify,
    Policy,
    Role,
    glob_problem,
    member_problem,
)
from bot.domain.yaml_nodes import FileError, NodeReader, quote


class PolicyError(FileError):
    """The policy file cannot be used. ``str()`` names the file, the line and the problem."""


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
_TOP_KEYS = ("roles", "approval", "guests", "retention")
_RETENTION_KEYS = ("default", "max")
_APPROVAL_KEYS = (
    "required_for",
    "expires_after",
    "allow_self_approval",
    "rules",
    "break_glass",
    "notify",
)
_RULE_KEYS = ("match", "approvers", "min_approvals")
_BREAK_GLASS_KEYS = ("allowed",)
_MEMBER_EXAMPLE = '["*"], ["@db-oncall"] or ["U0123ABCDE"]'


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
        return _PolicyReader(source, loader).policy(root)
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


class _PolicyReader(NodeReader):
    error = PolicyError

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        super().__init__(source, loader)
        self._role_keys: dict[Role, Node] = {}

    def policy(self, root: Node) -> Policy:
        top = self.mapping(root, "", _TOP_KEYS, "top-level key")
        if "roles" not in top:
            self.fail(root, "roles: missing; the policy must say who may take backups (see the README)")
        roles_key, roles_node = top["roles"]
        roles = self.roles(roles_node)
        fields: dict[str, object] = {"roles": roles}
        rules: tuple[ApprovalRule, ...] = ()
        break_glass: tuple[str, ...] = ()
        break_glass_at: Node | None = None
        if "approval" in top:
            approval = self.mapping(top["approval"][1], "approval", _APPROVAL_KEYS, "key")
            if "required_for" in approval:
                fields["required_for"] = self.globs(approval["required_for"][1], "approval.required_for")
            if "expires_after" in approval:
                fields["expires_after"] = self.seconds(approval["expires_after"][1])
            if "allow_self_approval" in approval:
                fields["allow_self_approval"] = self.flag(
                    approval["allow_self_approval"][1], "approval.allow_self_approval"
                )
            if "rules" in approval:
                rules = self.rules(approval["rules"][1])
            if "break_glass" in approval:
                break_glass_at = approval["break_glass"][0]
                break_glass = self.break_glass(approval["break_glass"][1])
            if "notify" in approval:
                choices = tuple(n.value for n in Notify)
                fields["notify"] = Notify(self.choice(approval["notify"][1], "approval.notify", choices))
        if "guests" in top:
            fields["guests_allowed"] = self.choice(top["guests"][1], "guests", ("refuse", "allow")) == "allow"
        if "retention" in top:
            fields.update(self.retention(top["retention"][1]))
        fields.update(rules=rules, break_glass=break_glass)

        required_for = fields.get("required_for", ())
        if not roles[Role.APPROVER] and (roles[Role.REQUESTER] or required_for):
            at = self._role_keys.get(Role.APPROVER, roles_key)
            self.fail(
                at,
                "roles.approver: nobody holds the approver role, so a request that needs an approval "
                "(every requester's, and any on approval.required_for) could never be approved",
            )
        if break_glass_at is not None and not (rules or required_for or roles[Role.REQUESTER]):
            self.fail(
                break_glass_at,
                "approval.break_glass: nothing in this policy ever waits for an approval "
                "(no approval.rules, no approval.required_for, no requesters), so there is no glass to break",
            )
        try:
            return Policy.model_validate(
                {**fields, "expires_after": fields.get("expires_after", DEFAULT_EXPIRES_AFTER)}
            )
        except ValidationError as exc:  # pragma: no cover - the checks above are stricter
            self.fail(root, f"invalid policy: {exc.errors()[0]['msg']}")

    # --- sections ------------------------------------------------------------------------------

    def members(self, node: Node, path: str) -> tuple[str, ...]:
        members: dict[str, None] = {}
        for item in self.sequence(node, path, _MEMBER_EXAMPLE):
            member = self.text(item, path)
            if problem := member_problem(member):
                self.fail(item, f"{path}: {problem}")
            members[member] = None
        return tuple(members)

    def roles(self, node: Node) -> dict[Role, tuple[str, ...]]:
        found = self.mapping(node, "roles", tuple(ROLE_NAMES), "role")
        self._role_keys = {ROLE_NAMES[name]: key for name, (key, _) in found.items()}
        roles: dict[Role, tuple[str, ...]] = dict.fromkeys(ROLE_NAMES.values(), ())
        for name, (_, value) in found.items():
            roles[ROLE_NAMES[name]] = self.members(value, f"roles.{name}")
        return roles

    def globs(self, node: Node, path: str) -> tuple[str, ...]:
        globs: dict[str, None] = {}
        for item in self.sequence(node, path, '["*prod*"]'):
            glob = self.text(item, path)
            if problem := glob_problem(glob):
                self.fail(item, f"{path}: {problem}")
            globs[glob] = None
        return tuple(globs)

    def seconds(self, node: Node) -> int:
        return self.whole_number(node, "approval.expires_after", "1800", 1, MAX_EXPIRES_AFTER, "seconds")

    def rules(self, node: Node) -> tuple[ApprovalRule, ...]:
        rules: list[ApprovalRule] = []
        items = self.sequence(node, "approval.rules", '[{match: ["*prod*"], approvers: ["@db-managers"]}]')
        for index, item in enumerate(items):
            path = f"approval.rules[{index}]"
            found = self.mapping(item, path, _RULE_KEYS, "key")
            for needed in ("match", "approvers"):
                if needed not in found:
                    self.fail(
                        item, f"{path}: {needed} is missing (a rule has match, approvers and min_approvals)"
                    )
            match = self.globs(found["match"][1], f"{path}.match")
            approvers = self.members(found["approvers"][1], f"{path}.approvers")
            if not match:
                self.fail(found["match"][1], f"{path}.match: a rule needs at least one glob")
            if not approvers:
                self.fail(found["approvers"][1], f"{path}.approvers: a rule needs at least one approver")
            minimum = 1
            if "min_approvals" in found:
                minimum = self.whole_number(
                    found["min_approvals"][1], f"{path}.min_approvals", "2", 1, MAX_APPROVALS
                )
                named = [a for a in approvers if a != EVERYONE and not a.startswith("@")]
                if len(named) == len(approvers) and minimum > len(named):
                    self.fail(
                        found["min_approvals"][1],
                        f"{path}.min_approvals: {minimum} distinct approvals can never come from "
                        f"the {len(named)} approver(s) listed",
                    )
            rules.append(ApprovalRule(match=match, approvers=approvers, min_approvals=minimum))
        return tuple(rules)

    def retention(self, node: Node) -> dict[str, int | None]:
        found = self.mapping(node, "retention", _RETENTION_KEYS, "key")
        default = (
            self.keep(found["default"][1], "retention.default", forever=True) if "default" in found else None
        )
        longest = self.keep(found["max"][1], "retention.max", forever=False) if "max" in found else None
        if default is not None and longest is not None and default > longest:
            self.fail(found["default"][1], "retention.default: longer than retention.max")
        return {"keep_default": default, "keep_max": longest}

    def keep(self, node: Node, path: str, *, forever: bool) -> int | None:
        text = self.text(node, path)
        keep = parse_keep(text)
        if keep is None or (keep.forever and not forever):
            also = ' or "forever"' if forever else ""
            self.fail(node, f"{path}: {quote(text)} is not a duration such as 14d, 12h or 2w{also}")
        return None if keep.seconds is None else int(keep.seconds)

    def break_glass(self, node: Node) -> tuple[str, ...]:
        found = self.mapping(node, "approval.break_glass", _BREAK_GLASS_KEYS, "key")
        if "allowed" not in found:
            self.fail(node, "approval.break_glass: allowed is missing (who may break the glass)")
        allowed = self.members(found["allowed"][1], "approval.break_glass.allowed")
        if not allowed:
            self.fail(found["allowed"][1], "approval.break_glass.allowed: name at least one person or group")
        return allowed
