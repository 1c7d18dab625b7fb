"""The policy file (DESIGN.md §5): YAML in, a validated :class:`~bot.domain.policy.Policy` out.

``parse_policy`` reads the YAML node tree rather than plain Python values, so every complaint names
the line of the offending key or value; any problem at all (syntax, shape, a bad member, a value
the constructor cannot build, nesting too deep) becomes a :class:`PolicyError`, and a malformed file
stops start-up with one clear sentence.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import NoReturn

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.policy import (
    DEFAULT_EXPIRES_AFTER,
    MAX_EXPIRES_AFTER,
    ROLE_NAMES,
    Policy,
    Role,
    glob_problem,
    member_problem,
    quote,
)


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
                self.fail(key_node, f"{label}{quote(key)} is not a {noun}; {names}{guess}")
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
        hint = f" (quote it: {quote(node.value)})" if isinstance(node, ScalarNode) and node.value else ""
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
            self.fail(node, f"{path}: {quote(node.value)} cannot be read as {kind} ({exc})")

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
            return quote(str(node.value))
        if node.tag == _BOOL:
            return f"the yes/no value {node.value}"
        if node.tag in (_INT, _FLOAT):
            return f"the number {node.value}"
        return f"{quote(str(node.value))} tagged {node.tag.replace('tag:yaml.org,2002:', '!!')}"

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
            if problem := glob_problem(glob):
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
                f"({MAX_EXPIRES_AFTER // 86400} days)",
            )
        return value

    def flag(self, node: Node) -> bool:
        path = "approval.allow_self_approval"
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.fail(node, f"{path}: expected true or false, not {self.show(node)}")
        return value
