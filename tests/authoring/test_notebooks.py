"""The nbgrader source notebooks: generated, valid, executable, and released without solutions.

Each source notebook is executed top to bottom (nbclient, headless kernel,
Agg backend) beside its reference solution, as a student's finished folder;
the real ``nbgrader generate_assignment`` is run on a copy of the repository
and its student notebooks are compared with those of ``autograder build``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.nbgraderformat import MetadataValidator

from autograder.cli import main
from autograder.modules import load_module
from tests.conftest import DATA_DIR, ROOT, SOLUTIONS, require_data

SOURCE = ROOT / "source_notebooks"
EXERCISES = ("knn", "svm", "softmax", "optim", "conv", "mlp")

#: Seconds one cell may run: the slowest notebook takes about 40 s in all on a loaded 2-core machine.
CELL_TIMEOUT = 120

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _generator():
    return load_module(SOURCE / "_generate.py", "_generate")


def source_notebook(exercise: str) -> nbformat.NotebookNode:
    """The committed source notebook of ``exercise``."""
    return nbformat.read(SOURCE / exercise / f"{exercise}.ipynb", as_version=4)


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """Stripped, non-blank lines strictly between ``begin`` and ``end`` markers."""
    inside, found = False, []
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside and line.strip():
            found.append(line.strip())
    return found


def secret_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Lines of the solution and hidden-test regions that occur nowhere else in the notebook."""
    secrets, elsewhere = set(), set()
    for cell in notebook.cells:
        regions = region_lines(cell.source, BEGIN, END) + region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        secrets |= set(regions)
        elsewhere |= {line.strip() for line in cell.source.splitlines()} - set(regions)
    return secrets - elsewhere


def test_committed_notebooks_are_the_generator_output():
    generator = _generator()
    assert set(generator.EXERCISES) == set(EXERCISES)
    for exercise in EXERCISES:
        committed = (SOURCE / exercise / f"{exercise}.ipynb").read_text()
        assert committed == generator.render(exercise), (
            f"{exercise}.ipynb differs from source_notebooks/_generate.py: run it and commit its output"
        )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_cell_metadata_follows_nbgrader_schema(exercise):
    notebook = source_notebook(exercise)
    MetadataValidator().validate_nb(notebook)  # raises nbgrader's ValidationError
    roles = [cell.metadata["nbgrader"] for cell in notebook.cells if "nbgrader" in cell.metadata]
    assert any(role["solution"] for role in roles), "no solution cell"
    assert any(role["grade"] and role["points"] > 0 for role in roles), "no graded test cell"
    for cell in notebook.cells:
        role = cell.metadata.get("nbgrader", {})
        has_solution = BEGIN in cell.source
        assert has_solution == bool(role.get("solution")), f"markers and metadata disagree: {cell.id}"
        if BEGIN_HIDDEN in cell.source:
            assert role.get("grade") and role.get("locked"), f"hidden tests outside a grade cell: {cell.id}"
        assert not cell.get("outputs") and cell.get("execution_count") is None, "committed with outputs"


@pytest.fixture
def kernel_environment(monkeypatch):
    """What the kernel inherits: headless plots, the test data, the repository's grader.

    The inline backend is headless (it renders with Agg) and, unlike plain Agg, turns each
    figure into an image output the test can see.
    """
    require_data()
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("AUTOGRADER_DATA", str(DATA_DIR))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@pytest.mark.parametrize("exercise", EXERCISES)
def test_source_notebook_runs_with_the_solutions(tmp_path, kernel_environment, exercise):
    shutil.copy(SOLUTIONS / f"{exercise}.py", tmp_path)  # a student's finished folder: module and notebook
    shutil.copy(SOURCE / exercise / f"{exercise}.ipynb", tmp_path)
    notebook = source_notebook(exercise)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error or failed test

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert any("image/png" in output.get("data", {}) for output in outputs), "no figure drawn"
    self_check = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    total = re.search(r"TOTAL (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", self_check)
    assert total, f"the self-check did not grade the module:\n{self_check}"
    assert total[1] == total[2], f"the reference does not get full marks in the self-check:\n{self_check}"


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory) -> Path:
    """The student notebooks of the real ``nbgrader generate_assignment``, in a copy of the repository."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(SOURCE, root / "source_notebooks")
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--no-db"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "assignments"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_nbgrader_releases_into_assignments_without_solutions(nbgrader_release, exercise):
    source = source_notebook(exercise)
    student = nbformat.read(nbgrader_release / exercise / f"{exercise}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    assert secret_lines(source), "nothing to look for: the notebook has no solution region"
    leaked = {line for line in secret_lines(source) if line in {s.strip() for s in text.splitlines()}}
    assert not leaked, f"solution or hidden-test lines in the student notebook: {sorted(leaked)}"
    for marker in (BEGIN, END, BEGIN_HIDDEN, END_HIDDEN):
        assert marker not in text
    regions = sum(cell.source.count(BEGIN) for cell in source.cells)
    assert text.count("raise NotImplementedError()") == regions


@pytest.fixture(scope="module")
def autograder_build(tmp_path_factory) -> Path:
    """The student notebooks of ``autograder build``, in a copy of the repository."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(SOLUTIONS, root / "solutions")
    shutil.copytree(SOURCE, root / "source_notebooks")
    assert main(["build", "--root", str(root)]) == 0
    return root / "assignments"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_autograder_build_writes_what_nbgrader_writes(nbgrader_release, autograder_build, exercise):
    ours = nbformat.read(autograder_build / exercise / f"{exercise}.ipynb", as_version=4)
    theirs = nbformat.read(nbgrader_release / exercise / f"{exercise}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in ours.cells] == [(c.cell_type, c.source) for c in theirs.cells]
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in ours.cells] == [
        c.metadata.get("nbgrader", {}).get("grade_id") for c in theirs.cells
    ]
