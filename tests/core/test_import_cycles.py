"""No module of the package imports, directly or through others, a module that
imports it back (issue 14): following the code from grading down to checks and
the sandbox never climbs back up.

Imports are read from the source (``ast``), wherever they stand: at the top of
a module or inside a function, since both tie the two modules together. Only
the imports under ``if TYPE_CHECKING:`` are left out: they never run, and they
let the data model name the type its functions receive (``checks.base`` names
``checks.session.Session`` for ``Check.run``).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "autograder"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:``."""
    guarded = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
    ]
    return {id(inner) for node in guarded for statement in node.body for inner in ast.walk(statement)}


def imported(name: str, annotations: bool = False) -> set[str]:
    """The package's modules that module ``name`` imports (a package's
    ``__init__`` when a name is taken from it, not one of its modules); with
    ``annotations``, also those imported under ``if TYPE_CHECKING:``."""
    tree = ast.parse(MODULES[name].read_text())
    skipped = set() if annotations else _type_checking_nodes(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in MODULES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found - {name}


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_cycle_through_a_third_module():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == {frozenset({"a", "b", "c"})}


def test_no_module_imports_one_that_imports_it_back():
    graph = {name: imported(name) for name in MODULES}
    assert cycles(graph) == set()


def test_the_runtime_path_has_no_cycle():
    """The cycles issue 14 names are gone: checks <-> grading (then through an
    annotation: ``Session`` held grading's ``ExerciseRun``), child <-> isolation,
    isolation <-> probe_cache, batch <-> similarity <-> its page."""
    assert "autograder.grading" not in imported("autograder.checks.base", annotations=True)
    assert "autograder.grading" not in imported("autograder.checks.session", annotations=True)
    assert "autograder.sandbox.child" not in imported("autograder.sandbox.isolation")
    assert "autograder.sandbox.isolation" not in imported("autograder.sandbox.runroot")
    assert "autograder.sandbox.isolation" not in imported("autograder.sandbox.probe_cache", annotations=True)
    assert "autograder.batch" not in imported("autograder.similarity")
    assert "autograder.similarity" not in imported("autograder.reports.similarity_html", annotations=True)
