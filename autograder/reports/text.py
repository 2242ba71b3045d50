"""Plain-text summary: one table per exercise (check, points, status, message).

It renders ``student_view`` of the result (hidden checks' messages withheld),
and every line passes through ``safe.one_line`` as it is emitted, so that no
text of the submission moves the cursor, rewrites a line or starts one.

A root cause shared by several checks (``ExerciseResult.causes``) is printed
once, followed by the checks it explains and their points on one wrapped line.
"""

from __future__ import annotations

import textwrap

from autograder.reports.safe import one_line
from autograder.reports.visibility import student_view
from autograder.results import ExerciseResult, GradingResult, Status
from autograder.results.causes import expected_modules, explained, nothing_submitted

WIDTH = 100  # characters of a wrapped message line

PRACTICE_MODE = "practice mode: your code ran with basic limits"
"""What a student is told about isolation when the grading layers are not all
there (the layers and why each is missing are in the JSON)."""


def isolation_line(environment: dict) -> str:
    """One short line about how the student's code was isolated."""
    return PRACTICE_MODE if environment.get("practice_mode") else "isolation: full grading sandbox"


def to_text(result: GradingResult) -> str:
    """The summary printed by ``autograder grade``."""
    result = student_view(result)
    lines = [
        f"mode {result.mode}, seed {result.seed}, grader {result.environment['grader_version']}, "
        f"NumPy {result.environment.get('numpy')} ({result.environment.get('blas')}); "
        f"{isolation_line(result.environment)}",
        "",
    ]
    if nothing_submitted(result):
        lines += [expected_modules(result), *(f"note: {n}" for e in result.exercises for n in e.notes), ""]
    else:
        for exercise in result.exercises:
            lines += _exercise(exercise)
    lines.append(f"TOTAL {result.score:g} / {result.max_score:g}  ({result.execution_time:.1f} s)")
    return "\n".join(one_line(line) for line in lines)


def wrap(text: str, indent: str, label: str = "") -> list[str]:
    """``label + text`` wrapped at ``WIDTH``, each of its own lines separately (a list
    or a URL in a message stays as written)."""
    wrapped = []
    for number, line in enumerate((label + text).splitlines()):
        first = indent if number == 0 else indent + "  "
        wrapped += textwrap.wrap(
            line,
            WIDTH,
            initial_indent=first,
            subsequent_indent=first + "  ",
            break_on_hyphens=False,
            break_long_words=False,
        ) or [""]
    return wrapped


def headline(exercise: ExerciseResult) -> str:
    """The exercise's verdict, without the cause that follows it on its own line."""
    status, _, detail = exercise.verdict.partition(": ")
    stated = detail and any(detail in cause.text for cause in exercise.causes)
    return status if stated else exercise.verdict


def _exercise(exercise: ExerciseResult) -> list[str]:
    memory = f", peak {exercise.peak_memory_bytes / 2**20:.0f} MiB" if exercise.peak_memory_bytes else ""
    lines = [
        f"== {exercise.exercise}: {exercise.title} -- {exercise.score:g} / {exercise.max_score:g} "
        f"({headline(exercise)}; {exercise.seconds:.1f} s{memory})"
    ]
    if exercise.verdict == "not submitted":
        return [*lines, *(f"  note: {note}" for note in exercise.notes), ""]
    points = {check.name: f"{check.score:g}/{check.max_score:g}" for check in exercise.checks}
    for cause in exercise.causes:
        lines += wrap(cause.text, "  ")
        if cause.hint:
            lines += wrap(cause.hint, "    ", "hint: ")
        listed = " · ".join(f"{name} ({points[name]})" for name in cause.checks)
        lines += wrap(listed, "    ", "checks: ")
    causes = explained(exercise)
    width = max((len(check.name) for check in exercise.checks), default=10)
    for check in exercise.checks:
        if check.name in causes and check.status is not Status.FAILED:
            continue
        tag = " [hidden]" if check.visibility == "hidden" else ""
        lines.append(f"  {check.name:<{width}}  {points[check.name]:>5}  {check.status.value}{tag}")
        if check.status is not Status.PASSED:
            hint = "" if check.name in causes else check.hint
            for label, text in (("", check.message), ("hint: ", hint)):
                if text:
                    lines += wrap(text, "      ", label)
    lines += [f"  note: {note}" for note in exercise.notes]
    lines.append("")
    return lines
