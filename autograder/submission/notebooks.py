"""Turn submitted Jupyter notebooks into exercise modules, without running them.

Which notebook feeds which exercise: a notebook named ``<id>.ipynb`` feeds
exercise ``<id>``; any other notebook feeds every exercise whose contract
names (``svm_loss_naive``, ``KNearestNeighbor``...) it defines. Several
notebooks feeding one exercise are read in name order.

What is taken: the code cells, read with nbformat; IPython magics and shell
escapes (lines starting with ``%`` or ``!``, ``x = !ls``, cells starting
with ``%%``) are blanked; each cell is parsed with ``ast``. Of the top-level
statements, only the definitions the contract needs are kept: the contract's
functions and classes, the functions, classes and literal constants they
use, and the imports binding names they use (the last definition of a name
wins, as when the notebook was run top to bottom). Every other statement
(training runs, plots, prints) is dropped, so nothing of the notebook's
experiments runs when the module is imported. The module is then graded
like any other.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK_BYTES = 32 * 1024**2
"""Largest notebook read. Code is small; a notebook with its plots as PNG
outputs is a few MB; beyond this the reading alone would cost too much."""

ASSIGNED_NAMES = re.compile(r"[\w.,\s\[\]]+")
"""What may stand left of ``=`` in ``x, y = !ls`` (matched whole: one character
class, so matching is linear in the line's length)."""


@dataclass(frozen=True)
class Piece:
    """One kept-able top-level statement of a notebook.

    Attributes
    ----------
    binds : frozenset of str
        Names the statement defines (a function, class, constant or import).
    uses : frozenset of str
        Names it refers to.
    text : str
        Its source, decorators included.
    origin : str
        ``"svm.ipynb, cell 4"``.
    is_import : bool
        Imports go first in the generated module.
    """

    binds: frozenset[str]
    uses: frozenset[str]
    text: str
    origin: str
    is_import: bool


@dataclass
class Notebook:
    """What one notebook offers: its pieces, and what could not be read."""

    name: str
    pieces: list[Piece] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def defined(self) -> set[str]:
        """Names of the functions and classes it defines."""
        return {name for piece in self.pieces if not piece.is_import for name in piece.binds}


def read_notebook(path: Path) -> Notebook:
    """The top-level definitions and imports of the code cells of ``path``."""
    notebook = Notebook(path.name)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        notebook.notes.append(f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB: not read")
        return notebook
    import nbformat  # here, not at the top: ~1 s of start-up only a notebook needs

    try:
        cells = nbformat.read(path, as_version=4).cells
    except Exception as error:  # nbformat raises many kinds on malformed JSON or schema
        notebook.notes.append(f"{path.name} is not a readable notebook ({type(error).__name__}): not read")
        return notebook
    code_cells = [cell for cell in cells if cell.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, 1):
        source = without_magics(str(cell.get("source", "")))
        origin = f"{path.name}, code cell {number}"
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:  # nesting past the parser
            where = f" line {error.lineno}" if isinstance(error, SyntaxError) else ""
            notebook.notes.append(f"{origin} does not parse ({type(error).__name__}{where}): not taken")
            continue
        lines = source.splitlines()
        notebook.pieces += [piece for node in tree.body if (piece := _piece(node, lines, origin))]
    return notebook


def without_magics(source: str) -> str:
    """``source`` with magic and shell lines blanked (line numbers kept); empty for a cell magic."""
    lines = source.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if is_magic(line) else line for line in lines)


def is_magic(line: str) -> bool:
    """Whether IPython rewrites ``line`` before Python sees it: ``%time f()``,
    ``!ls``, ``x = !ls``. Linear in the line's length (a regular expression
    whose leading spaces two parts could take was quadratic: hours on 1 MB)."""
    if line.lstrip()[:1] in ("%", "!"):
        return True
    left, equals, right = line.partition("=")
    return bool(equals) and right.lstrip()[:1] in ("%", "!") and bool(ASSIGNED_NAMES.fullmatch(left))


def _piece(node: ast.stmt, lines: list[str], origin: str) -> Piece | None:
    uses = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        binds = {node.name}
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            return None
        binds = {(alias.asname or alias.name).partition(".")[0] for alias in node.names} - {"*"}
    elif _constant(node):
        binds = {t.id for t in node.targets}
    else:
        return None
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    text = "\n".join(lines[first - 1 : node.end_lineno])
    return Piece(frozenset(binds), uses, text, origin, isinstance(node, (ast.Import, ast.ImportFrom)))


def _constant(node: ast.stmt) -> bool:
    """``NAME = literal`` (numbers, strings, tuples of them): safe to run at import."""
    if not isinstance(node, ast.Assign) or not all(isinstance(t, ast.Name) for t in node.targets):
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def feeds(notebook: Notebook, exercise: str, contract: tuple[str, ...]) -> bool:
    """Whether ``notebook`` feeds ``exercise`` (by its name, or the contract names it defines)."""
    return Path(notebook.name).stem == exercise or bool(notebook.defined & set(contract))


def module_source(notebooks: list[Notebook], contract: tuple[str, ...]) -> str | None:
    """The module holding what ``contract`` needs from ``notebooks``; None if nothing."""
    pieces = [piece for notebook in notebooks for piece in notebook.pieces]
    last = {name: index for index, piece in enumerate(pieces) for name in piece.binds}
    needed: set[int] = set()
    pending = [name for name in contract if name in last]
    while pending:
        index = last[pending.pop()]
        if index not in needed:
            needed.add(index)
            pending += [name for name in pieces[index].uses if name in last]
    if not needed:
        return None
    kept = [pieces[i] for i in sorted(needed)]
    imports = list(dict.fromkeys(piece.text for piece in kept if piece.is_import))
    body = [f"# {piece.origin}\n{piece.text}" for piece in kept if not piece.is_import]
    names = ", ".join(notebook.name for notebook in notebooks)
    header = f'"""Generated by the autograder from {names}: the definitions the exercise needs."""'
    return "\n\n".join([header, "\n".join(imports), *body]) + "\n"
