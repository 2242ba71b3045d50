"""One source of truth: the build, its drift check, the expected-value store, the student release."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.utils import compute_checksum

from autograder.authoring.assignments import planned
from autograder.authoring.release import leaked_lines, public_lines, release, secret_lines
from autograder.authoring.stubs import MarkerError, strip_solutions, student_notebook
from autograder.checks import EXERCISES
from autograder.cli import main
from autograder.store import load_expected, save_expected
from tests.conftest import (
    ASSIGNMENTS,
    DATA_DIR,
    ROOT,
    SOLUTIONS,
    grade_files,
    mutate,
    reference_source,
    require_data,
)
from tests.nbgrader_oracle import nbgrader_clear_solutions, role

# -- build and drift -----------------------------------------------------------------------


def copy_repository(tmp_path: Path) -> Path:
    """A repository holding the real solutions, without assignments/."""
    root = tmp_path / "repo"
    shutil.copytree(SOLUTIONS, root / "solutions")
    return root


def test_the_repository_has_no_drift(capsys):
    assert main(["build", "--check", "--root", str(ROOT)]) == 0


def test_build_writes_every_public_stub_and_is_idempotent(tmp_path):
    root = copy_repository(tmp_path)
    assert main(["build", "--root", str(root)]) == 0
    built = {p.name: p.read_text() for p in (root / "assignments").iterdir()}
    assert built == {p.name: p.read_text() for p in ASSIGNMENTS.glob("*.py")}
    assert not any(name.startswith("_") for name in built)  # _fast_conv.py stays with the grader
    assert main(["build", "--root", str(root)]) == 0
    assert {p.name: p.read_text() for p in (root / "assignments").iterdir()} == built
    assert main(["build", "--check", "--root", str(root)]) == 0


def test_jupyters_checkpoints_are_not_built(tmp_path):
    root = copy_repository(tmp_path)
    notebooks = root / "source_notebooks"
    demo = source_notebook(notebooks / "demo", "def f(x):\n    return x")
    for checkpoints in (notebooks / ".ipynb_checkpoints", notebooks / "demo" / ".ipynb_checkpoints"):
        checkpoints.mkdir()
        shutil.copy(demo, checkpoints / "demo-checkpoint.ipynb")
    assert [name for name in planned(root) if name.endswith(".ipynb")] == ["demo/demo.ipynb"]


def test_build_check_names_every_file_that_differs(tmp_path, capsys):
    root = copy_repository(tmp_path)
    main(["build", "--root", str(root)])
    capsys.readouterr()
    svm = root / "assignments" / "svm.py"
    svm.write_text(svm.read_text().replace("# YOUR CODE HERE", "# YOUR CODE HERE (edited by hand)", 1))
    (root / "assignments" / "knn.py").unlink()
    (root / "assignments" / "old.py").write_text("")
    assert main(["build", "--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "assignments/svm.py: differs" in out
    assert "assignments/knn.py: missing" in out
    assert "assignments/old.py: not produced by the build" in out
    assert "softmax.py" not in out


BAD_MARKERS = {
    "nested": ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", 3),
    "unclosed": ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2),
    "stray end": ("def f():\n    return 1\n    ### END SOLUTION\n", 3),
    "not alone": ("def f():\n    x = 1  ### BEGIN SOLUTION\n", 2),
}


@pytest.mark.parametrize("case", BAD_MARKERS)
def test_marker_errors_stop_the_build_with_file_and_line(tmp_path, capsys, case):
    text, line = BAD_MARKERS[case]
    with pytest.raises(MarkerError, match=rf"^bad\.py:{line}: "):
        strip_solutions(text, "bad.py")
    root = copy_repository(tmp_path)
    (root / "solutions" / "svm.py").write_text(text)
    assert main(["build", "--root", str(root)]) == 2
    assert re.search(rf"svm\.py:{line}: ", capsys.readouterr().err)


@pytest.mark.parametrize("source", sorted(SOLUTIONS.glob("[!_]*.py")), ids=lambda path: path.name)
def test_the_stub_rule_is_nbgraders(source):
    """The one stub-stripping rule (build, release, similarity baseline) gives, on every public
    reference, what nbgrader's ``ClearSolutions`` gives; the committed stubs are then its output
    (``test_the_repository_has_no_drift``)."""
    text = source.read_text()
    assert "### BEGIN SOLUTION" in text
    assert strip_solutions(text, source.name) == nbgrader_clear_solutions(text)


def test_strip_keeps_everything_outside_the_regions():
    text = 'def f(x):\n    """Doc: x is (N, D)."""\n    ### BEGIN SOLUTION\n    return x\n'
    text += "    ### END SOLUTION\n"
    assert strip_solutions(text, "f.py") == (
        'def f(x):\n    """Doc: x is (N, D)."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n'
    )


# -- notebooks -----------------------------------------------------------------------------


