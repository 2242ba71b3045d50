"""Reports render student text safely and keep hidden checks hidden.

A hostile result (escape sequences, bidirectional overrides, carriage returns,
newlines and a non-UTF-8 file name in its messages and notes, NaN and infinite
measurements, a hidden check whose message quotes its inputs) goes through
every renderer; each output must be inert text, strict JSON where it is JSON,
and free of the hidden check's message wherever a student may read it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.batch import plan, run_batch
from autograder.cli import main
from autograder.environment import environment
from autograder.reports import to_gradescope, to_text
from autograder.reports.gradebook import gradebook_csv, summary_html
from autograder.reports.html import to_html
from autograder.reports.safe import clean, json_text, one_line, spreadsheet_cell
from autograder.reports.visibility import INSTRUCTOR_ONLY, instructor_document, student_view
from autograder.results import CheckResult, ExerciseResult, GradingResult, Status, result_to_dict
from tests.reports.strict import UNSAFE, json_shown, strict_loads

HOSTILE = (
    "boom\x1b[2J\x1b[H\x1b]0;pwned\x07\x9b31m\rTOTAL 99 / 1\u202eevil\u2066x\u2069\b\x00\ud800\nTOTAL 99 / 1"
)
"""An exception message that clears the screen, sets the title, rewrites its line,
reverses the text that follows and forges a TOTAL line of its own."""

SECRET = "HIDDEN-INPUT-[[0.123, -4.56]]"
"""What a hidden check's message quotes: its inputs (never shown to a student)."""


HOSTILE_NAME = '=HYPERLINK("evil.example","x")\x1b[1A\u202e'
"""A student (folder) name: a spreadsheet formula, a cursor move, a bidi override."""

LATIN1_NAME = "caf\udce9"
"""A folder name that is not UTF-8 (b"caf\\xe9"), as ``os.fsdecode`` reads it."""


def hostile_result() -> GradingResult:
    """A result carrying every kind of hostile text and number."""
    checks = [
        CheckResult("visible loss", "svm", 2, 0, Status.ERROR, "visible", message=HOSTILE, hint="look at dW"),
        CheckResult("visible dW", "svm", 2, 2, Status.PASSED, "visible"),
        CheckResult(
            "hidden loss (hidden inputs)", "svm", 3, 0, Status.FAILED, "hidden",
            message=f"loss on {SECRET}: expected 1.25, got 2.5", hint="divide by N",
            details={"inputs": SECRET, "max_relative_error": float("nan")},
        ),
        CheckResult(
            "accuracy", "svm", 1, 0, Status.FAILED, "visible", message="accuracy low",
            details={"epoch_losses": [float("nan"), float("inf"), -float("inf"), 1.0], "loss": float("nan")},
        ),
    ]  # fmt: skip
    exercise = ExerciseResult(
        "svm", "Multiclass SVM", f"graded {HOSTILE}", checks, notes=[f"ignored: {HOSTILE}.py"]
    )
    return GradingResult([exercise], "test", 7, environment(), 1.5)


def test_the_strict_readers_would_notice():
    """strict_loads refuses NaN and Infinity; json_shown exposes a raw escape that
    JSON carried as \\u001b (a search of the JSON text itself would miss it)."""
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match=constant):
            strict_loads(f'{{"loss": {constant}}}')
    raw = json.dumps({"output": "\x1b[2J\u202e\r"})
    assert not UNSAFE.search(raw) and UNSAFE.findall(json_shown(raw)) == ["\x1b", "\u202e", "\r"]


def test_clean_escapes_controls_and_overrides_but_keeps_layout():
    assert clean("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert clean("x\x1b[31m\ry\u202ez\x9b\ud800") == "x\\x1b[31m\\x0dy\\u202ez\\x9b\\ud800"
    assert one_line("a\nb\tc\u2028") == "a\\x0ab\\x09c\\u2028"
    assert not UNSAFE.search(clean(HOSTILE)) and "\n" not in one_line(HOSTILE)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "\\x09=1"),
        ("\r=1", "\\x0d=1"),
        ("-3", "-3"),
        ("-0.5e-3", "-0.5e-3"),
        ("+4", "+4"),
        (-2.5, "-2.5"),
        ("alice", "alice"),
    ],
)
def test_spreadsheet_cells_neutralize_formulas_not_numbers(cell, shown):
    assert spreadsheet_cell(cell) == shown


