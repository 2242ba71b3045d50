"""The command line contract and Gradescope's results.json schema."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jsonschema

from autograder.checks import EXERCISES
from autograder.cli import main
from autograder.grading import Options, grade
from tests.conftest import ASSIGNMENTS, DATA_DIR, ODD_BATCH_BUG, ROOT, SOLUTIONS, drawn_inputs

# Written out from https://gradescope-autograders.readthedocs.io/en/latest/specs/
TEST_SCHEMA = {
    "type": "object",
    "required": ["name", "score", "max_score", "status", "output", "tags", "visibility"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number", "minimum": 0},
        "status": {"enum": ["passed", "failed"]},
        "output": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "execution_time", "tests", "extra_data"],
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {
            "type": "object",
            "required": ["seed", "mode", "grader_version", "numpy", "isolation"],
        },
        "tests": {"type": "array", "items": TEST_SCHEMA, "minItems": 1},
    },
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def test_json_matches_gradescope_schema_and_tags_name_exercises(tmp_path):
    out = tmp_path / "results.json"
    completed = run_cli(
        "grade",
        str(SOLUTIONS),
        "--mode",
        "test",
        "--only",
        "svm,knn",
        "--json",
        str(out),
        "--data-dir",
        str(DATA_DIR),
        "--seed",
        "7",
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, RESULTS_SCHEMA)
    assert {tuple(t["tags"]) for t in document["tests"]} == {("knn",), ("svm",)}
    assert document["score"] == document["max_score"] == sum(t["max_score"] for t in document["tests"])
    assert document["extra_data"]["seed"] == 7 and document["extra_data"]["mode"] == "test"
    assert any(t["visibility"] == "after_published" for t in document["tests"])
    assert "TOTAL" in completed.stdout


def test_zero_score_still_exits_zero(tmp_path):
    out = tmp_path / "r.json"
    assert main(["grade", str(ASSIGNMENTS), "--only", "svm", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["score"] == 0


def test_usage_errors_exit_non_zero(tmp_path):
    assert run_cli("grade", str(tmp_path / "nowhere")).returncode == 2
    assert run_cli("grade", str(SOLUTIONS), "--only", "nonsense").returncode == 2
    assert run_cli("grade", str(SOLUTIONS), "--mode", "exam").returncode == 2


def test_grader_fault_exits_three_and_still_writes_results(tmp_path, monkeypatch):
    def broken(session):
        raise KeyError("a bug in the grader")

    first = EXERCISES["svm"].checks[0]
    patched = dataclasses.replace(EXERCISES["svm"], checks=(dataclasses.replace(first, run=broken),))
    monkeypatch.setitem(EXERCISES, "svm", patched)
    out = tmp_path / "r.json"
    assert main(["grade", str(SOLUTIONS), "--only", "svm", "--json", str(out)]) == 3
    document = json.loads(out.read_text())
    assert document["extra_data"]["grader_fault"] is True
    assert "grader fault" in document["tests"][0]["output"]


def test_a_grader_fault_is_worth_nothing_says_so_and_spares_the_other_checks(tmp_path, monkeypatch, capsys):
    """A plain bug in one check's code (not a student fault): that check scores 0
    with the verdict ``grader fault`` whatever its points, the run exits 3, and
    every other check of the exercise is graded as usual."""

    def broken(session):
        raise Exception("a bug in the grader")

    exercise = EXERCISES["svm"]
    victim = exercise.checks[1]
    checks = tuple(dataclasses.replace(c, run=broken) if c is victim else c for c in exercise.checks)
    monkeypatch.setitem(EXERCISES, "svm", dataclasses.replace(exercise, checks=checks))
    out = tmp_path / "r.json"
    assert main(["grade", str(SOLUTIONS), "--only", "svm", "--json", str(out)]) == 3
    document = json.loads(out.read_text())
    tests = {t["name"].removeprefix("svm: "): t for t in document["tests"]}
    faulty = tests.pop(victim.name)
    assert victim.points > 0 and faulty["max_score"] == victim.points
    assert faulty["score"] == 0 and faulty["status"] == "failed"
    assert faulty["extra_data"]["verdict"] == "grader fault"
    assert "grader fault: Exception: a bug in the grader" in faulty["output"]
    assert "could not be graded" in document["output"] and document["extra_data"]["grader_fault"] is True
    # Every other check passes on the references (the speed check may lose to machine load).
    assert all(t["score"] == t["max_score"] > 0 for name, t in tests.items() if "faster" not in name), tests
    assert document["score"] == sum(t["score"] for t in tests.values())
    printed = next(line for line in capsys.readouterr().out.splitlines() if victim.name in line)
    assert printed.split()[-2:] == ["grader", "fault"] and " 0/1 " in printed


def test_same_seed_reproduces_the_same_hidden_inputs(tmp_path):
    """--seed S reproduces a past score exactly: hidden checks' inputs are the seed's. Judged on
    a submission whose score depends on the inputs, and another seed must draw other hidden
    inputs (a grader that ignored the seed would pass the first half only)."""
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "svm.py").write_text(ODD_BATCH_BUG)
    a, b = (grade(folder, Options(mode="test", only=("svm",), seed=11)) for _ in range(2))
    assert a.seed == b.seed == 11
    assert [c.score for c in a.exercises[0].checks] == [c.score for c in b.exercises[0].checks]
    drawn = {seed: drawn_inputs(folder, Options(mode="test", only=("svm",), seed=seed)) for seed in (11, 12)}
    svm = EXERCISES["svm"]
    for check in svm.checks:
        check_id = svm.check_id(check)
        changed = drawn[11][check_id] != drawn[12][check_id]
        assert changed is (check.visibility == "hidden"), check_id
