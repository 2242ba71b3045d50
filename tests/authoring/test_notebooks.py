"""The nbgrader source notebooks: valid, sharing code by calls, executable, released without solutions.

Each source notebook is executed top to bottom (nbclient, headless kernel,
Agg backend) beside its reference solution, as a student's finished folder;
the real ``nbgrader generate_assignment`` is run on a copy of the repository
and its student notebooks are compared with those of ``autograder build``.
"""

from __future__ import annotations

import ast
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
from nbgrader.utils import compute_checksum

from autograder import notebook as notebook_module
from autograder.authoring.stubs import student_notebook
from autograder.cli import main
from tests.conftest import DATA_DIR, ROOT, SOLUTIONS, require_data

SOURCE = ROOT / "source_notebooks"
EXERCISES = ("knn", "svm", "softmax", "optim", "conv", "mlp")

#: Seconds one cell may run: the slowest notebook takes about 40 s in all on a loaded 2-core machine.
CELL_TIMEOUT = 120

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def source_path(exercise: str) -> Path:
    return SOURCE / exercise / f"{exercise}.ipynb"


def source_notebook(exercise: str) -> nbformat.NotebookNode:
    """The committed source notebook of ``exercise``."""
    return nbformat.read(source_path(exercise), as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


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


def test_every_exercise_has_its_source_notebook_and_nothing_else_is_there():
    files = (p.relative_to(SOURCE) for p in SOURCE.rglob("*") if p.is_file())
    found = {p.as_posix() for p in files if not any(part.startswith(".") for part in p.parts)}
    assert found == {"README.md"} | {f"{e}/{e}.ipynb" for e in EXERCISES}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_source_notebook_is_valid_and_saved_as_jupyter_saves_it(exercise):
    text = source_path(exercise).read_text()
    notebook = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)  # raises nbformat's ValidationError
    assert notebook.nbformat == 4 and notebook.metadata.kernelspec.name == "python3"
    assert text == nbformat.writes(notebook) + "\n", "not in Jupyter's format: open and save it in Jupyter"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_cell_metadata_follows_nbgrader_schema(exercise):
    notebook = source_notebook(exercise)
    MetadataValidator().validate_nb(notebook)  # raises nbgrader's ValidationError
    roles = [cell.metadata["nbgrader"] for cell in notebook.cells if "nbgrader" in cell.metadata]
    assert all(role["schema_version"] == 3 for role in roles)
    ids = [role["grade_id"] for role in roles]
    assert len(ids) == len(set(ids)), f"grade ids used twice: {sorted(i for i in ids if ids.count(i) > 1)}"
    assert any(role["solution"] for role in roles), "no solution cell"
    assert any(role["grade"] and role["points"] > 0 for role in roles), "no graded test cell"
    for cell in notebook.cells:
        role = cell.metadata.get("nbgrader", {})
        has_solution = BEGIN in cell.source
        assert has_solution == bool(role.get("solution")), f"markers and metadata disagree: {cell.id}"
        assert cell.source.count(BEGIN) == cell.source.count(END), f"unbalanced solution markers: {cell.id}"
        if BEGIN_HIDDEN in cell.source:
            assert role.get("grade") and role.get("locked"), f"hidden tests outside a grade cell: {cell.id}"
        assert not cell.get("outputs") and cell.get("execution_count") is None, "committed with outputs"


SHARED_CALLS = {"setup": 'student_module("{id}")', "self_check": 'self_check("{id}")'}
"""The call each shared nbgrader cell makes, by grade id (the setup cell imports and sets up too)."""


@pytest.mark.parametrize("exercise", EXERCISES)
def test_shared_cells_are_calls_of_the_notebook_module(exercise):
    cells = {grade_id(cell): cell.source for cell in source_notebook(exercise).cells}
    code = [line.split("#")[0].strip() for line in cells["setup"].splitlines()]
    assert f"{exercise} = {SHARED_CALLS['setup'].format(id=exercise)}" in code
    assert "from autograder.notebook import" in cells["setup"]
    assert cells["self_check"] == SHARED_CALLS["self_check"].format(id=exercise)
    if "data" in cells:
        assert re.fullmatch(r"[\w, ]+ = linear_classifier_data\(\)", cells["data"]), cells["data"]


PASTE_LINES = 3
"""Consecutive code lines a cell must share with ``autograder.notebook`` to count as a paste
(one line such as ``rng = np.random.default_rng(seed)`` may occur anywhere)."""


