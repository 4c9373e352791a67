"""Where a problem is, said the way an author reads the file: its line, and items by their ids.

The loader finds problems at paths such as `sections[0].items[3].bands[1].at_most`. An author
looks for `section getting_through, item rings` at line 14, so each problem is written as

    phone.yaml:14: section getting_through, item rings: bands[1].at_most: expected a number, got "three"

The line comes from the YAML's own node marks (PyYAML's composer, which msgspec reads YAML
through); the ids come from the file as written, so a broken item is still named by its id.
"""

import re
from typing import Any

import yaml

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def steps(path: str) -> list[str | int]:
    """`sections[0].items[3].at_most` -> ["sections", 0, "items", 3, "at_most"]."""
    return [int(index) if index else key for key, index in _STEP.findall(path)]


class Places:
    """One file's places: `say(path, message)` gives the problem line for a path in it."""

    def __init__(self, filename: str, source: bytes, raw: Any):
        self.filename, self.raw = filename, raw
        try:
            self.root = yaml.compose(source, Loader=_Loader)
        except yaml.YAMLError:
            self.root = None

    def line(self, path: str) -> int | None:
        """The 1-based line of the deepest part of `path` the file has (for a missing key: its mapping's)."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for step in steps(path):
            if isinstance(step, int) and isinstance(node, yaml.SequenceNode) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1
            elif isinstance(step, str) and isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step), None)
                if pair is None:
                    return line
                line, node = pair[0].start_mark.line + 1, pair[1]
            else:
                return line
        return line

    def words(self, path: str) -> str:
        """`sections[0].items[3].bands[1]` -> `section s, item rings: bands[1]` (indexes where an id is missing)."""
        parts = steps(path)
        named: list[str] = []
        raw = self.raw
        while len(parts) >= 2 and parts[0] in ("sections", "items") and isinstance(parts[1], int):
            kind, index = parts[0], parts[1]
            entry = raw.get(kind)[index] if isinstance(raw, dict) and isinstance(raw.get(kind), list) and index < len(raw[kind]) else None
            ident = entry.get("id") if isinstance(entry, dict) else None
            named.append(f"{kind[:-1]} {ident}" if isinstance(ident, str) and ident else f"{kind}[{index}]")
            raw, parts = entry, parts[2:]
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")
        if not named:
            return rest
        return ", ".join(named) + (f": {rest}" if rest else "")

    def say(self, path: str, message: str) -> str:
        line = self.line(path) if path else None
        where = f"{self.filename}:{line}" if line else self.filename
        words = self.words(path)
        return f"{where}: {words}: {message}" if words else f"{where}: {message}"
