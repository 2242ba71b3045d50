"""Unit tests of the text report and the batch gradebook and summary, rendered
from hand-made results: every figure they show is worked out here."""

from __future__ import annotations

import csv
import io

import pytest

from autograder.reports import text
from autograder.reports.gradebook import FAILING_SHOWN, gradebook_csv, summary_html, verdict_counts
from autograder.results import Cause, CheckResult, ExerciseResult, GradingResult, Status, result_to_dict
from autograder.results.causes import NAMED_BUG

ENVIRONMENT = {"grader_version": "9.9", "numpy": "2.0", "blas": "openblas 0.3", "isolation": "full"}


def check(name: str, status: Status, points: float = 2.0, exercise: str = "svm", **fields) -> CheckResult:
    return CheckResult(
        name=name,
        exercise=exercise,
        max_score=points,
        score=points if status is Status.PASSED else 0.0,
        status=status,
        visibility=fields.pop("visibility", "visible"),
        id=f"{exercise}/{name}",
        **fields,
    )


def exercise(exercise_id: str, *checks: CheckResult, **fields) -> ExerciseResult:
    return ExerciseResult(
        exercise_id, exercise_id.upper(), fields.pop("verdict", "graded"), list(checks), **fields
    )


def result(*exercises: ExerciseResult, **fields) -> GradingResult:
    return GradingResult(
        list(exercises),
        mode=fields.pop("mode", "dev"),
        seed=fields.pop("seed", 231),
        environment=fields.pop("environment", ENVIRONMENT),
        **fields,
    )


# -- the text report ----------------------------------------------------------------


def test_the_text_report_of_a_graded_exercise():
    svm = exercise(
        "svm",
        check("loss", Status.PASSED),
        check("dW", Status.FAILED, message="dW: expected 1, got 2", hint="look at the margin"),
        check("speed", Status.TIMEOUT, 1.0, visibility="hidden", message="ran out", hint="vectorize"),
        seconds=1.25,
        peak_memory_bytes=3 * 2**20,
        notes=["svm.py has non-breaking spaces"],
    )
    report = text.to_text(result(svm, execution_time=2.0)).splitlines()
    assert report[0] == (
        "mode dev, seed 231, grader 9.9, NumPy 2.0 (openblas 0.3); isolation: full grading sandbox"
    )
    assert report[1:] == [
        "",
        "== svm: SVM -- 2 / 5 (graded; 1.2 s, peak 3 MiB)",
        "  loss     2/2  passed",
        "  dW       0/2  failed",
        "      dW: expected 1, got 2",
        "      hint: look at the margin",
        "  speed    0/1  timeout [hidden]",
        "      hidden check 'speed': timeout; its inputs, expected values and full message are withheld "
        "(your",
        "        instructor's record has them)",
        "      hint: vectorize",
        "  note: svm.py has non-breaking spaces",
        "",
        "TOTAL 2 / 5  (2.0 s)",
    ]


def test_a_cause_is_stated_once_with_the_checks_it_explains():
    missing = "svm.py raised NameError at import"
    svm = exercise(
        "svm",
        check("a", Status.IMPORT_FAILED, message=missing, hint="h"),
        check("b", Status.IMPORT_FAILED, 1.5, message=missing, hint="h"),
        check("c", Status.FAILED, message="c: expected 1, got 2", hint=NAMED_BUG + "no margin"),
        verdict=f"import failed: {missing}",
        causes=[Cause(missing, ["a", "b"], "fix the import"), Cause(NAMED_BUG + "no margin", ["c"])],
    )
    report = text.to_text(result(svm)).splitlines()
    assert report[2] == "== svm: SVM -- 0 / 5.5 (import failed; 0.0 s)"
    assert report[3:10] == [
        f"  {missing}",
        "    hint: fix the import",
        "    checks: a (0/2) · b (0/1.5)",
        f"  {NAMED_BUG}no margin",
        "    checks: c (0/2)",
        "  c    0/2  failed",
        "      c: expected 1, got 2",
    ]
    assert report[10] == ""


def test_an_exercise_not_submitted_shows_its_notes_only():
    knn = exercise("knn", check("a", Status.MISSING, exercise="knn"), verdict="not submitted", notes=["n"])
    svm = exercise("svm", check("a", Status.PASSED))
    report = text.to_text(result(knn, svm)).splitlines()
    assert report[2:5] == ["== knn: KNN -- 0 / 2 (not submitted; 0.0 s)", "  note: n", ""]


def test_nothing_submitted_names_the_expected_modules():
    knn = exercise("knn", check("a", Status.MISSING, exercise="knn"), verdict="not submitted", notes=["n"])
    report = text.to_text(result(knn)).splitlines()
    assert report[2].startswith("no exercise module found: expected knn.py")
    assert report[3:] == ["note: n", "", "TOTAL 0 / 2  (0.0 s)"]


