"""The import-layer checker behind tests/test_layers.py: reads every import of a source tree with `ast`.

Every `import`, `from … import` (at module level, inside functions, under `if TYPE_CHECKING`) and
every `importlib.import_module("…")` call counts. A call with a computed name is reported too: an
import the checker cannot read is an import nobody can check.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Lowest first. A module may import its own tier and the tiers below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("config",),
    ("models", "i18n"),
    ("sms", "menus"),
    ("ussd_app",),
    ("wsgi",),
    ("bench", "scripts", "migrations"),
)


@dataclass(frozen=True)
class Import:
    """One import statement of one module: who imports what, and on which line."""

    importer: str
    imported: str
    line: int


def modules(root: Path, packages: set[str]) -> dict[str, Path]:
    """Dotted name → file, for every .py under the top-level packages and modules named."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] not in packages or any(p.startswith(".") for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import | str]:
    """The project modules `name` imports (Import), and problems (str) for unreadable dynamic imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from sms.commands import texts` imports the submodule when there is one.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        elif isinstance(node, ast.Call) and _is_import_module(node.func):
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                targets = [argument.value]
            else:
                yield f"{path}:{node.lineno}: importlib.import_module with a computed name"
        for target in targets:
            resolved = _project_module(target, known)
            if resolved is not None and resolved != name:
                yield Import(name, resolved, node.lineno)


def _is_import_module(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id == "import_module"


def _project_module(target: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `target` names (an attribute import resolves to its module)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def tier_of(module: str, layers=LAYERS) -> int:
    """The index of the tier holding the module's top-level package."""
    top = module.split(".")[0]
    for index, tier in enumerate(layers):
        if top in tier:
            return index
    raise KeyError(module)


def check(root: Path, layers=LAYERS) -> list[str]:
    """Every upward import, every circle between files and every unreadable import under `root`."""
    known = modules(root, {top for tier in layers for top in tier})
    problems: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for found in imports_of(name, path, known):
            if isinstance(found, str):
                problems.append(found)
                continue
            graph[name].add(found.imported)
            if tier_of(found.imported, layers) > tier_of(name, layers):
                problems.append(f"{path}:{found.line}: {name} imports {found.imported}, a layer above it")
    for group in circles(graph):
        problems.append(f"circle among {', '.join(group)}: {' → '.join(_path_through(group, graph))}")
    return problems


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _path_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A readable cycle inside a group: from its first module back to it."""
    members = set(group)
    start = group[0]
    path, seen = [start], {start}
    node = start
    while True:
        following = sorted(graph[node] & members)
        if start in following and len(path) > 1:
            return [*path, start]
        nxt = next((n for n in following if n not in seen), None)
        if nxt is None:
            return [*path, "…", start]
        path.append(nxt)
        seen.add(nxt)
        node = nxt