def test_json_text_is_strict_and_clean():
    text = json_text({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c\x1b": "d\x1b"})
    assert strict_loads(text) == {"a": None, "b": [None, None, 1.5], "c\\x1b": "d\\x1b"}


def hostile_record(result) -> dict:
    """A batch record of ``result`` under the hostile student name, as the gradebook reads it."""
    return {
        "student": HOSTILE_NAME,
        "submission_hash": "0" * 64,
        "problem": "",
        "result": result_to_dict(result),
    }


def test_every_renderer_emits_inert_text():
    result = hostile_result()
    record = hostile_record(result)
    unsupported = {**record, "student": "=cmd", "problem": HOSTILE, "result": None}
    outputs = {
        "text": to_text(result),
        "html": to_html(result, f"Feedback for {HOSTILE_NAME}"),
        "gradescope": json_shown(json_text(to_gradescope(result))),
        "gradebook": gradebook_csv([record, unsupported]),
        "summary": summary_html([record, unsupported]),
    }
    for name, text in outputs.items():
        assert not UNSAFE.search(text), (name, UNSAFE.findall(text))
    lines = outputs["text"].splitlines()
    assert [line for line in lines if line.startswith("TOTAL")] == [lines[-1]]
    assert lines[-1].startswith(f"TOTAL {result.score:g} / {result.max_score:g}")
    assert "\\x1b[2J" in outputs["text"], "the escape is shown, not dropped"


def test_gradebook_neutralizes_formula_names_and_keeps_numbers():
    result = hostile_result()
    record = hostile_record(result)
    rows = list(csv.DictReader(io.StringIO(gradebook_csv([record]))))
    assert rows[0]["student"].startswith("'=HYPERLINK(")
    assert float(rows[0]["total"]) == result.score and float(rows[0]["max_score"]) == result.max_score
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-[\d.e+-]+", cell), cell


def test_hidden_check_shows_verdict_name_and_hint_never_its_message():
    result = hostile_result()
    hidden = result.exercises[0].checks[2]
    outputs = {
        "text": to_text(result),
        "html": to_html(result),
        "gradescope": json_shown(json_text(to_gradescope(result))),
    }
    for name, text in outputs.items():
        assert "HIDDEN-INPUT" not in text and "expected 1.25" not in text, name
        assert "withheld" in text and "divide by N" in text and "hidden loss (hidden inputs)" in text, name
    shown = next(t for t in to_gradescope(result)["tests"] if t["name"].endswith(hidden.name))
    assert shown["output"].startswith("failed") and "Hint: divide by N" in shown["output"]
    assert "inputs" not in shown["extra_data"] and "max_relative_error" in shown["extra_data"]
    full = json.dumps(instructor_document(result))
    assert SECRET in full and "expected 1.25" in full
    assert instructor_document(result)["instructor_only"] == INSTRUCTOR_ONLY
    # The rule does not change what a visible check shows.
    assert student_view(result).exercises[0].checks[0] == result.exercises[0].checks[0]


def test_grade_writes_strict_json_and_a_separate_instructor_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("autograder.grading.grade", lambda paths, options: hostile_result())
    out, instructor, page = tmp_path / "results.json", tmp_path / "instructor.json", tmp_path / "f.html"
    args = [
        "grade",
        str(tmp_path),
        "--json",
        str(out),
        "--instructor-json",
        str(instructor),
        "--html",
        str(page),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert not UNSAFE.search(printed) and printed.splitlines()[-1].startswith("TOTAL 2 / 8")
    document = strict_loads(out.read_text())
    assert not UNSAFE.search(json_shown(out.read_text()) + json_shown(instructor.read_text()))
    assert SECRET not in out.read_text() and "HIDDEN-INPUT" not in out.read_text()
    accuracy = next(t for t in document["tests"] if t["name"] == "svm: accuracy")
    assert accuracy["extra_data"]["epoch_losses"] == [None, None, None, 1.0]
    record = strict_loads(instructor.read_text())
    assert record["instructor_only"] == INSTRUCTOR_ONLY
    assert SECRET in instructor.read_text()
    assert not UNSAFE.search(page.read_text())


def test_batch_outputs_are_strict_json_and_inert_for_a_hostile_student_name(tmp_path, monkeypatch):
    subs, out = tmp_path / "subs", tmp_path / "out"
    names = [HOSTILE_NAME, LATIN1_NAME, "-1", "bob"]
    for name in names:
        (subs / name).mkdir(parents=True)
        (subs / name / "svm.py").write_text("")
    monkeypatch.setattr("autograder.batch.grade", lambda folder, options: hostile_result())
    stream = io.StringIO()
    with ThreadPoolExecutor(2) as pool:
        report = run_batch(plan(subs, "test", ("svm",), None), out, pool, stream)
    assert sorted(report.graded) == sorted(names) and not report.faults
    assert not UNSAFE.search(stream.getvalue())
    for student in report.graded:
        folder = out / student
        results_text = (folder / "results.json").read_text()
        instructor_text = (folder / "instructor.json").read_text()
        stored = strict_loads(results_text)["result"]["exercises"][0]["checks"][2]
        full = strict_loads(instructor_text)["result"]["exercises"][0]["checks"][2]
        assert "HIDDEN-INPUT" not in results_text and stored["message"].startswith("hidden check")
        assert SECRET in full["message"] and full["details"]["inputs"] == SECRET
        assert not UNSAFE.search((folder / "feedback.html").read_text())
        assert not UNSAFE.search(json_shown(results_text) + json_shown(instructor_text))
    book = list(csv.DictReader((out / "gradebook.csv").open()))
    assert {row["student"] for row in book} == {"'" + one_line(HOSTILE_NAME), "caf\\udce9", "-1", "bob"}
    for row in book:
        assert all(math.isfinite(float(row[column])) for column in ("svm", "total", "max_score", "seconds"))
    assert not UNSAFE.search((out / "summary.html").read_text())
