"""Shared fixtures: where the data is, and grading a folder of written files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.checks import base as checks_base
from autograder.grading import Options, grade
from autograder.results import GradingResult

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
DATA_DIR = Path(os.environ.get("AUTOGRADER_TEST_DATA", ROOT.parent / "shared" / "datasets"))


def reference_source(exercise: str) -> str:
    """Text of the reference solution of ``exercise``."""
    return (SOLUTIONS / f"{exercise}.py").read_text()


def mutate(source: str, old: str, new: str) -> str:
    """``source`` with the one occurrence of ``old`` replaced by ``new``."""
    assert source.count(old) == 1, f"planted bug anchor not found exactly once: {old!r}"
    return source.replace(old, new)


def grade_files(folder: Path, files: dict[str, str], **options) -> GradingResult:
    """Write ``files`` (name to text) into ``folder`` and grade it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    options.setdefault("data_dir", DATA_DIR)
    return grade(folder, Options(**options))


def drawn_inputs(submission: Path, options: Options) -> dict[str, tuple]:
    """Grade ``submission`` with ``options``; the display name and the initial
    state of every check's input generator, by check id."""
    seen: dict[str, tuple] = {}
    original = checks_base.Session.__init__

    def spy(self, run, check, seed):
        original(self, run, check, seed)
        seen[self.id] = (check.name, self.rng.bit_generator.state["state"]["state"])

    checks_base.Session.__init__ = spy
    try:
        grade(submission, options)
    finally:
        checks_base.Session.__init__ = original
    return seen


def checks_by_name(result: GradingResult, exercise: str) -> dict:
    """The check results of ``exercise``, by check name."""
    found = next(e for e in result.exercises if e.exercise == exercise)
    return {check.name: check for check in found.checks}


@pytest.fixture(scope="session", autouse=True)
def course_secret_in_tmp(tmp_path_factory):
    """Every test grades with a course secret under tmp, never the real
    ``~/.config/autograder/course-secret`` (created there on first use).
    Session-scoped, so that it is in place before module-scoped fixtures
    (the Gradescope bundle) read the secret."""
    path = tmp_path_factory.mktemp("course-secret") / "course-secret"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADER_SECRET_FILE", str(path))
        yield


@pytest.fixture
def short_budget(monkeypatch):
    """Shrink the dev-mode exercise budget so that timeouts are quick to test."""

    def apply(seconds: float) -> None:
        monkeypatch.setattr("autograder.sandbox.limits.DEV_SECONDS", seconds)

    return apply
