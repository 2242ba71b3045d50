"""Speed ratios measured in one run: the student's vectorized code against a
trusted loop implementation timed in the grader on the same fresh inputs.

The baseline runs in the grader, not in the child, so a student cannot make
the comparison look better by slowing down their own loop version; the
student's time is measured by the grader around the sandbox call, so it
includes a small, fixed transfer cost that the input sizes keep negligible.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from autograder.checks.base import CheckFailed

SPEEDUP_MIN = 10.0
"""Least accepted ratio of loop time to vectorized time. Vectorized NumPy is
50-500x faster than a Python double loop on these inputs; below 10x the code
still loops (or copies) somewhere it should not."""

REPEATS = 3
"""Timed runs of each side, each on a fresh input of the same size; the
fastest counts, as in ``timeit``."""


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by ``run()``, and its value."""
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def check_speedup(
    subject: str,
    draw: Callable[[], Any],
    baseline: Callable[[Any], Any],
    student: Callable[[Any], Any],
    verify: Callable[[Any, Any, Any], None],
) -> dict:
    """Require ``student`` to be correct and ``SPEEDUP_MIN`` times faster than ``baseline``.

    Every repetition times both sides on a new input from ``draw()`` (same
    size, different values) and verifies the student's answer, so that an
    answer computed once and cached is timed like the work it is.

    Parameters
    ----------
    subject : str
        What is timed, for messages.
    draw : callable
        ``draw() -> input``: a fresh input of the timed size.
    baseline, student : callable
        ``f(input)``: the trusted loop version and the student's call.
    verify : callable
        ``verify(input, student_value, baseline_value)`` raises ``CheckFailed``
        when the student's answer is wrong: a fast wrong answer earns nothing.

    Returns
    -------
    dict
        ``baseline_seconds``, ``student_seconds`` (best of the repetitions,
        all verified) and ``ratio`` for the report.
    """
    base_times, mine_times = [], []
    for _ in range(REPEATS):
        case = draw()
        base, expected = timed(lambda case=case: baseline(case))
        mine, got = timed(lambda case=case: student(case))
        verify(case, got, expected)
        base_times.append(base)
        mine_times.append(mine)
    base, mine = min(base_times), min(mine_times)
    ratio = base / max(mine, 1e-9)
    if ratio < SPEEDUP_MIN:
        raise CheckFailed(
            subject,
            f"at least {SPEEDUP_MIN:g}x faster than the loop version ({base:.3f} s)",
            f"{ratio:.1f}x ({mine:.3f} s)",
        )
    return {"baseline_seconds": base, "student_seconds": mine, "ratio": ratio}