def runs(lines: list[str]) -> set[tuple[str, ...]]:
    """Every ``PASTE_LINES`` consecutive stripped non-blank lines of ``lines``."""
    code = [line.strip() for line in lines if line.strip()]
    return {tuple(code[i : i + PASTE_LINES]) for i in range(len(code) - PASTE_LINES + 1)}


def shared_code() -> tuple[set[str], set[tuple[str, ...]]]:
    """The functions of ``autograder.notebook`` as ``def <name>(`` and the runs of their code
    lines (docstrings left out)."""
    text = notebook_module.__loader__.get_source("autograder.notebook")
    lines = text.splitlines()
    names, code = set(), set()
    for function in (node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)):
        names.add(f"def {function.name}(")
        body = function.body[1:] if ast.get_docstring(function) else function.body
        code |= runs(lines[body[0].lineno - 1 : function.end_lineno])
    return names, code


def pasted(source: str) -> set[str]:
    """What ``source`` copies from ``autograder.notebook``: a function defined again under its
    own name, or ``PASTE_LINES`` consecutive lines of a function's code."""
    names, code = shared_code()
    copied = runs(source.splitlines()) & code
    return {name for name in names if name in source} | {"\n".join(run) for run in copied}


@pytest.mark.parametrize("exercise", EXERCISES)
def test_no_cell_pastes_the_shared_code(exercise):
    for cell in source_notebook(exercise).cells:
        assert not pasted(cell.source), f"{cell.id} copies autograder/notebook.py: call it instead"


def test_a_pasted_helper_is_caught_under_its_name_or_another():
    helper = notebook_module.__loader__.get_source("autograder.notebook")
    copy = helper[helper.index("def gradient_check(") : helper.index("def plot_templates(")]
    assert "def gradient_check(" in pasted(copy)
    assert pasted(copy.replace("def gradient_check(", "def table(")) - {"def gradient_check("}


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


QUICK = "optim"
"""The exercise whose self-check is quickest, for the runs of the setup and self-check cells alone."""


def setup_and_self_check(notebook: nbformat.NotebookNode, folder: Path) -> tuple[str, str]:
    """Run the setup and self-check cells of ``notebook`` in a kernel started in ``folder``;
    return the file of the module imported and the self-check's report."""
    cells = [cell for cell in notebook.cells if grade_id(cell) in SHARED_CALLS]
    cells.insert(1, nbformat.v4.new_code_cell(f"print({QUICK}.__file__)"))
    notebook.cells = cells
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return cells[1].outputs[0].text.strip(), "".join(output.get("text", "") for output in cells[-1].outputs)


def assert_full_marks(report: str) -> None:
    total = re.search(r"TOTAL (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", report)
    assert total and total[1] == total[2], f"the self-check did not grade {QUICK}.py:\n{report}"


def test_student_notebook_runs_from_a_release_folder(tmp_path, monkeypatch, kernel_environment):
    """``assignments/<id>/<id>.ipynb`` of a students' folder, the kernel started in the notebook's
    folder and nothing on ``PYTHONPATH``: the setup cell finds the grader two folders up and the
    module one up, and the self-check's child finds the grader too."""
    monkeypatch.delenv("PYTHONPATH")
    (tmp_path / "autograder").symlink_to(ROOT / "autograder", target_is_directory=True)
    folder = tmp_path / "assignments" / QUICK
    folder.mkdir(parents=True)
    shutil.copy(SOLUTIONS / f"{QUICK}.py", folder.parent)  # the finished assignments/<id>.py
    student = student_notebook(source_path(QUICK).read_text(), QUICK)
    module, report = setup_and_self_check(nbformat.reads(student, as_version=4), folder)
    assert Path(module) == folder.parent / f"{QUICK}.py"
    assert_full_marks(report)


def test_source_notebook_runs_in_place_against_the_reference(monkeypatch, kernel_environment):
    """An instructor opens ``source_notebooks/<id>/<id>.ipynb`` in the repository: the setup
    cell imports the reference from ``solutions/``."""
    monkeypatch.delenv("PYTHONPATH")
    module, report = setup_and_self_check(source_notebook(QUICK), SOURCE / QUICK)
    assert Path(module) == SOLUTIONS / f"{QUICK}.py"
    assert_full_marks(report)