def test_practice_mode_is_said():
    environment = {**ENVIRONMENT, "practice_mode": True}
    first = text.to_text(result(exercise("svm"), environment=environment)).splitlines()[0]
    assert first.endswith(f"; {text.PRACTICE_MODE}")


def test_a_long_message_is_wrapped_and_its_lines_kept():
    message = "first line " + "word " * 30 + "\nsecond line"
    wrapped = text.wrap(message, "    ", "hint: ")
    assert wrapped[0].startswith("    hint: first line word")
    assert all(len(line) <= text.WIDTH for line in wrapped)
    assert wrapped[1].startswith("      word") and wrapped[-1] == "      second line"
    assert text.wrap("", "  ") == []
    assert text.wrap("a\n\nb", "  ") == ["  a", "", "    b"]


@pytest.mark.parametrize(
    ("verdict", "cause", "shown"),
    [
        ("timeout: svm.py did not finish importing", "svm.py did not finish importing", "timeout"),
        ("timeout: the check's limit ran out", "something else", "timeout: the check's limit ran out"),
        ("graded", "graded", "graded"),
    ],
)
def test_the_headline_drops_a_detail_stated_as_a_cause(verdict, cause, shown):
    assert text.headline(exercise("svm", verdict=verdict, causes=[Cause(cause, ["a", "b"])])) == shown


# -- the gradebook ----------------------------------------------------------------


def record(student: str, graded: GradingResult | None, problem: str = "") -> dict:
    return {
        "student": student,
        "submission_hash": f"hash-{student}",
        "problem": problem,
        "result": result_to_dict(graded) if graded else None,
    }


def rows(records: list[dict]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gradebook_csv(records))))


def test_the_gradebook_has_a_row_per_student_sorted_with_every_column():
    bob = result(
        exercise(
            "svm", check("a", Status.PASSED, 1.5), check("b", Status.FAILED), peak_memory_bytes=5 * 2**20
        ),
        exercise("knn", check("a", Status.PASSED, 0.5, exercise="knn"), peak_memory_bytes=2**20),
        seed=7,
        execution_time=3.456,
    )
    csv_text = gradebook_csv([record("bob", bob), record("alice", None, "unsupported submission format")])
    header = csv_text.splitlines()[0]
    # exercises in the course's order (knn before svm), then the fixed columns
    assert header == "student,knn,svm,total,max_score,verdicts,seconds,peak_memory_mib,seed,submission_hash"
    alice, bob_row = rows([record("bob", bob), record("alice", None, "unsupported submission format")])
    assert bob_row == {
        "student": "bob",
        "knn": "0.5",
        "svm": "1.5",
        "total": "2",
        "max_score": "4",
        "verdicts": "svm: 1 passed, 1 failed; knn: 1 passed",
        "seconds": "3.46",
        "peak_memory_mib": "5",
        "seed": "7",
        "submission_hash": "hash-bob",
    }
    assert alice == {
        "student": "alice",
        "knn": "0",
        "svm": "0",
        "total": "0",
        "max_score": "",
        "verdicts": "unsupported submission format",
        "seconds": "",
        "peak_memory_mib": "",
        "seed": "",
        "submission_hash": "hash-alice",
    }


def test_an_exercise_a_student_was_not_graded_on_is_blank():
    only_svm = result(exercise("svm", check("a", Status.PASSED)))
    both = result(exercise("svm", check("a", Status.PASSED)), exercise("knn", check("a", Status.FAILED)))
    by_student = {row["student"]: row for row in rows([record("a", only_svm), record("b", both)])}
    assert by_student["a"]["knn"] == "" and by_student["b"]["knn"] == "0"


def test_verdict_counts_most_frequent_first_or_the_verdict_when_no_check():
    svm = exercise("svm", check("a", Status.FAILED), check("b", Status.PASSED), check("c", Status.FAILED))
    assert verdict_counts(svm) == "2 failed, 1 passed"
    assert verdict_counts(exercise("svm", verdict="not submitted")) == "not submitted"


# -- the summary page ---------------------------------------------------------------


