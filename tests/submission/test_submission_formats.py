"""Every submission format gives the right verdict: folders, zips (safe and malicious),
notebooks, loose files and the native CS231n layout."""

from __future__ import annotations

import ast
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.results import Status
from autograder.submission import zipfiles
from autograder.submission.formats import CONTRACTS, SubmissionRefused, open_submission
from autograder.submission.notebooks import without_magics
from tests.conftest import ASSIGNMENTS, DATA_DIR, reference_source

SVM = Options(mode="dev", only=("svm",), data_dir=DATA_DIR)


def work_folder(tmp_path: Path) -> Path:
    """The empty folder ``open_submission`` unpacks and generates modules into."""
    work = tmp_path / "work"
    work.mkdir()
    return work


def svm_score(result) -> tuple[float, float]:
    return result.score, result.max_score


def statuses(result) -> set[Status]:
    return {check.status for exercise in result.exercises for check in exercise.checks}


def notes(result) -> str:
    return "\n".join(note for exercise in result.exercises for note in exercise.notes)


def test_contracts_are_the_names_the_stubs_define():
    for exercise in EXERCISES:
        tree = ast.parse((ASSIGNMENTS / f"{exercise}.py").read_text())
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert tuple(defined) == CONTRACTS[exercise]


# -- folders and zips ------------------------------------------------------------------------


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_grades_like_the_folder_with_the_same_seed(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "svm.py").write_text(reference_source("svm"))
    archive = write_zip(tmp_path / "hw.zip", {"svm.py": reference_source("svm"), "notes.txt": "hi"})
    from_folder, from_zip = grade(folder, SVM), grade(archive, SVM)
    assert svm_score(from_zip) == svm_score(from_folder) == (from_zip.max_score, from_zip.max_score)
    assert from_zip.seed == from_folder.seed
    assert "ignored (not an exercise module): notes.txt" in notes(from_zip)


def test_a_zip_of_a_folder_is_that_folder(tmp_path):
    archive = write_zip(
        tmp_path / "hw.zip",
        {"alice/svm.py": reference_source("svm"), "alice/data.csv": "1,2", "__MACOSX/._x": ""},
    )
    result = grade(archive, SVM)
    assert result.score == result.max_score > 0
    assert "data.csv" in notes(result)


def symlink_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("svm.py", reference_source("svm"))
        link = zipfile.ZipInfo("knn.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


MALICIOUS = {
    "traversal": (lambda p: write_zip(p, {"svm.py": "", "../escaped.py": "x = 1"}), "climbs out"),
    "absolute": (lambda p: write_zip(p, {"/tmp/absolute_member.py": "x = 1"}), "absolute path"),
    "windows absolute": (lambda p: write_zip(p, {"C:\\evil.py": "x = 1"}), "absolute path"),
    "symlink": (symlink_zip, "symbolic link"),
    "bomb": (lambda p: write_zip(p, {"svm.py": "", "pad.py": b" " * (50 * 1024**2)}), "zip bomb"),
    "not a zip": (lambda p: p.write_bytes(b"PK\x03\x04 truncated") and p, "not a readable zip"),
}


@pytest.mark.parametrize("case", MALICIOUS)
def test_a_malicious_zip_is_refused_with_a_verdict(tmp_path, case):
    make, reason = MALICIOUS[case]
    (tmp_path / "in").mkdir()
    archive = make(tmp_path / "in" / "hw.zip")
    result = grade(archive, Options(mode="test", only=("svm", "knn"), data_dir=DATA_DIR))
    assert result.score == 0 and not result.grader_fault
    assert statuses(result) == {Status.IMPORT_FAILED}
    verdicts = {exercise.verdict for exercise in result.exercises}
    assert len(verdicts) == 1 and reason in verdicts.pop()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["hw.zip", "in"]  # nothing written beside it


def test_too_many_members_are_refused(tmp_path, monkeypatch):
    """(The limit is lowered in this process, so the intake is called here, not in
    its child; the refusal reaching the report is the malicious zips' test.)"""
    monkeypatch.setattr(zipfiles, "MAX_MEMBERS", 20)
    archive = write_zip(tmp_path / "hw.zip", {f"f{i}.txt": "" for i in range(21)})
    with pytest.raises(SubmissionRefused, match="at most 20"):
        open_submission([archive], ["svm"], work_folder(tmp_path))
    ok = write_zip(
        tmp_path / "ok.zip", {"svm.py": reference_source("svm")} | {f"f{i}.txt": "" for i in range(19)}
    )
    (tmp_path / "work2").mkdir()
    assert list(open_submission([ok], ["svm"], tmp_path / "work2").modules) == ["svm"]


def test_extracted_bytes_are_capped_even_below_the_ratio_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(zipfiles, "MAX_EXTRACTED_BYTES", 1000)
    archive = write_zip(tmp_path / "hw.zip", {"svm.py": reference_source("svm")})
    with pytest.raises(SubmissionRefused, match="exceed"):
        open_submission([archive], ["svm"], work_folder(tmp_path))


# -- loose files and notebooks -----------------------------------------------------------------


def test_loose_modules_are_graded_together(tmp_path):
    for exercise in ("svm", "optim"):
        (tmp_path / f"{exercise}.py").write_text(reference_source(exercise))
    paths = [tmp_path / "svm.py", tmp_path / "optim.py"]
    result = grade(paths, Options(mode="dev", only=("svm", "optim")))
    assert result.score == result.max_score > 0


def test_an_unsupported_file_is_refused(tmp_path):
    (tmp_path / "svm.txt").write_text(reference_source("svm"))
    result = grade(tmp_path / "svm.txt", SVM)
    assert "unsupported submission svm.txt" in result.exercises[0].verdict


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Homework")] + [
        nbformat.v4.new_code_cell(c) for c in cells
    ]
    nbformat.write(notebook, path)
    return path


