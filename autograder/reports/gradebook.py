"""A batch's gradebook (CSV) and summary page (HTML).

Both are rendered from the batch records that ``autograder.batch`` stores in
``OUT/<student>/results.json``: plain dicts with ``student``,
``submission_hash``, ``problem`` (why the entry could not be graded, empty
when it was) and ``result`` (``result_to_dict`` of its ``GradingResult``, or
None).

Student names come from file and folder names: every text reaches the page
through ``html.escape`` and every CSV cell through ``safe.spreadsheet_cell``
(no control character, no formula).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from autograder.checks import EXERCISES
from autograder.reports import plots
from autograder.reports.html import escape, image, page
from autograder.reports.safe import spreadsheet_cell
from autograder.results import NOT_GRADED, ExerciseResult, GradingResult, Status, result_from_dict
from autograder.results.causes import NAMED_BUG

FAILING_SHOWN = 15
"""Rows of the summary's most frequent failing checks: enough to see the
common mistakes of a class without listing every check."""

COLUMNS = ("total", "max_score", "verdicts", "seconds", "peak_memory_mib", "seed", "submission_hash")
"""Gradebook columns after the student and the per-exercise scores."""

SLOWEST_SHOWN = 10
"""Rows of the summary's slowest submissions."""


def _result(record: dict[str, Any]) -> GradingResult | None:
    return result_from_dict(record["result"]) if record.get("result") else None


def _exercise_ids(results: list[GradingResult]) -> list[str]:
    present = {e.exercise for result in results for e in result.exercises}
    return [e for e in EXERCISES if e in present]


def gradebook_csv(records: list[dict[str, Any]]) -> str:
    """One row per student: per-exercise scores, total, verdicts, seconds,
    peak memory, seed and submission hash."""
    results = {r["student"]: _result(r) for r in records}
    exercises = _exercise_ids([r for r in results.values() if r])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = [["student", *exercises, *COLUMNS]]
    for record in sorted(records, key=lambda r: r["student"]):
        result = results[record["student"]]
        rows.append([record["student"], *_row(result, exercises, record), record["submission_hash"]])
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def verdict_counts(exercise: ExerciseResult) -> str:
    """``"8 passed, 2 failed, 10 not attempted"``: how many checks got each verdict."""
    counts = Counter(check.status.value for check in exercise.checks)
    return ", ".join(f"{count} {status}" for status, count in counts.most_common()) or exercise.verdict


def _row(result: GradingResult | None, exercises: list[str], record: dict[str, Any]) -> list[Any]:
    if result is None:
        return [*([0] * len(exercises)), 0, "", record["problem"], "", "", ""]
    by_id = {e.exercise: e for e in result.exercises}
    verdicts = "; ".join(f"{e.exercise}: {verdict_counts(e)}" for e in result.exercises)
    peak = max((e.peak_memory_bytes for e in result.exercises), default=0)
    return [
        *(f"{by_id[e].score:g}" if e in by_id else "" for e in exercises),
        f"{result.score:g}",
        f"{result.max_score:g}",
        verdicts,
        f"{result.execution_time:.2f}",
        f"{peak / 2**20:.0f}",
        result.seed,
    ]


def summary_html(records: list[dict[str, Any]], similarity: str | None = None) -> str:
    """The batch's summary page: score histogram per exercise, the most frequent
    failing checks, the slowest submissions, and what could not be graded;
    a link to the class's code-similarity page when ``similarity`` names it."""
    graded = [(r["student"], result) for r in records if (result := _result(r)) is not None]
    results = [result for _, result in graded]
    body = [f"<h1>Batch summary: {len(records)} submissions</h1>", *_provenance(results)]
    if similarity:
        body.append(f'<p><a href="{escape(similarity)}">Code similarity across the class</a></p>')
    body.append("<h2>Scores</h2>")
    for exercise in _exercise_ids(results):
        found = [e for result in results for e in result.exercises if e.exercise == exercise]
        png = plots.score_histogram([e.score for e in found], found[0].max_score, exercise)
        body.append(image(png, f"{exercise}: scores of {len(found)} submissions"))
    body += _failing(results) + _slowest(graded) + _problems(records)
    return page("Batch summary", body)