def test_the_summary_page_section_by_section():
    def submission(dw: Status, hint: str = "", stub: bool = True, peak: int = 0) -> GradingResult:
        checks = [
            check("dW", dw, hint=hint),
            check("loss", Status.FAILED),
            check("fault", Status.GRADER_FAULT),
        ]
        if stub:
            checks.append(check("stub", Status.NOT_ATTEMPTED))
        return result(exercise("svm", *checks, peak_memory_bytes=peak), execution_time=1.0 + peak / 2**20)

    records = [
        record("c", submission(Status.FAILED, NAMED_BUG + "other", peak=3 * 2**20)),
        record("a", submission(Status.FAILED, NAMED_BUG + "no reg")),
        record("b", submission(Status.FAILED, NAMED_BUG + "no reg")),
        record("d", submission(Status.PASSED, stub=False)),
        record("e", None, "grader fault: KeyError"),
    ]
    page = summary_html(records)
    assert page.startswith(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Batch summary</title>'
    )
    head = page[page.index("<body>\n") + 7 : page.index("<figure>")]
    assert head == (
        "<h1>Batch summary: 5 submissions</h1>\n"
        '<p class="meta">4 graded in mode dev · grader 9.9 · NumPy 2.0 · BLAS openblas 0.3 · '
        "isolation: full</p>\n"
        "<h2>Scores</h2>\n"
    )
    assert 'alt="svm: scores of 4 submissions"><figcaption>svm: scores of 4 submissions</figcaption>' in page
    tail = page[page.index("</figure>\n") + 10 :]
    # loss failed in four submissions, dW in three (two of them with the bug "no reg");
    # the stub and the grader fault are not the class's mistakes; d attempted everything
    assert tail == (
        "<h2>Most frequent failing checks</h2>\n"
        "<table><tr><th>exercise</th><th>check</th><th>submissions failing</th><th>named bug</th></tr>"
        "<tr><td>svm</td><td>loss</td><td>4</td><td></td></tr>"
        "<tr><td>svm</td><td>dW</td><td>3</td><td>no reg</td></tr></table>\n"
        "<h2>Not attempted</h2>\n"
        "<table><tr><th>exercise</th><th>submissions with work missing or not attempted</th></tr>"
        "<tr><td>svm</td><td>3</td></tr></table>\n"
        "<h2>Slowest submissions</h2>\n"
        "<table><tr><th>student</th><th>seconds</th><th>peak memory (MiB)</th></tr>"
        "<tr><td>c</td><td>4.0</td><td>3</td></tr><tr><td>a</td><td>1.0</td><td>0</td></tr>"
        "<tr><td>b</td><td>1.0</td><td>0</td></tr><tr><td>d</td><td>1.0</td><td>0</td></tr></table>\n"
        "<h2>Not graded</h2>\n"
        "<table><tr><th>student</th><th>why</th></tr>"
        "<tr><td>e</td><td>grader fault: KeyError</td></tr></table>\n"
        "</body></html>\n"
    )
    assert "Code similarity" not in page
    linked = summary_html(records, "similarity.html")
    assert (
        '\n<p><a href="similarity.html">Code similarity across the class</a></p>\n<h2>Scores</h2>' in linked
    )


def test_the_summary_shows_at_most_its_row_limits():
    records = [
        record(
            f"s{k:02d}",
            result(
                exercise("svm", *(check(f"c{j}", Status.FAILED) for j in range(FAILING_SHOWN + 3))),
                execution_time=float(k),
            ),
        )
        for k in range(12)
    ]
    page = summary_html(records)
    failing = page[page.index("Most frequent failing checks") : page.index("<h2>Not attempted")]
    assert failing.count("<tr>") == FAILING_SHOWN + 1 == 16
    slowest = page[page.index("Slowest submissions") :]
    assert slowest.count("<tr>") == 10 + 1
    assert slowest.index("<td>s11</td><td>11.0</td>") < slowest.index("<td>s10</td><td>10.0</td>")
    assert "<td>s01</td>" not in slowest


def test_the_summary_says_when_no_attempted_check_failed():
    page = summary_html([record("a", result(exercise("svm", check("a", Status.PASSED))))])
    assert "\n<h2>Most frequent failing checks</h2>\n<p>No check failed on an attempted answer.</p>\n" in page
    assert "Not graded" not in page


def test_lines_wrap_at_100_characters_and_never_inside_a_word_or_at_a_hyphen():
    assert text.wrap("a" * 95 + " bcd", "") == ["a" * 95 + " bcd"]  # 99 characters
    assert text.wrap("a" * 96 + " bcd", "") == ["a" * 96 + " bcd"]  # 100
    assert text.wrap("a" * 97 + " bcd", "") == ["a" * 97, "  bcd"]  # 101
    url = "https://example.org/" + "z" * 150
    assert text.wrap(f"see {url}", "") == ["see", f"  {url}"]
    hyphenated = "x" * 60 + "-" + "y" * 60
    assert text.wrap(f"word {hyphenated}", "") == ["word", f"  {hyphenated}"]


def test_the_practice_mode_line():
    assert text.PRACTICE_MODE == "practice mode: your code ran with basic limits"


def test_the_summary_lists_every_not_attempted_exercise_and_every_problem_as_rows():
    stubs = result(
        exercise("svm", check("a", Status.NOT_ATTEMPTED)),
        exercise("knn", check("a", Status.MISSING, exercise="knn"), verdict="not submitted"),
    )
    page = summary_html([record("a", stubs), record("x", None, "p1"), record("y", None, "p2")])
    assert "<tr><td>svm</td><td>1</td></tr><tr><td>knn</td><td>1</td></tr></table>" in page
    assert "<tr><td>x</td><td>p1</td></tr><tr><td>y</td><td>p2</td></tr></table>" in page
