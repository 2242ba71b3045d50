"""``autograder build``: ``assignments/`` from ``solutions/`` and ``source_notebooks/``.

Every public ``solutions/<name>.py`` becomes ``assignments/<name>.py`` and
every ``source_notebooks/<id>/<id>.ipynb`` becomes ``assignments/<id>/<id>.ipynb``
by the rules of ``authoring.stubs``. ``--check`` writes nothing and names the
files that differ (CI's drift test).
"""

from __future__ import annotations

from pathlib import Path

from autograder.authoring.stubs import strip_solutions, student_notebook


def stub_texts(solutions: Path) -> dict[str, str]:
    """Stub text of every public ``solutions/<name>.py``, by file name.

    Modules whose name starts with an underscore are grader-internal and
    never released.
    """
    return {
        source.name: strip_solutions(source.read_text(), str(source))
        for source in sorted(solutions.glob("[!_]*.py"))
    }


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
    directly in ``source_notebooks/`` becomes ``<name>.ipynb``. Hidden
    folders (Jupyter's ``.ipynb_checkpoints``) are skipped.
    """
    assignments = (p for p in source_notebooks.glob("*") if p.is_dir() and not p.name.startswith("."))
    folders = [source_notebooks, *sorted(assignments)]
    return {
        (name if folder == source_notebooks else f"{folder.name}/{name}"): text
        for folder in folders
        for name, text in notebook_texts(folder).items()
    }


def planned(root: Path) -> dict[str, str]:
    """Every file of ``assignments/`` the build produces from ``root``, by path inside it."""
    if not (root / "solutions").is_dir():
        raise BuildError(f"{root} has no solutions/ folder: run from the repository's root or pass --root")
    return {**stub_texts(root / "solutions"), **course_notebook_texts(root / "source_notebooks")}


def build_assignments(root: Path) -> list[Path]:
    """Write ``root/assignments`` from ``root/solutions`` and ``root/source_notebooks``."""
    return write_all(planned(root), root / "assignments")


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


def write_all(texts: dict[str, str], folder: Path) -> list[Path]:
    """Write every text of ``texts`` to ``folder/<its name>``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in texts.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
        written.append(folder / name)
    return written


class BuildError(Exception):
    """The build or the release cannot be made; the message says why."""
