"""Build what students get from one source of truth: the references' markers.

``autograder build`` writes ``assignments/<name>.py`` from every public
``solutions/<name>.py``: each region between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` is replaced, at the marker's indentation, by nbgrader's
stub::

    # YOUR CODE HERE
    raise NotImplementedError()

Everything else (signatures, docstrings with shapes, hints) is kept. The
notebooks of ``source_notebooks/`` become ``assignments/<name>.ipynb`` the
same way, cell by cell, with nbgrader's ``### BEGIN HIDDEN TESTS`` regions
removed entirely and outputs cleared. Parsing is strict: a nested, unclosed
or stray marker stops the build and names the file and line. ``--check``
writes nothing and names the files that differ (CI's drift test).

``autograder release DIR`` writes the students' folder: the built
assignments, the grader without its references, the expected values of the
visible checks (recorded by grading the references in dev mode) and a
README; it then scans the folder for any line of a solution region.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import nbformat

from autograder.grading import Options, grade_and_record
from autograder.references import save_expected

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
ANSWER_STUB = ("YOUR ANSWER HERE",)
"""nbgrader's replacement of a solution region in a markdown cell."""


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


def stub_texts(solutions: Path) -> dict[str, str]:
    """Stub text of every public ``solutions/<name>.py``, by file name.

    Modules whose name starts with an underscore are grader-internal and
    never released.
    """
    return {
        source.name: strip_solutions(source.read_text(), str(source))
        for source in sorted(solutions.glob("[!_]*.py"))
    }


def build_stubs(solutions: Path, assignments: Path) -> list[Path]:
    """Write ``assignments/<name>.py`` for every public ``solutions/<name>.py``; returns them."""
    return _write_all(stub_texts(solutions), assignments)


