"""Hostile or broken submissions: each gets its named verdict and no points,
and the other exercise of the same submission keeps its score."""

from __future__ import annotations

import pytest

from autograder.results import Status
from tests.conftest import checks_by_name, grade_files, reference_source

HEADER = "import numpy as np\n"


def svm_with(body: str, at_import: str = "") -> str:
    """An svm.py whose two functions run ``body`` (indented)."""
    indented = "\n".join("    " + line for line in body.splitlines())
    return (
        f"{HEADER}{at_import}\n"
        f"def svm_loss_naive(W, X, y, reg):\n{indented}\n\n"
        f"def svm_loss_vectorized(W, X, y, reg):\n{indented}\n"
    )


FAULTS = {
    "infinite loop": (svm_with("while True:\n    pass"), Status.TIMEOUT, "time budget of 6 s ran out"),
    "4 GB allocation": (
        svm_with("big = np.ones(4 * 1024**3 // 8)\nreturn 0.0, big"),
        Status.OUT_OF_MEMORY,
        "out of memory",
    ),
    "os._exit(0)": (svm_with("import os\nos._exit(0)"), Status.EXITED, "exited with status 0"),
    "sys.exit(0)": (svm_with("import sys\nsys.exit(0)"), Status.EXITED, "sys.exit()"),
    "segfault via ctypes": (
        svm_with("import ctypes\nctypes.string_at(0)"),
        Status.CRASHED,
        "signal 11 (SIGSEGV)",
    ),
    "fake passed output": (
        svm_with("print('svm: 20/20 passed'); print('TOTAL 41 / 41')\nreturn 0.0, np.zeros_like(W)"),
        Status.FAILED,
        "expected",
    ),
    "ndarray subclass with a lying __eq__": (
        svm_with(
            "class Liar(np.ndarray):\n"
            "    def __eq__(self, other): return True\n"
            "    def __ne__(self, other): return False\n"
            "return np.float64(0.0), np.zeros_like(W).view(Liar)"
        ),
        Status.FAILED,
        "expected",
    ),
    "NaN result": (svm_with("return float('nan'), np.full_like(W, np.nan)"), Status.INVALID_OUTPUT, "finite"),
    "wrong shape": (
        svm_with("return 0.0, np.zeros((W.shape[1], W.shape[0]))"),
        Status.INVALID_OUTPUT,
        "shape",
    ),
    "missing function": (
        f"{HEADER}def svm_loss_naive(W, X, y, reg):\n    return 0.0, W\n",
        Status.MISSING,
        "defines no",
    ),
    "syntax error": (
        f"{HEADER}def svm_loss_naive(W, X, y, reg)\n    return 0\n",
        Status.IMPORT_FAILED,
        "svm.py:2",
    ),
    "exception at import": (
        svm_with("return 0", at_import="1 / 0"),
        Status.IMPORT_FAILED,
        "ZeroDivisionError",
    ),
    "returns an object": (svm_with("return object(), W"), Status.INVALID_OUTPUT, "not numbers"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_gets_named_verdict_and_no_points(name, tmp_path, short_budget):
    short_budget(6.0)
    source, status, words = FAULTS[name]
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    checks = checks_by_name(result, "svm")
    assert result.score == 0
    assert not result.grader_fault
    named = [c for c in checks.values() if c.status is status]
    assert named, [(c.status, c.message) for c in checks.values()]
    assert words in named[0].message
    assert all(c.status in (status, Status.FAILED, Status.TIMEOUT) for c in checks.values())


def test_other_exercise_keeps_its_score(tmp_path, short_budget):
    short_budget(30.0)
    files = {"knn.py": reference_source("knn"), "svm.py": svm_with("import ctypes\nctypes.string_at(0)")}
    result = grade_files(tmp_path, files, only=("knn", "svm"))
    knn, svm = result.exercises
    assert knn.score == knn.max_score > 0
    assert svm.score == 0 and svm.verdict.startswith("crashed")


def test_timeout_in_one_check_spares_the_next(tmp_path):
    """A child killed for one check is replaced, so later checks still run."""
    source = reference_source("svm").replace(
        "    dW = np.zeros(W.shape)\n",
        "    dW = np.zeros(W.shape)\n    if reg == 0:\n        while True:\n            pass\n",
        1,
    )
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    checks = checks_by_name(result, "svm")
    assert checks["svm_loss_naive: loss, reg = 0"].status is Status.TIMEOUT
    assert checks["svm_loss_naive: loss, reg > 0"].status is Status.PASSED
    assert checks["svm_loss_vectorized: dW, reg = 0"].status is Status.PASSED


def test_non_breaking_spaces_are_named(tmp_path):
    source = reference_source("svm").replace("    loss = 0.0\n", "\u00a0\u00a0\u00a0\u00a0loss = 0.0\n")
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    svm = result.exercises[0]
    assert svm.score == 0
    assert "U+00A0" in svm.checks[0].message
    assert any("non-breaking spaces" in note for note in svm.notes)


@pytest.mark.parametrize(
    "importer",
    [
        "import torch",
        "from scipy.spatial.distance import cdist",
        "import importlib\nimportlib.import_module('to' + 'rch')",
        "__import__('sklearn')",
    ],
)
def test_banned_import_scores_zero(importer, tmp_path):
    source = reference_source("svm").replace("import numpy as np\n", f"import numpy as np\n{importer}\n", 1)
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    svm = result.exercises[0]
    assert svm.score == 0
    assert {c.status for c in svm.checks} == {Status.BANNED_IMPORT}
    assert "only NumPy and the standard library" in svm.checks[0].message


def test_banned_import_hidden_from_static_analysis_is_caught_at_run_time(tmp_path):
    """A name the AST cannot see is refused by the child's import path."""
    hidden = "getattr(__import__('builtins'), '__imp' + 'ort__')"
    source = reference_source("svm").replace(
        "    dW = np.zeros(W.shape)\n", f"    dW = np.zeros(W.shape)\n    {hidden}('tor' + 'ch')\n", 1
    )
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    svm = result.exercises[0]
    assert svm.score == 0
    assert {c.status for c in svm.checks} == {Status.BANNED_IMPORT}
