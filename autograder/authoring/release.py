"""The students' folder: ``autograder release DIR``.

It holds the built assignments, the grader without its references, the
expected values of the visible checks (recorded by grading the references in
dev mode) and a README; the finished folder is then scanned for any line of a
solution region.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat

from autograder.authoring.assignments import BuildError, planned, write_all
from autograder.authoring.stubs import BEGIN, BEGIN_HIDDEN, END, END_HIDDEN
from autograder.grading import Options, grade_and_record
from autograder.store import save_expected

PACKAGE = Path(__file__).resolve().parents[1]
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
    write_all(texts, destination / "assignments")
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
