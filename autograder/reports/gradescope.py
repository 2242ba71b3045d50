"""Gradescope's results.json, with each test's ``tags`` naming its exercise.

Schema: https://gradescope-autograders.readthedocs.io/en/latest/specs/
(top-level ``score``, ``execution_time``, ``output``, ``visibility``,
``stdout_visibility``, ``extra_data``, ``tests``; each test ``name``,
``score``, ``max_score``, ``status``, ``output``, ``tags``, ``visibility``).

Students read it: it renders ``student_view`` of the result (hidden checks'
messages withheld), and ``write_gradescope`` writes it through
``safe.json_text`` (text of the submission made inert, strict JSON).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.reports.files import write_atomic
from autograder.reports.safe import json_text
from autograder.reports.visibility import student_view
from autograder.results import Cause, CheckResult, GradingResult, Status
from autograder.results.causes import expected_modules, explained, nothing_submitted

HIDDEN_VISIBILITY = "after_published"
"""Gradescope visibility of hidden checks: students see them once grades are
published, never their inputs (``student_view`` withholds their messages)."""


def to_gradescope(result: GradingResult) -> dict[str, Any]:
    """The results.json document for ``result``, as a student may see it."""
    result = student_view(result)
    tests = [
        _test(check, explained(exercise).get(check.name))
        for exercise in result.exercises
        for check in exercise.checks
    ]
    return {
        "score": round(result.score, 6),
        "max_score": round(result.max_score, 6),
        "execution_time": round(result.execution_time, 3),
        "output": _output(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "seed": result.seed,
            "mode": result.mode,
            "grader_fault": result.grader_fault,
            **result.environment,
            "phases": result.phases,
            "exercises": {
                e.exercise: {
                    "score": e.score,
                    "max_score": e.max_score,
                    "verdict": e.verdict,
                    "seconds": round(e.seconds, 3),
                    "peak_memory_bytes": e.peak_memory_bytes,
                    "notes": e.notes,
                    "datasets": e.datasets,
                }
                for e in result.exercises
            },
        },
        "tests": tests,
    }


def _output(result: GradingResult) -> str:
    """The top of the page: the score, or why the submission could not be graded,
    then each exercise's root causes, once."""
    if result.grader_fault:
        head = (
            "This submission could not be graded: the grading machine failed (a grader fault or a "
            "dataset it lacks), not your code. Tell your instructor; it will be graded again."
        )
    else:
        head = f"Graded in {result.mode} mode: {result.score:g} / {result.max_score:g}."
    if nothing_submitted(result):
        return f"{head}\n{expected_modules(result)}"
    causes = [
        f"{exercise.exercise}: {cause.text}" + (f"\nHint: {cause.hint}" if cause.hint else "")
        for exercise in result.exercises
        for cause in exercise.causes
    ]
    return "\n\n".join([head, *causes])


def _test(check: CheckResult, cause: Cause | None = None) -> dict[str, Any]:
    output = check.status.value
    if cause is not None and check.status is not Status.FAILED:
        output += f"\n(cause stated once at the top, under {check.exercise})"
    elif check.status is not Status.PASSED:
        hint = "" if cause is not None else check.hint
        output += "".join(f"\n{text}" for text in (check.message, f"Hint: {hint}" if hint else ""))
    return {
        "name": f"{check.exercise}: {check.name}",
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.status is Status.PASSED else "failed",
        "output": output,
        "tags": [check.exercise],
        "visibility": "visible" if check.visibility == "visible" else HIDDEN_VISIBILITY,
        "extra_data": {
            "id": check.id,
            "verdict": check.status.value,
            "seconds": round(check.seconds, 3),
            **check.details,
        },
    }


def write_gradescope(result: GradingResult, path: Path) -> None:
    """Write results.json atomically (a reader never sees half a file), as strict JSON."""
    write_atomic(path, json_text(to_gradescope(result), indent=2))
