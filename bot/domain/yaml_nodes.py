"""Reading a YAML node tree with complaints that name the line: the shapes a configuration file
is made of (mappings with known keys, lists, text, numbers, yes/no), each read or refused."""

from __future__ import annotations

import difflib
import json
from typing import NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_FLOAT = "tag:yaml.org,2002:float"


class FileError(Exception):
    """The file cannot be used. ``str()`` names the file, the line and the problem."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source} line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


def quote(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(shown, ensure_ascii=False)


class NodeReader:
    """Walks a composed node tree; every failure carries the line of the node at fault."""

    error: type[FileError] = FileError

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        self._source = source
        self._loader = loader

    def fail(self, node: Node, problem: str) -> NoReturn:
        raise self.error(self._source, node.start_mark.line + 1, problem)

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

    def whole_number(self, node: Node, path: str, example: str, low: int, high: int, unit: str = "") -> int:
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        of = f" of {unit}" if unit else ""
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, f"{path}: expected a whole number{of} such as {example}, not {self.show(node)}")
        if not low <= value <= high:
            self.fail(node, f"{path}: {value} is not between {low} and {high}{' ' + unit if unit else ''}")
        return value

    def flag(self, node: Node, path: str) -> bool:
        value = self.scalar(node, path) if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.fail(node, f"{path}: expected true or false, not {self.show(node)}")
        return value

    def choice(self, node: Node, path: str, allowed: tuple[str, ...]) -> str:
        value = self.text(node, path)
        if value not in allowed:
            close = difflib.get_close_matches(value, allowed, n=1)
            guess = f"; did you mean {close[0]}?" if close else ""
            self.fail(node, f"{path}: {quote(value)} is not one of {', '.join(allowed)}{guess}")
        return value
