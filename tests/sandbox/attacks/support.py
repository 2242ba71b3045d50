"""What every attack test shares: attack submissions, the material they must
not touch, and the assertions each attack must pass.

An attack is an ``svm.py`` (or ``mlp.py``) that does what the reference does
plus a payload. Each must score no more than the honest reference, get a
verdict naming what happened, and leave the grader, other submissions'
results and the hidden material as they were.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.results import GradingResult, Status
from autograder.sandbox import isolation
from tests.conftest import DATA_DIR, ROOT, SOLUTIONS, grade_files, reference_source

LAYERS = isolation.probe()
SANDBOX_CODE = ROOT / "autograder" / "sandbox"

HONEST_TAIL = """

_honest = {"naive": svm_loss_naive, "vectorized": svm_loss_vectorized}


def svm_loss_naive(W, X, y, reg):
@PAYLOAD@
    return _honest["naive"](W, X, y, reg)


def svm_loss_vectorized(W, X, y, reg):
@PAYLOAD@
    return _honest["vectorized"](W, X, y, reg)
"""


REQUIRED_LAYERS = os.environ.get("AUTOGRADER_REQUIRE_LAYERS", "")
"""Layers this machine promises (``all``, or comma-separated names): set by
``.ci/run``, which runs ``autograder sandbox-setup``, so that a missing layer
fails the tests that need it instead of skipping them."""


def promised() -> set[str]:
    """The layers ``AUTOGRADER_REQUIRE_LAYERS`` promises."""
    if REQUIRED_LAYERS.strip() == "all":
        return set(isolation.ALL_LAYERS)
    return {name.strip() for name in REQUIRED_LAYERS.split(",") if name.strip()}


def require(*layers: str) -> None:
    """Skip the test unless one of ``layers`` is in force here (a root-only
    defence); fail it instead when the machine promises that layer."""
    if layers and not set(LAYERS.names()).intersection(layers):
        why = f"needs the {' or '.join(layers)} layer, absent here ({LAYERS.describe()})"
        if promised().intersection(layers):
            pytest.fail(f"{why}, yet AUTOGRADER_REQUIRE_LAYERS={REQUIRED_LAYERS} promises it")
        pytest.skip(why)


def svm_attack(payload: str = "", at_import: str = "") -> str:
    """The reference svm.py whose two functions first run ``payload``, and
    whose module runs ``at_import`` once imported."""
    body = "\n".join("    " + line for line in payload.splitlines()) or "    pass"
    tail = HONEST_TAIL.replace("@PAYLOAD@", body)
    return f"{reference_source('svm')}\n{at_import}\n{tail}"


def fingerprint(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def dataset_stamp() -> dict[str, tuple[int, int]]:
    """Size and modification time of every dataset file (too big to hash per test)."""
    if not DATA_DIR.is_dir():
        return {}
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in DATA_DIR.rglob("*") if p.is_file()}


def orphans() -> list[int]:
    """Processes of the sandbox user that outlived their grader (parent is pid 1)."""
    if LAYERS.user is None:
        return []
    return isolation.leftover_processes(LAYERS.user[0], session=-1)


@dataclass
class Scene:
    """One attack's surroundings: the attacker's folder, another student's
    graded results, the hidden material, all checked after the attack.

    Attributes
    ----------
    folder : Path
        The attacker's submission folder.
    results : Path
        Folder holding another submission's ``results.json``.
    other : Path
        Another student's submission folder.
    """

    folder: Path
    results: Path
    other: Path

    RESULTS_TEXT = '{"score": 7.0, "tests": []}\n'

    @classmethod
    def build(cls, tmp_path: Path) -> Scene:
        scene = cls(tmp_path / "attacker", tmp_path / "results", tmp_path / "other")
        scene.results.mkdir()
        (scene.results / "results.json").write_text(cls.RESULTS_TEXT)
        scene.other.mkdir()
        (scene.other / "svm.py").write_text(reference_source("svm"))
        scene._before = (fingerprint(SOLUTIONS), fingerprint(SANDBOX_CODE), dataset_stamp())
        return scene

    def fill(self, text: str) -> str:
        """``text`` with the scene's paths in place of ``@RESULTS@``, ``@OTHER@``,
        ``@SOLUTIONS@``, ``@DATA@``."""
        for key, value in {
            "@RESULTS@": self.results,
            "@OTHER@": self.other,
            "@SOLUTIONS@": SOLUTIONS,
            "@DATA@": DATA_DIR,
            "@SITE_PACKAGES@": repr(isolation.site_packages()),
        }.items():
            text = text.replace(key, str(value))
        return text

    def grade(self, files: dict[str, str], exercise: str = "svm", **options) -> GradingResult:
        """Grade the attacker's files (paths filled in)."""
        return grade_files(
            self.folder, {n: self.fill(t) for n, t in files.items()}, only=(exercise,), **options
        )

    def assert_intact(self) -> None:
        """Hidden material, the grader's code, the other results and submission unchanged."""
        assert (fingerprint(SOLUTIONS), fingerprint(SANDBOX_CODE), dataset_stamp()) == self._before
        assert sorted(os.listdir(self.results)) == ["results.json"]
        assert (self.results / "results.json").read_text() == self.RESULTS_TEXT
        assert sorted(os.listdir(self.other)) == ["svm.py"]
        assert (self.other / "svm.py").read_text() == reference_source("svm")
        assert orphans() == [], "a process of the sandbox user outlived the run"


def assert_contained(
    result: GradingResult, honest: GradingResult, scene: Scene, statuses: tuple[Status, ...], words: str
) -> None:
    """The attack earned no more than the honest reference, some check got one of
    ``statuses`` with ``words`` in its message, and nothing around it changed.

    A module that did not import never ran its payload: unless the attack is
    meant to stop the import, an import failure fails the test."""
    assert result.score <= honest.score
    assert not result.grader_fault
    if Status.IMPORT_FAILED not in statuses:
        failed = [c.message for e in result.exercises for c in e.checks if c.status is Status.IMPORT_FAILED]
        assert not failed, f"the attack never imported, so its payload never ran: {failed[:1]}"
    named = [c for e in result.exercises for c in e.checks if c.status in statuses]
    messages = [(c.status.value, c.message) for e in result.exercises for c in e.checks]
    assert named, messages
    assert any(words.lower() in c.message.lower() for c in named), messages
    scene.assert_intact()