def svm_notebook_cells() -> list[str]:
    """A student's notebook: magics, experiments, a wrong first try redefined later."""
    reference = reference_source("svm")
    return [
        "%matplotlib inline\n!pip install nothing\nimport numpy as np\nimport matplotlib.pyplot as plt",
        "def svm_loss_naive(W, X, y, reg):\n    return 0.0, W",  # the first try, replaced below
        reference,
        "files = !ls\nW = np.zeros((3, 2))\n"
        "loss, _ = svm_loss_naive(W, np.ones((1, 3)), np.zeros(1, int), 0.1)\n"
        "plt.plot([loss])\nraise SystemExit('experiments must not run when the module is imported')",
        "%%time\nsvm_loss_vectorized(W, X, y, 0.0)",
        "def broken(:\n    pass",
    ]


def test_a_notebook_yields_its_contract_definitions_only(tmp_path):
    path = write_notebook(tmp_path / "homework.ipynb", svm_notebook_cells())
    result = grade(path, SVM)
    assert result.score == result.max_score > 0
    text = notes(result)
    assert "svm: its definitions taken from homework.ipynb" in text
    assert "code cell 6 does not parse" in text


def test_notebooks_map_by_name_or_by_contract(tmp_path):
    write_notebook(tmp_path / "svm.ipynb", svm_notebook_cells())
    write_notebook(tmp_path / "scratch.ipynb", ["import numpy as np\nx = np.ones(3)"])
    write_notebook(tmp_path / "rules.ipynb", [reference_source("optim")])
    submission = open_submission(sorted(tmp_path.glob("*.ipynb")), list(EXERCISES), work_folder(tmp_path))
    assert set(submission.modules) == {"svm", "optim"}
    assert submission.ignored == ["scratch.ipynb"]
    module = submission.modules["svm"].read_text()
    assert "SystemExit" not in module and "plt" not in module and "return 0.0, W" not in module


def test_magics_are_blanked_line_for_line():
    source = "%time f()\n!ls\nx = !ls\ny = 5 % 3\nz = a != b"
    assert without_magics(source) == "\n\n\ny = 5 % 3\nz = a != b"
    assert without_magics("\n%%bash\necho hi") == ""


# -- the native CS231n layout ----------------------------------------------------------------------

CS231N_HEADER = "\n".join(
    [
        "from builtins import range",
        "import numpy as np",
        "from random import shuffle",
        "from past.builtins import xrange",
        "",
    ]
)
"""The first lines of CS231n's starter files."""


def test_a_cs231n_repository_grades_as_it_is(tmp_path):
    repo = tmp_path / "cs231n-2024"
    classifiers = repo / "assignment1" / "cs231n" / "classifiers"
    classifiers.mkdir(parents=True)
    (classifiers / "linear_svm.py").write_text(CS231N_HEADER + reference_source("svm"))
    (classifiers / "__init__.py").write_text("")
    (repo / "assignment1" / "knn.ipynb").write_text("{}")
    layers = repo / "assignment2" / "cs231n" / "layers.py"
    layers.parent.mkdir(parents=True)
    layers.write_text(CS231N_HEADER + reference_source("conv"))
    (repo / "assignment1" / "cs231n" / "layers.py").write_text("def affine_forward(x, w, b):\n    pass\n")
    result = grade(repo, Options(mode="dev", only=("svm", "conv"), data_dir=DATA_DIR))
    assert result.score == result.max_score > 0
    text = notes(result)
    assert "svm: taken from assignment1/cs231n/classifiers/linear_svm.py (CS231n layout)" in text
    assert "conv: taken from assignment2/cs231n/layers.py" in text
    assert "replaced from past.builtins import xrange" in text
    assert "assignment1/cs231n/layers.py" in text and "knn.ipynb" in text  # listed as ignored


def test_cs231n_knn_without_cross_validate_k_says_missing(tmp_path):
    classifiers = tmp_path / "cs231n" / "classifiers"
    classifiers.mkdir(parents=True)
    reference = reference_source("knn")
    cut = reference.index("def cross_validate_k")
    (classifiers / "k_nearest_neighbor.py").write_text(CS231N_HEADER + reference[:cut])
    result = grade(tmp_path, Options(mode="dev", only=("knn",), data_dir=DATA_DIR))
    by_status = {c.name: c.status for c in result.exercises[0].checks}
    assert Status.MISSING in by_status.values()
    assert result.score > 0
