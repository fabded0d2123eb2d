"""The shape of the package: data flows one way, no import cycles, no borrowed private names.

Every ``import`` in ``bot/`` is read from the source (function-local and type-checking
imports included), so a cycle hidden in a function body is found too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> Iterator[tuple[str, ast.AST]]:
    """The project modules ``name`` imports (a name imported from a package counts as the package)."""
    tree = ast.parse(MODULES[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bot":
                    yield alias.name, node
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bot":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield (full if full in MODULES else node.module), node


GRAPH = {name: {target for target, _ in imports(name) if target != name} for name in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_function_local_imports():
    assert "bot.sources.crypto" in GRAPH["bot.wiring"]  # imported inside live_parts()
    assert "bot.charts" in GRAPH["bot.wiring"]


def test_no_import_cycle_between_modules():
    assert cycles() == []


def subpackage(name: str) -> str:
    return ".".join(name.split(".")[:2])


# Who may not import whom: the arrows of sources → store → engine → outbox → chat.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.domain": ("bot.",),
    "bot.markettime": ("bot.sources", "bot.store", "bot.engine", "bot.delivery", "bot.telegram"),
    "bot.sources": ("bot.store", "bot.engine", "bot.delivery", "bot.telegram", "bot.wiring", "bot.replay"),
    "bot.store": ("bot.sources", "bot.engine", "bot.delivery", "bot.telegram", "bot.wiring", "bot.collector"),
    "bot.engine": ("bot.sources", "bot.delivery", "bot.telegram", "bot.wiring", "bot.collector", "bot.replay"),
    "bot.delivery": ("bot.engine", "bot.sources", "bot.telegram", "bot.wiring", "bot.collector"),
    "bot.rules": (
        "bot.sources",
        "bot.store",
        "bot.engine",
        "bot.delivery",
        "bot.telegram",
        "bot.wiring",
        "bot.collector",
    ),
    "bot.render": ("bot.store", "bot.engine", "bot.sources", "bot.delivery", "bot.telegram"),
    "bot.collector": ("bot.engine", "bot.delivery", "bot.telegram"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_only_import_downstream(layer):
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets
        if any(target in (f, f) or target.startswith(f if f.endswith(".") else f + ".") for f in FORBIDDEN[layer])
    )
    assert wrong == []


def test_subpackages_do_not_import_each_other_in_a_circle():
    packages = {subpackage(n) for n in GRAPH}
    edges = {p: {subpackage(t) for n, ts in GRAPH.items() if subpackage(n) == p for t in ts} - {p} for p in packages}
    cyclic = [(a, b) for a in edges for b in edges[a] if a in edges.get(b, set())]
    assert cyclic == []


def private_uses(name: str) -> Iterator[str]:
    """Private names of other project modules that ``name`` reaches for."""
    tree = ast.parse(MODULES[name].read_text())
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bot":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in MODULES:
                    aliases[alias.asname or alias.name] = full
                elif alias.name.startswith("_") and not alias.name.startswith("__") and node.module != name:
                    yield f"{name}: from {node.module} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            yield f"{name}: {aliases[node.value.id]}.{node.attr}"


def test_no_module_uses_another_modules_private_names():
    assert [use for name in MODULES for use in private_uses(name)] == []