def _provenance(results: list[GradingResult]) -> list[str]:
    """One line per distinct grading setup in the batch (one, unless resumed across upgrades)."""
    setups = Counter(
        (r.mode, *(str(r.environment.get(key)) for key in ("grader_version", "numpy", "blas", "isolation")))
        for r in results
    )
    return [
        f'<p class="meta">{count} graded in mode {escape(mode)} · grader {escape(grader)} · NumPy '
        f"{escape(numpy)} · BLAS {escape(blas)} · isolation: {escape(isolation)}</p>"
        for (mode, grader, numpy, blas, isolation), count in setups.items()
    ]


UNATTEMPTED = (Status.NOT_ATTEMPTED, Status.MISSING)
"""Verdicts of work not handed in: counted apart from the class's real mistakes."""


def _failing(results: list[GradingResult]) -> list[str]:
    """Real failures ranked by how many submissions they hit, with the named bug that
    explains most of them; then how many did not attempt each exercise."""
    failures: Counter[tuple[str, str]] = Counter()
    bugs: dict[tuple[str, str], Counter[str]] = {}
    unattempted: Counter[str] = Counter()
    for result in results:
        for exercise in result.exercises:
            statuses = {check.status for check in exercise.checks}
            if statuses & set(UNATTEMPTED):
                unattempted[exercise.exercise] += 1
            for check in exercise.checks:
                if check.status is Status.PASSED or check.status in UNATTEMPTED or check.status in NOT_GRADED:
                    continue
                key = (check.exercise, check.name)
                failures[key] += 1
                if check.hint.startswith(NAMED_BUG):
                    bugs.setdefault(key, Counter())[check.hint.removeprefix(NAMED_BUG)] += 1
    rows = "".join(
        f"<tr><td>{escape(ex)}</td><td>{escape(name)}</td><td>{count}</td>"
        f"<td>{escape(bugs[ex, name].most_common(1)[0][0]) if (ex, name) in bugs else ''}</td></tr>"
        for (ex, name), count in failures.most_common(FAILING_SHOWN)
    )
    header = "<tr><th>exercise</th><th>check</th><th>submissions failing</th><th>named bug</th></tr>"
    skipped = "".join(
        f"<tr><td>{escape(ex)}</td><td>{count}</td></tr>" for ex, count in unattempted.most_common()
    )
    return [
        "<h2>Most frequent failing checks</h2>",
        f"<table>{header}{rows}</table>" if rows else "<p>No check failed on an attempted answer.</p>",
        "<h2>Not attempted</h2>",
        "<table><tr><th>exercise</th><th>submissions with work missing or not attempted</th></tr>"
        f"{skipped}</table>",
    ]


def _slowest(graded: list[tuple[str, GradingResult]]) -> list[str]:
    slowest = sorted(graded, key=lambda pair: -pair[1].execution_time)[:SLOWEST_SHOWN]
    rows = "".join(
        f"<tr><td>{escape(student)}</td><td>{result.execution_time:.1f}</td>"
        f"<td>{max((e.peak_memory_bytes for e in result.exercises), default=0) / 2**20:.0f}</td></tr>"
        for student, result in slowest
    )
    header = "<tr><th>student</th><th>seconds</th><th>peak memory (MiB)</th></tr>"
    return ["<h2>Slowest submissions</h2>", f"<table>{header}{rows}</table>"]


def _problems(records: list[dict[str, Any]]) -> list[str]:
    rows = "".join(
        f"<tr><td>{escape(r['student'])}</td><td>{escape(r['problem'])}</td></tr>"
        for r in records
        if r["problem"]
    )
    return (
        ["<h2>Not graded</h2>", f"<table><tr><th>student</th><th>why</th></tr>{rows}</table>"] if rows else []
    )
