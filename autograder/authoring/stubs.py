"""The one stub-stripping rule and the notebook transforms: text in, text out.

Each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
replaced, at the marker's indentation, by nbgrader's stub::

    # YOUR CODE HERE
    raise NotImplementedError()

Everything else (signatures, docstrings with shapes, hints) is kept. A
notebook is transformed the same way, cell by cell, with nbgrader's
``### BEGIN HIDDEN TESTS`` regions removed entirely and outputs cleared.
Parsing is strict: a nested, unclosed or stray marker raises ``MarkerError``
naming the file and line. ``strip_solutions`` is the one stub-stripping
rule: the build (``authoring.assignments``), the release and the similarity
report's fallback baseline all use it.
"""

from __future__ import annotations

import hashlib

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
ANSWER_STUB = ("YOUR ANSWER HERE",)
"""nbgrader's replacement of a solution region in a markdown cell."""
OUTPUT_METADATA = ("collapsed", "scrolled")
"""Cell metadata about outputs that Jupyter saves and nbgrader's ``ClearOutput`` removes."""


class MarkerError(ValueError):
    """A solution marker out of place, with file and line."""


def strip_solutions(text: str, filename: str, stub: tuple[str, ...] = STUB) -> str:
    """Return ``text`` with every solution region replaced by ``stub``.

    Raises
    ------
    MarkerError
        On a nested BEGIN, an END without BEGIN, a BEGIN never closed, or a
        marker sharing its line with other text.
    """
    return strip_regions(text, filename, (BEGIN, END), stub)


def strip_regions(text: str, filename: str, markers: tuple[str, str], stub: tuple[str, ...]) -> str:
    """Return ``text`` with every region between ``markers`` replaced by ``stub``
    (each line at the opening marker's indentation; nothing for an empty stub)."""
    begin, end = markers
    out: list[str] = []
    opened_at = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        marker = line.strip()
        if marker == begin:
            if opened_at:
                raise MarkerError(f"{filename}:{number}: {begin} inside the region opened at {opened_at}")
            opened_at = number
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}{stub_line}\n" for stub_line in stub]
        elif marker == end:
            if not opened_at:
                raise MarkerError(f"{filename}:{number}: {end} without {begin}")
            opened_at = 0
        elif begin in line or end in line:
            raise MarkerError(f"{filename}:{number}: a marker must stand alone on its line")
        elif not opened_at:
            out.append(line)
    if opened_at:
        raise MarkerError(f"{filename}:{opened_at}: {begin} is never closed")
    return "".join(out)


def student_notebook(text: str, filename: str) -> str:
    """The student version of the nbgrader source notebook ``text``, as
    ``nbgrader generate_assignment`` writes it.

    Code cells: hidden-test regions removed, solution regions replaced by
    the stub, outputs, execution counts and the outputs' metadata
    (``OUTPUT_METADATA``) cleared. Markdown cells: solution
    regions replaced by ``YOUR ANSWER HERE``. A solution cell without regions
    becomes the stub; nbgrader cells are locked and checksummed as nbgrader
    does. Errors name ``file (cell N):line``.
    """
    notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    for index, cell in enumerate(notebook.cells, 1):
        where = f"{filename} (cell {index})"
        stub = STUB if cell.cell_type == "code" else ANSWER_STUB
        source = strip_regions(cell.source, where, (BEGIN_HIDDEN, END_HIDDEN), ())
        stripped = strip_solutions(source, where, stub)
        role = cell.metadata.get("nbgrader", {})
        if stripped != source and not role.get("solution", False):
            raise MarkerError(f"{where}: a solution region in a cell not marked as a solution cell")
        if role.get("solution", False) and stripped == source:
            stripped = "\n".join(stub)
        cell.source = _same_ending(stripped, cell.source)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            for field in OUTPUT_METADATA:
                cell.metadata.pop(field, None)
        _lock_and_checksum(cell)
    return nbformat.writes(notebook) + "\n"


def _lock_and_checksum(cell: nbformat.NotebookNode) -> None:
    """nbgrader's ``LockCells`` and ``ComputeChecksums`` (default configuration)."""
    role = cell.metadata.get("nbgrader")
    if role is None:
        return
    grade, solution = bool(role.get("grade", False)), bool(role.get("solution", False))
    locked = not solution and (grade or bool(role.get("locked", False)))
    if solution or grade or locked:
        cell.metadata["deletable"] = False
    if locked:
        cell.metadata["editable"] = False
    if solution or grade or locked:
        digest = hashlib.md5(usedforsecurity=False)
        parts = [cell.source, cell.cell_type, str(grade), str(solution), str(locked), role["grade_id"]]
        parts += [str(float(role["points"]))] if grade else []
        for part in parts:
            digest.update(part.encode())
        role["checksum"] = digest.hexdigest()
        role["cell_type"] = cell.cell_type


def _same_ending(text: str, original: str) -> str:
    """``text`` without the final newline a stub adds when ``original`` had none."""
    return text if original.endswith("\n") else text.removesuffix("\n")