EDITED = "edited"
"""A notebook as an instructor leaves it after working in Jupyter, built by both tools too."""


def nbgrader_cell(kind: str, source: str, grade_id: str, **role) -> nbformat.NotebookNode:
    """A cell of ``kind`` ("code", "markdown") with nbgrader's metadata; ``role`` sets the flags."""
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    flags = {"grade": False, "locked": False, "solution": False, "task": False, **role}
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "schema_version": 3, **flags}
    return cell


def ran(cell: nbformat.NotebookNode, count: int, **metadata) -> nbformat.NotebookNode:
    """``cell`` as Jupyter saves it after running it: an output, a count, output metadata."""
    cell.outputs = [nbformat.v4.new_output("stream", text=f"out {count}\n")]
    cell.execution_count = count
    cell.metadata.update(metadata)
    return cell


def jupyter_edited_notebook() -> nbformat.NotebookNode:
    """Every kind of nbgrader cell, with what running and saving in Jupyter adds: outputs,
    execution counts, the outputs' ``scrolled``/``collapsed`` metadata, the kernel's version."""
    solution = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"
    tests = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n### END HIDDEN TESTS"
    answer = "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    cells = [
        nbformat.v4.new_markdown_cell("# Edited\nIntroduction."),
        ran(nbgrader_cell("code", "import math", "setup", locked=True), 1, scrolled=True),
        ran(nbgrader_cell("code", solution, "f", solution=True), 2, collapsed=False),
        ran(nbgrader_cell("code", "g = math.tau", "g", solution=True), 3),  # no markers: all of it
        nbgrader_cell("markdown", answer, "why", solution=True, grade=True, points=1),
        ran(nbgrader_cell("code", tests, "f_tests", grade=True, locked=True, points=2.5), 4, scrolled="auto"),
        nbgrader_cell("markdown", "Read-only notes.", "notes", locked=True),
    ]
    for number, cell in enumerate(cells):
        cell.id = f"{EDITED}-{number}"  # Jupyter's are random: both tools get the same notebook
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.9", "mimetype": "text/x-python"},
    }
    return notebook


def with_edited_notebook(source: Path) -> Path:
    """``source`` with ``EDITED``'s source notebook added in its own assignment folder."""
    (source / EDITED).mkdir()
    nbformat.write(jupyter_edited_notebook(), source / EDITED / f"{EDITED}.ipynb")
    return source


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory) -> Path:
    """The student notebooks of the real ``nbgrader generate_assignment``, in a copy of the repository."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    with_edited_notebook(shutil.copytree(SOURCE, root / "source_notebooks"))
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
    with_edited_notebook(shutil.copytree(SOURCE, root / "source_notebooks"))
    assert main(["build", "--root", str(root)]) == 0
    return root / "assignments"


@pytest.mark.parametrize("exercise", [*EXERCISES, EDITED])
def test_autograder_build_writes_what_nbgrader_writes(nbgrader_release, autograder_build, exercise):
    ours = nbformat.read(autograder_build / exercise / f"{exercise}.ipynb", as_version=4)
    theirs = nbformat.read(nbgrader_release / exercise / f"{exercise}.ipynb", as_version=4)
    assert [cell.cell_type for cell in ours.cells] == [cell.cell_type for cell in theirs.cells]
    for mine, nbgraders in zip(ours.cells, theirs.cells, strict=True):
        assert mine.source == nbgraders.source, mine.id
        # grade ids, checksums, cell types, and the lock: deletable, editable
        assert mine.metadata == nbgraders.metadata, mine.id
        assert mine.get("outputs") == nbgraders.get("outputs") and mine.id == nbgraders.id
    assert ours.metadata == theirs.metadata


@pytest.mark.parametrize("exercise", [*EXERCISES, EDITED])
def test_build_checksums_are_nbgraders(autograder_build, exercise):
    """nbgrader's own ``compute_checksum`` is the oracle: it is what ``nbgrader validate``
    and ``autograde`` recompute to detect an edited locked or test cell."""
    built = nbformat.read(autograder_build / exercise / f"{exercise}.ipynb", as_version=4)
    roles = [cell for cell in built.cells if "nbgrader" in cell.metadata]
    assert roles, "no nbgrader cell"
    for cell in roles:
        assert cell.metadata.nbgrader.checksum == compute_checksum(cell), cell.id
