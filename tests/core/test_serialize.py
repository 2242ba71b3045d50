"""Unit tests of ``results/serialize.py`` (round trips through plain data and
JSON) and of the Gradescope document built from a hand-made result."""

from __future__ import annotations

import json

import pytest

from autograder.reports.gradescope import HIDDEN_VISIBILITY, to_gradescope, write_gradescope
from autograder.results import (
    Cause,
    CheckResult,
    ExerciseResult,
    GradingResult,
    Status,
    result_from_dict,
    result_to_dict,
)


def check(name: str, status: Status, points: float = 2.0, **fields) -> CheckResult:
    return CheckResult(
        name=name,
        exercise=fields.pop("exercise", "svm"),
        max_score=points,
        score=points if status is Status.PASSED else 0.0,
        status=status,
        visibility=fields.pop("visibility", "visible"),
        id=f"svm/{name}",
        **fields,
    )


def result(*checks: CheckResult, causes=(), **fields) -> GradingResult:
    exercise = ExerciseResult(
        exercise="svm",
        title="SVM",
        verdict=fields.pop("verdict", "graded"),
        checks=list(checks),
        seconds=1.23456,
        peak_memory_bytes=2048,
        notes=["a note"],
        datasets={"mnist": [{"name": "train.gz", "official": True}]},
        causes=list(causes),
    )
    return GradingResult(
        exercises=[exercise],
        mode=fields.pop("mode", "test"),
        seed=1234,
        environment={"grader_version": "9.9", "isolation": "full"},
        execution_time=3.14159,
        phases={"probe": 0.5, "checks": 1.0},
    )


EVERY_STATUS = [check(f"c{k}", status, details={"k": k}) for k, status in enumerate(Status)]


def test_a_result_survives_a_round_trip_through_json():
    original = result(
        *EVERY_STATUS,
        check("h", Status.FAILED, visibility="hidden", message="m", hint="h", seconds=0.5),
        causes=[Cause("svm.py is not in the submission", ["c0", "c1"], "hint"), Cause("x", ["c2"])],
    )
    document = json.loads(json.dumps(result_to_dict(original)))
    back = result_from_dict(document)
    assert back == original
    assert all(type(c.status) is Status for c in back.exercises[0].checks)
    assert isinstance(back.exercises[0].causes[0], Cause)


def test_the_plain_form_holds_strings_and_numbers_only():
    document = result_to_dict(result(check("c", Status.INVALID_OUTPUT)))
    (exercise,) = document["exercises"]
    (plain,) = exercise["checks"]
    assert plain["status"] == "invalid output" and type(plain["status"]) is str
    assert exercise["causes"] == [] and document["seed"] == 1234
    assert set(document) == {"exercises", "mode", "seed", "environment", "execution_time", "phases"}


def test_a_document_without_causes_reads_as_no_causes():
    document = result_to_dict(result(check("c", Status.PASSED)))
    del document["exercises"][0]["causes"]
    assert result_from_dict(document).exercises[0].causes == []


def test_serialising_does_not_change_the_result():
    original = result(check("c", Status.TIMEOUT))
    result_to_dict(original)
    assert original.exercises[0].checks[0].status is Status.TIMEOUT


# -- Gradescope ---------------------------------------------------------------------


def test_gradescopes_top_level_fields():
    document = to_gradescope(result(check("a", Status.PASSED, 1.0 / 3), check("b", Status.FAILED, 2.0)))
    assert document["score"] == 0.333333 and document["max_score"] == 2.333333
    assert document["execution_time"] == 3.142
    assert (document["visibility"], document["stdout_visibility"]) == ("visible", "hidden")
    assert document["output"] == "Graded in test mode: 0.333333 / 2.33333."
    extra = document["extra_data"]
    assert (extra["seed"], extra["mode"], extra["grader_fault"]) == (1234, "test", False)
    assert (extra["grader_version"], extra["isolation"]) == ("9.9", "full")
    assert extra["phases"] == {"probe": 0.5, "checks": 1.0}
    assert extra["exercises"]["svm"] == {
        "score": 1.0 / 3,
        "max_score": 2.0 + 1.0 / 3,
        "verdict": "graded",
        "seconds": 1.235,
        "peak_memory_bytes": 2048,
        "notes": ["a note"],
        "datasets": {"mnist": [{"name": "train.gz", "official": True}]},
    }


