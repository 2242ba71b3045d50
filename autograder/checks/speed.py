"""Speed ratios measured in one run: the student's vectorized code against a
trusted loop implementation timed in the grader on the same input.

The baseline runs in the grader, not in the child, so a student cannot make
the comparison look better by slowing down their own loop version; the
student's time is measured by the grader around the sandbox call, so it
includes a small, fixed transfer cost that the input sizes keep negligible.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from autograder.checks.base import CheckFailed

SPEEDUP_MIN = 10.0
"""Least accepted ratio of loop time to vectorized time. Vectorized NumPy is
50-500x faster than a Python double loop on these inputs; below 10x the code
still loops (or copies) somewhere it should not."""

REPEATS = 3
"""Runs of each side; the fastest counts, as in ``timeit``."""


def best_time(run: Callable[[], object]) -> float:
    """Fastest of ``REPEATS`` runs of ``run``, in seconds."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def check_speedup(subject: str, baseline: Callable[[], object], student: Callable[[], object]) -> dict:
    """Require ``student`` to be ``SPEEDUP_MIN`` times faster than ``baseline``.

    Returns
    -------
    dict
        ``baseline_seconds``, ``student_seconds`` and ``ratio`` for the report.
    """
    base = best_time(baseline)
    mine = best_time(student)
    ratio = base / max(mine, 1e-9)
    if ratio < SPEEDUP_MIN:
        raise CheckFailed(
            subject,
            f"at least {SPEEDUP_MIN:g}x faster than the loop version ({base:.3f} s)",
            f"{ratio:.1f}x ({mine:.3f} s)",
        )
    return {"baseline_seconds": base, "student_seconds": mine, "ratio": ratio}