def student_notebook(text: str, filename: str) -> str:
    """The student version of the nbgrader source notebook ``text``, as
    ``nbgrader generate_assignment`` writes it.

    Code cells: hidden-test regions removed, solution regions replaced by
    the stub, outputs and execution counts cleared. Markdown cells: solution
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


def notebook_texts(source_dir: Path) -> dict[str, str]:
    """Student version of every ``source_dir/*.ipynb``, by file name."""
    return {
        source.name: student_notebook(source.read_text(), str(source))
        for source in sorted(source_dir.glob("*.ipynb"))
    }


def course_notebook_texts(source_notebooks: Path) -> dict[str, str]:
    """Student notebooks of nbgrader's layout, by path in ``assignments/``.

    ``source_notebooks/<assignment>/<name>.ipynb`` becomes
    ``<assignment>/<name>.ipynb`` (nbgrader's release layout); a notebook
    directly in ``source_notebooks/`` becomes ``<name>.ipynb``.
    """
    folders = [source_notebooks, *sorted(p for p in source_notebooks.glob("*") if p.is_dir())]
    return {
        (name if folder == source_notebooks else f"{folder.name}/{name}"): text
        for folder in folders
        for name, text in notebook_texts(folder).items()
    }


def build_notebooks(source_dir: Path, out_dir: Path) -> list[Path]:
    """Write the student version of every ``source_dir/*.ipynb`` into ``out_dir``; returns them."""
    return _write_all(notebook_texts(source_dir), out_dir)


def planned(root: Path) -> dict[str, str]:
    """Every file of ``assignments/`` the build produces from ``root``, by path inside it."""
    if not (root / "solutions").is_dir():
        raise BuildError(f"{root} has no solutions/ folder: run from the repository's root or pass --root")
    return {**stub_texts(root / "solutions"), **course_notebook_texts(root / "source_notebooks")}


def build(root: Path) -> list[Path]:
    """Write ``root/assignments`` from ``root/solutions`` and ``root/source_notebooks``."""
    return _write_all(planned(root), root / "assignments")


def drift(root: Path) -> list[str]:
    """How ``root/assignments`` differs from what the build produces (empty when in sync)."""
    expected = planned(root)
    folder = root / "assignments"
    found = {
        p.relative_to(folder).as_posix()
        for p in (folder.rglob("*") if folder.is_dir() else [])
        if p.suffix in (".py", ".ipynb") and not {"__pycache__", ".ipynb_checkpoints"} & set(p.parts)
    }
    differs = [
        f"assignments/{name}: {'missing' if name not in found else 'differs from the build'}"
        for name, text in expected.items()
        if name not in found or (folder / name).read_text() != text
    ]
    stale = [f"assignments/{name}: not produced by the build" for name in sorted(found - set(expected))]
    return differs + stale


def _write_all(texts: dict[str, str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


class BuildError(Exception):
    """The build or the release cannot be made; the message says why."""


# -- the student release ------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parent
RELEASE_EXCLUDES = ("__pycache__", "*.pyc", "_solutions", "expected")
"""Never copied from the grader package into a release: caches, the installed
references, and a store left over from another release."""

RELEASE_README = """# Exercises: deep learning from scratch in NumPy

## Quick start

1. Python 3.11 or newer, then, in this folder:
   `python -m pip install numpy matplotlib nbformat jupyter`
   (nothing else: the grader is the `autograder/` folder beside this file).
2. Fill in every `# YOUR CODE HERE` in `assignments/<exercise>.py` (each stub
   raises `NotImplementedError` until you do). Only NumPy and the standard
   library may be imported.
3. Check your work, from this folder:

```bash
python -m autograder check                 # every visible check of assignments/
python -m autograder check --only svm      # one exercise
python -m autograder data status           # where MNIST is (kNN and MLP need it)
python -m autograder data fetch mnist      # download it once (about 12 MB, checksummed)
```

The notebooks (`assignments/<exercise>/<exercise>.ipynb`) run from where they
are: open them with `jupyter lab` started in this folder. The MLP notebook
compares your network with PyTorch when PyTorch is installed, and skips that
comparison otherwise; the CPU build is enough:
`python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`.

## What the verdicts mean

- `passed`: full points. `failed`: a wrong value; the line says what was
  examined, what was expected and what came back, and a hint where to look.
  "Your result is exactly what this bug gives: ..." names a known mistake.
- `invalid output`: wrong shape, dtype, NaN or infinity.
- `not attempted`: the function still raises `NotImplementedError`.
- `import failed`, `banned import`, `timeout`, `out of memory`, `crashed`:
  the module could not be run as written; the cause is printed once, above the
  checks it explains.
- `not graded: dataset unavailable`: this machine lacks MNIST; not your code
  (run `python -m autograder data fetch mnist`).

The expected values come from `autograder/expected/`, recorded from the
course's references; the course grades your work with more (hidden) checks,
on other inputs: passing here is necessary, not sufficient. A speed check
times your vectorized function against a fixed loop baseline, the same one
the course's grader uses.
"""


def record_expected(solutions: Path, data_dir: Path | None) -> dict[str, dict[str, Any]]:
    """The expected values of every visible check, by exercise then ``"<check id>/<key>"``,
    recorded by grading the references in ``solutions`` in dev mode.

    Raises
    ------
    BuildError
        When a reference does not score full marks (a dataset missing...):
        the store would then lack values.
    """
    result, recording = grade_and_record(solutions, Options(mode="dev", data_dir=data_dir))
    short = [
        f"{check.exercise}/{check.name}: {check.status.value} {check.message}"
        for exercise in result.exercises
        for check in exercise.checks
        if check.score < check.max_score
    ]
    if short:
        raise BuildError(
            "the references do not score full marks in dev mode, so the expected values would be "
            f"incomplete (pass --data-dir?): {'; '.join(short[:5])}"
        )
    return recording


def release(root: Path, destination: Path, data_dir: Path | None = None) -> list[Path]:
    """Write the students' folder ``destination``; returns the files written.

    It holds ``assignments/`` (built as ``build`` would), the grader package
    without references, ``autograder/expected/<id>.npz`` and a README. The
    finished folder is scanned: a line of a solution region anywhere in it
    stops the release.
    """
    if destination.exists() and any(destination.iterdir()):
        raise BuildError(f"{destination} is not empty")
    texts = planned(root)
    store = record_expected(root / "solutions", data_dir)
    _write_all(texts, destination / "assignments")
    package = destination / "autograder"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns(*RELEASE_EXCLUDES))
    (package / "expected").mkdir()
    for exercise, values in store.items():
        save_expected(values, package / "expected" / f"{exercise}.npz")
    (destination / "README.md").write_text(RELEASE_README)
    leaks = leaked_lines(destination, secret_lines(root), public_lines(root))
    if leaks:
        raise BuildError(f"the release would hold solution code: {'; '.join(leaks[:5])}")
    return sorted(p for p in destination.rglob("*") if p.is_file())


def secret_lines(root: Path) -> set[str]:
    """Stripped lines of every solution region (modules and source notebooks), of
    every hidden-test region, and of every grader-internal module."""
    secrets: set[str] = set()
    for source in (root / "solutions").glob("*.py"):
        lines = source.read_text().splitlines()
        secrets |= set(lines) if source.name.startswith("_") else region_lines(lines, (BEGIN, END))
    for source in (root / "source_notebooks").rglob("*.ipynb"):
        lines = text_lines(source.name, source.read_text())
        secrets |= region_lines(lines, (BEGIN, END)) | region_lines(lines, (BEGIN_HIDDEN, END_HIDDEN))
    return {line.strip() for line in secrets} - {""}


def region_lines(lines: list[str], markers: tuple[str, str]) -> set[str]:
    """The lines strictly between each pair of ``markers``."""
    found: set[str] = set()
    inside = False
    for line in lines:
        marker = line.strip()
        inside = (inside or marker == markers[0]) and marker != markers[1]
        if inside and marker != markers[0]:
            found.add(line)
    return found


def text_lines(name: str, text: str) -> list[str]:
    """The lines of a file as a reader sees them: a notebook's are its cells' sources."""
    if not name.endswith(".ipynb"):
        return text.splitlines()
    cells = nbformat.reads(text, as_version=nbformat.NO_CONVERT).cells
    return [line for cell in cells for line in cell.source.splitlines()]


def public_lines(root: Path) -> set[str]:
    """Stripped lines students may see anyway: the grader's own code and the built assignments.

    A few lines of a solution (``num_train = X.shape[0]``, a bug the checks
    simulate) also occur there; they are not leaks.
    """
    grader = [p for p in PACKAGE.rglob("*.py") if not set(RELEASE_EXCLUDES) & set(p.parts)]
    texts = {**{str(p): p.read_text() for p in grader}, **planned(root)}
    return {line.strip() for name, text in texts.items() for line in text_lines(name, text)}


def leaked_lines(folder: Path, secrets: set[str], public: set[str]) -> list[str]:
    """``"file:line: text"`` for every line under ``folder`` that is in ``secrets``
    and not in ``public``; binary files (the stores) are skipped."""
    hidden = secrets - public
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            lines = text_lines(path.name, path.read_text())
        except (UnicodeDecodeError, nbformat.reader.NotJSONError):
            continue
        leaks += [
            f"{path.relative_to(folder)}:{number}: {line.strip()}"
            for number, line in enumerate(lines, 1)
            if line.strip() in hidden
        ]
    return leaks
