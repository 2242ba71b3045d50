"""Static facts about a student module, read without running it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from autograder.submission.callgraph import reachable_loops

NBSP = "\u00a0"
IMPORTERS = frozenset({"__import__", "import_module", "exec", "eval", "compile"})
"""Calls that can import a module whose name the AST cannot see."""


@dataclass
class SourceReport:
    """What reading the module told us; every field is plain JSON data.

    Attributes
    ----------
    syntax_error : str or None
        ``"SyntaxError at svm.py:12: ..."`` when the module does not parse.
    banned : list of str
        ``"torch (line 3)"`` for each banned or computed import.
    notes : list of str
        Advice that costs no points (non-breaking spaces...).
    loops : dict of str to list of str
        For each function ``"f"`` and method ``"Class.f"``, the loops and the
        unresolvable dispatch found in it or in anything it reaches inside
        the module (see ``callgraph``).
    """

    syntax_error: str | None = None
    banned: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loops: dict[str, list[str]] = field(default_factory=dict)

    def loops_in(self, qualname: str) -> list[str]:
        """Loops reached from function ``"f"`` or method ``"Class.f"``, as
        ``"for (line 12)"`` or ``"for (line 30, in helper, reached through f -> helper)"``.

        Returns ``["not found"]`` when the function is not defined.
        """
        return self.loops.get(qualname, ["not found"])


def inspect_source(path: Path, banned: frozenset[str]) -> SourceReport:
    """Parse ``path`` and report syntax errors, banned imports and oddities."""
    report = SourceReport()
    text = path.read_bytes().decode("utf-8", "replace")
    if NBSP in text:
        lines = [str(n) for n, line in enumerate(text.splitlines(), 1) if NBSP in line]
        report.notes.append(
            f"{path.name} contains non-breaking spaces (U+00A0) on line(s) {', '.join(lines[:8])}: "
            "code pasted from a web page often does; retype those spaces as plain ones"
        )
    try:
        tree = ast.parse(text, filename=path.name)
    except SyntaxError as error:
        nbsp = " (a non-breaking space U+00A0 is on that line)" if NBSP in (error.text or "") else ""
        report.syntax_error = f"SyntaxError at {path.name}:{error.lineno}: {error.msg}{nbsp}"
        return report
    except (ValueError, RecursionError, MemoryError) as error:
        report.syntax_error = f"the module cannot be parsed: {type(error).__name__}"
        return report
    report.banned = _banned_imports(tree, banned)
    report.loops = reachable_loops(tree)
    return report


def _banned_imports(tree: ast.Module, banned: frozenset[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and _callee(node) in IMPORTERS:
            names = _imported_by_call(node)
        found += [f"{name} (line {node.lineno})" for name in names if name.partition(".")[0] in banned]
        if names == ["<computed>"]:
            found.append(f"{_callee(node)}() of a name or code computed at run time (line {node.lineno})")
    return found


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _imported_by_call(call: ast.Call) -> list[str]:
    """The module a dynamic import names, or ``<computed>`` when not a literal."""
    if _callee(call) in ("exec", "eval", "compile"):
        code = call.args[0] if call.args else None
        if isinstance(code, ast.Constant) and isinstance(code.value, str):
            return _literal_code_imports(code.value)
        return ["<computed>"]
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return [call.args[0].value]
    return ["<computed>"]


def _literal_code_imports(code: str) -> list[str]:
    """Modules imported by a literal string passed to exec, eval or compile."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names] + [
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    ]
