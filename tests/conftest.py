"""Shared fixtures: where the data is, and grading a folder of written files.

The datasets are looked up as the grader looks them up: ``AUTOGRADER_TEST_DATA``,
else ``../shared/datasets`` (CI), else the user's cache, fetched there on first
use when this machine may download. A test that needs them calls
``require_data()`` and is skipped, with a one-line reason, when they are absent.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from autograder import datasets
from autograder.checks import session as checks_session
from autograder.grading import Options, grade
from autograder.results import GradingResult
from autograder.sandbox import Child, Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
SHARED_DATA = Path(os.environ.get("AUTOGRADER_TEST_DATA", ROOT.parent / "shared" / "datasets"))


def _data_dir() -> tuple[Path, str]:
    """Where the tests' datasets are, and why they are missing ("" when present)."""
    if all(datasets.find_data_dir(name, SHARED_DATA) for name in datasets.DATASETS):
        return SHARED_DATA, ""
    for name in datasets.DATASETS:
        try:
            datasets.load(name, SHARED_DATA, download=True, progress=False)
        except (datasets.DatasetUnavailable, datasets.IDXFormatError) as error:
            return SHARED_DATA, f"{error}".splitlines()[0] + " (see autograder data status)"
    return datasets.cache_dir(), ""


DATA_DIR, DATA_MISSING = _data_dir()


def require_data() -> None:
    """Skip the calling test when the datasets are absent and cannot be fetched."""
    if DATA_MISSING:
        pytest.skip(DATA_MISSING)


def reference_source(exercise: str) -> str:
    """Text of the reference solution of ``exercise``."""
    return (SOLUTIONS / f"{exercise}.py").read_text()


def start_child(parent: Path, module: str, source: str, seconds: float) -> Child:
    """A sandboxed child running ``source`` as ``<module>.py`` in a new folder under
    ``parent``, with ``seconds`` of budget."""
    folder = parent / secrets.token_hex(4)
    folder.mkdir()
    (folder / f"{module}.py").write_text(source)
    return Child(
        folder / f"{module}.py", module, Limits(wall_seconds=seconds), time.monotonic() + seconds, frozenset()
    )


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
    original = checks_session.Session.__init__

    def spy(self, run, check, seed):
        original(self, run, check, seed)
        seen[self.id] = (check.name, self.rng.bit_generator.state["state"]["state"])

    checks_session.Session.__init__ = spy
    try:
        grade(submission, options)
    finally:
        checks_session.Session.__init__ = original
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
def no_data(tmp_path, monkeypatch):
    """A machine without the datasets, on which downloading is denied whether or not
    it has network: an empty data folder (returned), an empty cache,
    ``AUTOGRADER_OFFLINE``, and a downloader that fails and records any URL it is
    asked for. The test fails if one was asked for: ``AUTOGRADER_OFFLINE`` alone
    must stop every download."""
    empty = tmp_path / "empty-data"
    empty.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv(datasets.ENV_VAR, str(empty))
    monkeypatch.setenv(datasets.OFFLINE_VAR, "1")
    asked: list[str] = []

    def denied(url, dest, md5, progress):
        asked.append(url)
        raise OSError(f"downloads are denied in this test: {url}")

    monkeypatch.setattr(datasets, "_fetch", denied)
    yield empty
    assert asked == [], f"a download was attempted although {datasets.OFFLINE_VAR} is set"


@pytest.fixture
def short_budget(monkeypatch):
    """Shrink the dev-mode exercise budget so that timeouts are quick to test."""

    def apply(seconds: float) -> None:
        monkeypatch.setattr("autograder.sandbox.limits.DEV_SECONDS", seconds)

    return apply


ODD_BATCH_BUG = (
    reference_source("svm")
    + '''

_reference_vectorized = svm_loss_vectorized


def svm_loss_vectorized(W, X, y, reg):
    """Wrong by 1 whenever the batch size is odd: whether a hidden check fails depends on its seed."""
    loss, dW = _reference_vectorized(W, X, y, reg)
    return (loss + 1.0 if X.shape[0] % 2 else loss), dW
'''
)
