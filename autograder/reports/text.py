"""Plain-text summary: one table per exercise (check, points, status, message).

It renders ``student_view`` of the result (hidden checks' messages withheld),
and every line passes through ``safe.one_line`` as it is emitted, so that no
text of the submission moves the cursor, rewrites a line or starts one.
"""

from __future__ import annotations

import textwrap

from autograder.reports.safe import one_line
from autograder.reports.visibility import student_view
from autograder.results import ExerciseResult, GradingResult, Status

WIDTH = 100  # characters of a wrapped message line


def to_text(result: GradingResult) -> str:
    """The summary printed by ``autograder grade``."""
    result = student_view(result)
    lines = [
        f"mode {result.mode}, seed {result.seed}, grader {result.environment['grader_version']}, "
        f"NumPy {result.environment.get('numpy')} ({result.environment.get('blas')}), "
        f"isolation: {result.environment['isolation']}",
        "",
    ]
    for exercise in result.exercises:
        lines += _exercise(exercise)
    lines.append(f"TOTAL {result.score:g} / {result.max_score:g}  ({result.execution_time:.1f} s)")
    return "\n".join(one_line(line) for line in lines)


def _exercise(exercise: ExerciseResult) -> list[str]:
    memory = f", peak {exercise.peak_memory_bytes / 2**20:.0f} MiB" if exercise.peak_memory_bytes else ""
    lines = [
        f"== {exercise.exercise}: {exercise.title} -- {exercise.score:g} / {exercise.max_score:g} "
        f"({exercise.verdict}; {exercise.seconds:.1f} s{memory})"
    ]
    width = max((len(check.name) for check in exercise.checks), default=10)
    for check in exercise.checks:
        points = f"{check.score:g}/{check.max_score:g}"
        tag = " [hidden]" if check.visibility == "hidden" else ""
        lines.append(f"  {check.name:<{width}}  {points:>5}  {check.status.value}{tag}")
        if check.status is not Status.PASSED:
            for label, text in (("", check.message), ("hint: ", check.hint)):
                if text:
                    lines += textwrap.wrap(
                        label + text, WIDTH, initial_indent="      ", subsequent_indent="        "
                    )
    lines += [f"  note: {note}" for note in exercise.notes]
    lines.append("")
    return lines