def test_each_test_is_named_and_tagged_by_its_exercise():
    passed = check("loss", Status.PASSED, details={"ratio": 12.0}, seconds=0.12345)
    failed = check(
        "dW", Status.INVALID_OUTPUT, message="dW: expected shape (3,), got shape (2,)", hint="look"
    )
    first, second = to_gradescope(result(passed, failed))["tests"]
    assert first == {
        "name": "svm: loss",
        "score": 2.0,
        "max_score": 2.0,
        "status": "passed",
        "output": "passed",
        "tags": ["svm"],
        "visibility": "visible",
        "extra_data": {"id": "svm/loss", "verdict": "passed", "seconds": 0.123, "ratio": 12.0},
    }
    assert second["status"] == "failed" and second["score"] == 0.0
    assert second["output"] == "invalid output\ndW: expected shape (3,), got shape (2,)\nHint: look"
    assert second["extra_data"]["verdict"] == "invalid output"


def test_a_failure_without_a_hint_shows_no_hint_line():
    (test,) = to_gradescope(result(check("dW", Status.FAILED, message="dW: expected 1, got 2")))["tests"]
    assert test["output"].rstrip("\n") == "failed\ndW: expected 1, got 2"


def test_a_hidden_check_is_shown_after_publication_with_its_message_withheld():
    hidden = check(
        "dW hidden",
        Status.FAILED,
        visibility="hidden",
        message="dW: expected 0.123 at [4, 2], got 0.5",
        details={"max_relative_error": 0.1, "input_seed": 99},
    )
    (test,) = to_gradescope(result(hidden))["tests"]
    assert test["visibility"] == HIDDEN_VISIBILITY == "after_published"
    assert "0.123" not in test["output"] and "withheld" in test["output"]
    assert test["extra_data"] == {
        "id": "svm/dW hidden",
        "verdict": "failed",
        "seconds": 0.0,
        "max_relative_error": 0.1,
    }


def test_a_shared_cause_is_stated_once_at_the_top():
    missing = "svm.py is not in the submission"
    checks = [check(name, Status.MISSING, message=missing) for name in ("a", "b")]
    wrong = check("c", Status.FAILED, message="c: expected 1, got 2", hint="named")
    document = to_gradescope(
        result(*checks, wrong, causes=[Cause(missing, ["a", "b"]), Cause("a bug", ["c"], "fix it")])
    )
    assert document["output"] == (
        f"Graded in test mode: 0 / 6.\n\nsvm: {missing}\n\nsvm: a bug\nHint: fix it"
    )
    first, _, third = document["tests"]
    assert first["output"] == f"{Status.MISSING.value}\n(cause stated once at the top, under svm)"
    # a failed value check explained by a cause keeps its message, without the hint
    assert third["output"].rstrip("\n") == "failed\nc: expected 1, got 2"


def test_a_grader_fault_says_the_submission_was_not_graded():
    document = to_gradescope(result(check("c", Status.GRADER_FAULT, message="grader fault: KeyError")))
    assert document["output"] == (
        "This submission could not be graded: the grading machine failed (a grader fault or a dataset it "
        "lacks), not your code. Tell your instructor; it will be graded again."
    )
    assert document["extra_data"]["grader_fault"] is True


def test_nothing_submitted_names_the_expected_modules():
    document = to_gradescope(result(check("c", Status.MISSING), verdict="not submitted"))
    assert document["output"].endswith(
        "no exercise module found: expected svm.py (or notebooks defining their functions); "
        "nothing was graded"
    )


def test_write_gradescope_writes_strict_json(tmp_path):
    path = tmp_path / "out" / "results.json"
    write_gradescope(result(check("c", Status.PASSED, details={"ratio": float("nan")})), path)
    text = path.read_text()
    assert "NaN" not in text
    assert text.startswith('{\n  "score": 2.0,\n')  # indented by two spaces
    document = json.loads(text)
    assert document["tests"][0]["extra_data"]["ratio"] is None
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]


@pytest.mark.parametrize("status", [Status.PASSED, Status.FAILED])
def test_the_score_is_the_sum_of_the_tests(status):
    document = to_gradescope(result(check("a", status, 1.5), check("b", Status.PASSED, 0.25)))
    assert document["score"] == pytest.approx(sum(test["score"] for test in document["tests"]))
    assert document["max_score"] == pytest.approx(sum(test["max_score"] for test in document["tests"]))
