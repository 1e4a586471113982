"""The import graph: no cycles, and dependencies point one way (DESIGN.md, Layers of the code).

Read from the source (every `import`, including the ones deferred inside functions), so a
cycle that only bites when a lazy import runs is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mer_tf", "export", "edge")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            # a module importing its own package's __init__ is not an edge worth a cycle
            graph[name] |= {t for t in targets if t in mods and t != name and not name.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = _graph()
    assert len(graph) > 100  # the walk found the packages
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dependencies_point_one_way():
    # edge -> mer_tf core; export -> mer_tf; mer_tf imports neither except its command line;
    # edge never imports export (TensorFlow)
    wrong = []
    for name, targets in _graph().items():
        if name.startswith(("mer_tf.cli", "mer_tf.commands")):
            continue
        for t in targets:
            if name.startswith("mer_tf") and t.startswith(("export", "edge")):
                wrong.append((name, t))
            if (name.startswith("export") and t.startswith("edge")) or (name.startswith("edge") and t.startswith("export")):
                wrong.append((name, t))
    assert wrong == []


def test_every_import_of_a_project_module_names_one_that_exists():
    # a renamed module breaks here, including imports deferred inside functions, scripts and tests
    mods = _modules()
    files = [p for pkg in (*PACKAGES, "tests", "scripts", "benchmarks") for p in (ROOT / pkg).rglob("*.py")]
    missing = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] in PACKAGES and name not in mods:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert len(files) > 150 and missing == []