def source_notebook(folder: Path, code: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nThe margin.\n### END SOLUTION")
    answer.metadata = role("why", solution=True, grade=False)
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata = role("f", solution=True, grade=False)
    cell.outputs = [nbformat.v4.new_output("stream", text="secret output 42\n")]
    cell.execution_count = 3
    tests = nbformat.v4.new_code_cell(
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(41) == 42\n### END HIDDEN TESTS"
    )
    tests.metadata = role("f_tests", solution=False, grade=True, points=2)
    notebook.cells = [answer, cell, tests]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.ipynb"
    nbformat.write(notebook, path)
    return path


def test_student_notebooks_lose_solutions_hidden_tests_and_outputs(tmp_path):
    code = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"
    path = source_notebook(tmp_path / "source", code)
    written = student_notebook(path.read_text(), str(path))
    answer, cell, tests = nbformat.reads(written, as_version=4).cells
    assert answer.source == "Why?\nYOUR ANSWER HERE"
    assert cell.source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert cell.outputs == [] and cell.execution_count is None
    assert tests.source == "assert f(1) == 2"
    assert "secret output" not in written and "x + 1" not in written
    assert tests.metadata.deletable is False and tests.metadata.editable is False
    assert cell.metadata.deletable is False and "editable" not in cell.metadata
    assert tests.metadata.nbgrader.cell_type == "code"
    for role_cell in (answer, cell, tests):  # nbgrader's own checksum is the oracle
        assert role_cell.metadata.nbgrader.checksum == compute_checksum(role_cell)


def test_a_solution_region_outside_a_solution_cell_stops_the_build(tmp_path):
    path = source_notebook(tmp_path / "source", "def f(x):\n    return x + 1")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "### BEGIN SOLUTION\nassert f(1) == 2\n### END SOLUTION"
    nbformat.write(notebook, path)
    with pytest.raises(MarkerError, match=r"demo\.ipynb \(cell 3\): a solution region in a cell not marked"):
        student_notebook(path.read_text(), "demo.ipynb")


def test_notebook_marker_errors_name_the_cell_and_line(tmp_path):
    path = source_notebook(tmp_path / "source", "def f(x):\n    ### BEGIN SOLUTION\n    return x")
    with pytest.raises(MarkerError, match=r"demo\.ipynb \(cell 2\):2: ### BEGIN SOLUTION is never closed"):
        student_notebook(path.read_text(), "demo.ipynb")


# -- the expected-value store ----------------------------------------------------------------


def test_store_round_trips_every_kind_of_expected_value(tmp_path):
    values = {
        "loss/loss_dW": (np.float64(1.25), np.arange(6.0).reshape(2, 3)),
        "cv/accuracies": {1: [0.5, 0.25], 3: [0.75]},
        "log/log_C": 2.302585092994046,
        "misc/mixed": [True, 7, None, "text", np.int64(3), np.array([1, 2], dtype=np.int32)],
        "config/state": {"learning_rate": 1e-3, "t": 5, "m": np.full((2,), np.nan)},
    }
    path = tmp_path / "store.npz"
    save_expected(values, path)
    loaded = load_expected(path)

    def same(a, b):
        assert type(a) is type(b), (a, b)
        if isinstance(a, np.ndarray | np.generic):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        elif isinstance(a, dict):
            assert list(a) == list(b)
            for key in a:
                same(a[key], b[key])
        elif isinstance(a, tuple | list):
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                same(x, y)
        else:
            assert a == b

    same(values, loaded)
    with np.load(path, allow_pickle=False) as data:  # no pickles: loads with pickles refused
        assert len(data.files) > 1


def test_store_refuses_values_it_cannot_restore(tmp_path):
    with pytest.raises(TypeError, match="'odd/key'"):
        save_expected({"odd/key": object()}, tmp_path / "store.npz")


# -- the student release ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A release of this repository (the references graded once to record the store)."""
    require_data()  # the kNN and MLP references record their expected values on it
    destination = tmp_path_factory.mktemp("release") / "course"
    release(ROOT, destination, DATA_DIR)
    return destination


def release_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOGRADER_SOLUTIONS", "PYTHONPATH")}
    return {**env, "PYTHONPATH": "."}


def in_release(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` in the release, as a student runs it."""
    return python_in(folder, "-m", "autograder", *args)


def python_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` with the release's folder as the only addition to the path."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=folder,
        env=release_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def total(output: str) -> tuple[float, float]:
    score, top = re.search(r"^TOTAL ([\d.]+) / ([\d.]+)", output, re.MULTILINE).groups()
    return float(score), float(top)


def test_release_holds_stubs_grader_store_and_readme_only(released):
    files = [p.relative_to(released) for p in released.rglob("*") if p.is_file()]
    shipped = released / "assignments"
    shipped_texts = {
        p.relative_to(shipped).as_posix(): p.read_text() for p in shipped.rglob("*") if p.is_file()
    }
    assert shipped_texts == planned(ROOT)
    assert {p.stem for p in (released / "autograder" / "expected").glob("*.npz")} == set(EXERCISES)
    assert (released / "README.md").is_file()
    assert not [p for p in files if {"solutions", "_solutions"} & set(p.parts)]
    internal = {p.name for p in SOLUTIONS.glob("_*.py")}
    assert not [p for p in files if p.name in internal]
    modules = {f"{exercise}.py" for exercise in EXERCISES}
    outside = [p for p in files if p.name in modules and p.parts[0] not in ("assignments", "autograder")]
    assert outside == []
    checks = {p for p in files if p.name in modules and p.parts[0] == "autograder"}
    assert all(p.parent == Path("autograder/checks") for p in checks)


def test_release_holds_no_line_of_any_solution_region(released, tmp_path):
    secrets = secret_lines(ROOT)
    public = public_lines(ROOT)
    assert len(secrets - public) > 100  # the scan has something to look for
    assert leaked_lines(released, secrets, public) == []
    planted = tmp_path / "planted"
    shutil.copytree(released / "assignments", planted)
    (planted / "notes.txt").write_text(reference_source("svm"))
    assert [leak for leak in leaked_lines(planted, secrets, public) if leak.startswith("notes.txt:")]


def test_release_self_check_scores_stubs_zero(released):
    completed = in_release(released, "check", "--data-dir", str(DATA_DIR))
    assert completed.returncode == 0, completed.stderr
    score, top = total(completed.stdout)
    assert score == 0 and top > 0
    assert "grader fault" not in completed.stdout


def test_release_self_check_gives_references_full_marks_and_catches_a_bug(released, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(released, student)
    for exercise in EXERCISES:
        (student / "assignments" / f"{exercise}.py").write_text(reference_source(exercise))
    probe = "import autograder.references as r; print(r.__file__, r.solutions_dir())"
    where = python_in(student, "-c", probe)
    assert where.stdout.split() == [str(student / "autograder" / "references.py"), "None"]
    completed = in_release(student, "check", "--data-dir", str(DATA_DIR))
    assert completed.returncode == 0, completed.stderr
    score, top = total(completed.stdout)
    assert score == top == sum(c.points for e in EXERCISES.values() for c in e.checks_for("dev"))
    assert "grader fault" not in completed.stdout

    buggy = mutate(reference_source("svm"), "loss /= num_train", "loss /= 1")
    (student / "assignments" / "svm.py").write_text(buggy)
    completed = in_release(student, "check", "--only", "svm")
    score, top = total(completed.stdout)
    assert 0 < score < top
    assert "failed" in completed.stdout and "grader fault" not in completed.stdout


def test_release_refuses_test_mode_without_references(released):
    completed = in_release(released, "grade", "assignments", "--mode", "test", "--only", "svm")
    assert completed.returncode == 2
    assert "needs the reference solutions" in completed.stderr


PLANTED_BOTH_WAYS = {
    "svm naive dW not divided by N": ("svm", "    dW /= num_train", "    pass"),
    "svm vectorized regularization halved": (
        "svm",
        "dW = X.T @ coefficients / num_train + 2 * reg * W",
        "dW = X.T @ coefficients / num_train + reg * W",
    ),
    "softmax naive dW not divided by N": (
        "softmax",
        "dW = dW / num_train + 2 * reg * W",
        "dW = dW + 2 * reg * W",
    ),
    "knn no-loop distances squared": (
        "knn",
        "dists = np.sqrt(np.maximum(squared, 0.0))",
        "dists = np.maximum(squared, 0.0)",
    ),
}


def test_release_check_and_course_grade_agree_on_planted_bugs(released, tmp_path):
    """The same file scores the same in a release's ``check`` and the course's ``grade``
    (dev mode): speed checks time a loop baseline both ships, not a loop version."""
    student = tmp_path / "student"
    shutil.copytree(released, student)
    for name, (exercise, old, new) in PLANTED_BOTH_WAYS.items():
        source = mutate(reference_source(exercise), old, new)
        (student / "assignments" / f"{exercise}.py").write_text(source)
        released_total = total(
            in_release(student, "check", "--only", exercise, "--data-dir", str(DATA_DIR)).stdout
        )
        course = grade_files(tmp_path / name.replace(" ", "-"), {f"{exercise}.py": source}, only=(exercise,))
        assert released_total == (course.score, course.max_score), name
        assert course.score < course.max_score, name


@pytest.mark.parametrize("exercise", ["svm", "mlp"])
def test_release_notebook_setup_runs_without_pythonpath(released, exercise):
    """A student opens the notebook in the release folder: nothing on the path but the folder."""
    notebook = json.loads((released / "assignments" / exercise / f"{exercise}.ipynb").read_text())
    setup = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    probe = f"\nimport autograder\nprint(autograder.__file__)\nprint({exercise}.__file__)"
    env = {k: v for k, v in release_env().items() if k != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-c", "".join(setup["source"]) + probe],
        cwd=released / "assignments" / exercise,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    grader, module = completed.stdout.strip().splitlines()[-2:]
    assert Path(grader) == released / "autograder" / "__init__.py"
    assert Path(module) == released / "assignments" / f"{exercise}.py"
