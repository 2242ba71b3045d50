"""A new user's first hour: data is the machine's business, one line per cause."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from autograder import datasets
from autograder.authoring.gradescope_bundle import MissingData, build_bundle
from autograder.batch import grade_job, is_current, plan, read_record, write_outcome
from autograder.cli import main
from autograder.grading import Options, grade
from autograder.reports import to_text
from autograder.reports.gradescope import to_gradescope
from autograder.reports.html import to_html
from autograder.results import Status
from tests.conftest import ASSIGNMENTS, SOLUTIONS, grade_files, mutate, reference_source


def test_missing_dataset_is_not_graded_and_a_grader_fault(no_data, tmp_path, capsys):
    out = tmp_path / "results.json"
    args = ["grade", str(SOLUTIONS), "--only", "mlp", "--data-dir", str(no_data), "--json", str(out)]
    assert main(args) == 3
    document = json.loads(out.read_text())
    assert document["extra_data"]["grader_fault"] is True
    assert document["output"].startswith("This submission could not be graded")
    assert any(Status.DATA_UNAVAILABLE.value in test["output"] for test in document["tests"])
    text = capsys.readouterr().out
    assert text.count("is not available") == 1  # the dataset's fix is stated once
    assert "\n      - https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz\n" in text
    assert "He initialization" not in text and "hint:" not in text.split("not available")[1]


def test_missing_data_dir_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(SOLUTIONS), "--only", "svm", "--data-dir", str(tmp_path / "typo")])
    assert exit_.value.code == 2


def test_data_status_says_what_is_missing(no_data, capsys):
    assert main(["data", "status"]) == 1
    assert capsys.readouterr().out.count("missing; ") == len(datasets.DATASETS)


def test_stub_is_one_line_per_exercise():
    result = grade(ASSIGNMENTS, Options(mode="dev", only=("svm", "softmax")))
    text = to_text(result)
    for exercise in result.exercises:
        assert len(exercise.causes) == 1 and len(exercise.causes[0].checks) == len(exercise.checks)
    assert text.count("NotImplementedError") == 2
    assert "knn.py" not in text and "mlp.py" not in text  # other exercise modules are not "ignored"


def test_empty_submission_names_the_expected_modules(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    result = grade(tmp_path, Options(mode="dev"))
    text = to_text(result)
    assert len(text.splitlines()) < 8
    assert "expected knn.py, svm.py, softmax.py, optim.py, conv.py, mlp.py" in text
    assert "expected knn.py" in to_html(result) and "expected knn.py" in to_gradescope(result)["output"]


def test_syntax_error_is_stated_once_everywhere(tmp_path):
    result = grade_files(tmp_path, {"svm.py": "import numpy as np\nx = 1 +\n"}, only=("svm",))
    assert to_text(result).count("SyntaxError") == 1
    assert to_html(result).count("SyntaxError") == 1
    document = to_gradescope(result)
    assert document["output"].count("SyntaxError") == 1
    assert all("SyntaxError" not in test["output"] for test in document["tests"])


def test_named_bug_is_stated_once_with_its_checks(tmp_path):
    source = mutate(reference_source("svm"), "    dW /= num_train", "    pass")
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    causes = result.exercises[0].causes
    bugs = [cause for cause in causes if cause.text.startswith("Your result is exactly what this bug gives")]
    assert len(bugs) == 1 and len(bugs[0].checks) >= 2
    assert to_text(result).count(bugs[0].text) == 1


def test_wrong_values_do_not_get_the_loop_or_speed_hint(tmp_path):
    source = mutate(
        reference_source("svm"),
        "dW = X.T @ coefficients / num_train + 2 * reg * W",
        "dW = X.T @ coefficients + 0.5 * reg * W",
    )
    result = grade_files(tmp_path, {"svm.py": source}, only=("svm",))
    checks = {check.name: check for check in result.exercises[0].checks}
    for name in (
        "no loops in svm_loss_vectorized",
        "svm_loss_vectorized at least 10x faster than the naive loops",
    ):
        assert checks[name].status is Status.FAILED
        assert "loop" not in checks[name].hint.replace("loops and speed were not judged", "")


def test_hang_at_import_is_reported_once_with_the_import_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.sandbox.limits.START_SECONDS", 2.0)
    monkeypatch.setattr("autograder.checks.session.START_SECONDS", 2.0)
    files = {"svm.py": "import time\ntime.sleep(60)\n", "optim.py": reference_source("optim")}
    result = grade_files(tmp_path, files, only=("svm", "optim"))
    svm, optim = result.exercises
    assert [cause.text.split(":")[0] for cause in svm.causes] == [
        "svm.py did not finish importing within 2 s"
    ]
    assert svm.seconds < 10
    assert optim.score == optim.max_score
    assert to_text(result).count("did not finish importing") == 1


def test_peak_memory_is_the_exercises_own(tmp_path):
    """A grader that grew (a batch worker, earlier exercises) must not lend its
    size to a child: Linux carries the parent's peak RSS over exec into ru_maxrss."""
    grown = np.ones(400 * 2**20 // 8)  # the grader holds 400 MiB more than a child needs
    result = grade_files(tmp_path, {"svm.py": reference_source("svm")}, only=("svm",))
    peak = result.exercises[0].peak_memory_bytes
    assert 0 < peak < 300 * 2**20 < grown.nbytes


def test_bundle_carries_only_the_datasets_its_exercises_load(no_data, tmp_path):
    with pytest.raises(MissingData, match="mnist"):
        build_bundle(tmp_path / "mlp.zip", only=("mlp",), data_dir=no_data)
    shared = tmp_path / "shared"
    for name in datasets.DATASETS:
        (shared / name).mkdir(parents=True)
        for remote in datasets.DATASETS[name].values():
            (shared / name / remote.filename).write_bytes(b"")
    names = zipfile.ZipFile(build_bundle(tmp_path / "mlp.zip", only=("mlp",), data_dir=shared)).namelist()
    assert {name.split("/")[1] for name in names if name.startswith("data/")} == {"mnist"}
    svm = zipfile.ZipFile(build_bundle(tmp_path / "svm.zip", only=("svm",), data_dir=shared)).namelist()
    assert not [name for name in svm if name.startswith("data/")]


def test_help_shows_every_default(capsys):
    for command in ("grade", "batch", "gradescope-bundle"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "(default: dev)" in text or "(default: test)" in text
        assert "(default: all)" in text


def test_batch_grades_a_student_again_once_the_data_is_there(no_data, tmp_path):
    """A result that lacked a dataset is not kept on resume: the student is graded again."""
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "knn.py").write_text(reference_source("knn"))
    job = next(iter(plan(subs, "dev", ("knn",), None)))
    outcome = grade_job(job)
    assert outcome["record"]["grader_fault"] is True
    write_outcome(tmp_path / "out", outcome)
    assert not is_current(read_record(tmp_path / "out" / "alice"), job)
