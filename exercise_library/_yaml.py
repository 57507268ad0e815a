"""Read one YAML data file, keeping line numbers so errors can point at them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

try:  # libyaml's parser is about five times faster; same safe constructor
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

Loc = tuple[str, ...]


class YamlProblem(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class YamlDocument:
    data: object
    lines: Mapping[Loc, int]

    def line_for(self, loc: Sequence[str | int]) -> int | None:
        """1-based line of the deepest known node on ``loc`` (a pydantic-style path)."""
        key = tuple(str(part) for part in loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())


def read_yaml(text: str) -> YamlDocument:
    """Parse ``text`` with the safe loader; refuse empty documents and duplicate keys."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlProblem("the file is empty")
        lines: dict[Loc, int] = {}
        _index(node, (), lines, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlProblem(f"malformed YAML: {problem}", mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"malformed YAML: {exc}") from exc
    finally:
        loader.dispose()
    return YamlDocument(data=data, lines=lines)


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], seen: set[int]) -> None:
    # Anchors and aliases can make the node graph cyclic.
    if id(node) in seen:
        return
    seen.add(id(node))
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in keys and key != "<<":
                # PyYAML silently keeps the last duplicate; in a hand-edited
                # clinical file that hides a mistake, so refuse it.
                raise YamlProblem(f"duplicate key {key!r} (first on line {keys[key]})", line)
            keys[key] = line
            lines[(*loc, key)] = line
            _index(value_node, (*loc, key), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*loc, str(index)), lines, seen)
