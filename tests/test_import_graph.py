"""The `importer` package's import graph: no cycles between its modules, and every module importable alone.

The graph is read from the source with `ast`: every `import` and `from ... import`, at module level or inside a
function (a lazy import is still a dependency), relative ones resolved; `from package import name` is an edge to
the submodule when `name` is one, else to the package's `__init__`. Importing `a.b.c` runs the `__init__` of `a.b`
first, so it is an edge to `a.b` too, unless `a.b` holds the importing module itself (a package being initialised
while its submodules import each other is how packages work: `importer.api.client` importing
`importer.api.errors`). Imports under `if TYPE_CHECKING:` are left out: they never run, and are how an annotation
names a type without depending on its module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "importer"


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its `__init__.py`)."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of `tree`, wherever it stands, except in the body of `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _closest_module(dotted: str) -> str | None:
    """`dotted` itself when it is a module of the package, else the nearest enclosing one (`a.b.name` -> `a.b`)."""
    while dotted:
        if dotted in MODULES:
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    is_package = MODULES[module].name == "__init__.py"
    if isinstance(node, ast.Import):
        return {t for alias in node.names if (t := _closest_module(alias.name))}
    if node.level:
        base = module.split(".")
        drop = node.level - 1 if is_package else node.level
        base = base[: len(base) - drop] if drop else base
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if not source.startswith("importer"):
        return set()
    out: set[str] = set()
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        target = sub if sub in MODULES else _closest_module(source)
        if target:
            out.add(target)
    return out


def _with_packages(target: str) -> set[str]:
    """`target` and every package whose `__init__` Python runs before it (`a.b.c` -> `a.b.c`, `a.b`, `a`)."""
    parts = target.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)}


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package whose import it runs (itself and its own parent packages left out)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            for target in _targets(module, node):
                edges |= _with_packages(target)
        graph[module] = {t for t in edges if t in MODULES and t != module and not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Each group of modules that import each other, directly or not (a strongly connected component, found with
    Tarjan's algorithm), with its shortest cycle as the path `a -> b -> ... -> a`; shortest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: no recursion limit to meet
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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

    for module in sorted(graph):
        if module not in index:
            visit(module)
    found = []
    for group in groups:
        members = set(group)
        best: list[str] | None = None
        for first in group:  # the shortest way back to `first` inside the group (breadth first)
            paths = {first: [first]}
            queue = [first]
            while queue:
                node = queue.pop(0)
                for child in sorted(graph[node] & members):
                    if child == first:
                        path = paths[node] + [first]
                        if best is None or len(path) < len(best):
                            best = path
                        queue = []
                        break
                    if child not in paths:
                        paths[child] = paths[node] + [child]
                        queue.append(child)
        assert best is not None
        found.append((best, group))
    return sorted(found, key=lambda f: (len(f[0]), f[1]))


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The walker finds module-level, lazy (in a function), relative and package imports, and skips
    TYPE_CHECKING ones."""
    graph = import_graph()
    assert "importer.workbook.reader" in graph["importer.workbook.validate"]  # from importer.workbook.reader import
    assert "importer.cli" in graph["importer.launcher"]  # inside main()
    assert "importer.api.client" in graph["importer.api"]  # the package's __init__ re-exports
    assert "importer.api" in graph["importer.applying"]  # importer.api.errors runs importer/api/__init__.py
    assert "importer.api" not in graph["importer.api.client"]  # its own package: being initialised
    assert all(edges <= set(MODULES) for edges in graph.values())


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "modules of importer import each other:\n" + "\n".join(
        " -> ".join(cycle) + (f"  (in a group of {len(group)}: {', '.join(group)})" if len(group) > 2 else "")
        for cycle, group in found
    )


def _import_alone(modules: list[str]) -> list[tuple[str, str]]:
    """Each module imported in an interpreter of its own (nothing of the package loaded before it): the failures,
    with the last line of their error. One interpreter per module, a small driver starting them in parallel."""
    procs = [
        (
            m,
            subprocess.Popen(
                [sys.executable, "-c", f"import {m}"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for m in modules
    ]
    failed = []
    for module, proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failed.append((module, (err.strip().splitlines() or ["(no message)"])[-1]))
    return failed


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = sorted(MODULES)
    failed: list[tuple[str, str]] = []
    for start in range(0, len(modules), 8):  # 8 interpreters at a time: the machine's cores are shared
        failed += _import_alone(modules[start : start + 8])
    assert not failed, "modules that fail to import alone:\n" + "\n".join(f"{m}: {e}" for m, e in failed)
