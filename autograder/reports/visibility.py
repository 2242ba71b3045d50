"""What a student may see of a result: one rule for every student-visible report.

A hidden check's inputs are drawn from the submission's seed and its expected
values come from the references; its message ("expected X, got Y", or the
student's own exception text quoting its arguments) can show either, and so
can its measurements. Every report a student may see (the text report, the
HTML page, Gradescope's results.json, a batch's ``results.json``) renders
``student_view(result)``: a hidden check keeps its name (the property it
tests), points, verdict and hint; its message is replaced by a sentence
saying it was withheld, and of its measurements only ``HIDDEN_FIGURE_KEYS``
remain. The full result goes to an instructor-only record
(``instructor_document``), written to a file of its own so that TAs can
debug a hidden failure.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from autograder.results import Cause, CheckResult, GradingResult, result_to_dict
from autograder.results.causes import NAMED_BUG

HIDDEN_FIGURE_KEYS = ("epoch_losses", "confusion", "max_relative_error")
"""Measurements of hidden checks a student may see (and the HTML page draws):
the student's mean training loss per epoch, the 10 x 10 counts of their
predictions, and the largest gradient error (one number). None identifies an
input or an expected value."""

INSTRUCTOR_ONLY = (
    "instructor-only: hidden checks' full messages and measurements (their inputs and "
    "expected values); never hand this file to students"
)
"""Marker at the top of an instructor record, saying why it stays with the course staff."""


def withheld(check: CheckResult) -> str:
    """The message a student sees of a failed hidden check."""
    return (
        f"hidden check '{check.name}': {check.status.value}; its inputs, expected values and "
        "full message are withheld (your instructor's record has them)"
    )


def student_check(check: CheckResult) -> CheckResult:
    """``check`` as a student may see it (unchanged when visible)."""
    if check.visibility == "visible":
        return check
    return dataclasses.replace(
        check,
        message=withheld(check) if check.message else "",
        details={key: value for key, value in check.details.items() if key in HIDDEN_FIGURE_KEYS},
    )


def student_cause(cause: Cause, hidden: set[str]) -> Cause:
    """``cause`` as a student may see it: a message shared by hidden checks only
    (``find_causes`` groups exception texts, which may quote hidden inputs) is
    withheld like theirs; a named bug's text is a hint, shown as every hint is."""
    if cause.text.startswith(NAMED_BUG) or not set(cause.checks) <= hidden:
        return cause
    return dataclasses.replace(
        cause, text="hidden checks share a cause whose message is withheld (your instructor's record has it)"
    )


def student_view(result: GradingResult) -> GradingResult:
    """``result`` with every hidden check as ``student_check`` shows it, and every
    cause as ``student_cause`` does."""
    exercises = []
    for exercise in result.exercises:
        hidden = {check.name for check in exercise.checks if check.visibility != "visible"}
        exercises.append(
            dataclasses.replace(
                exercise,
                checks=[student_check(check) for check in exercise.checks],
                causes=[student_cause(cause, hidden) for cause in exercise.causes],
            )
        )
    return dataclasses.replace(result, exercises=exercises)


def instructor_document(result: GradingResult | None) -> dict[str, Any]:
    """The instructor-only record of ``result``: the marker and the full result."""
    return {"instructor_only": INSTRUCTOR_ONLY, "result": result_to_dict(result) if result else None}
