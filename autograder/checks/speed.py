"""Speed ratios measured in one run: the student's vectorized code against a
loop baseline timed in the grader at check time.

The baseline is a Python loop of small NumPy calls, as many as a loop
version makes on the input (``loop_baseline``): it is no exercise's solution,
so a student release ships it and times exactly what the course grader
times, and it runs in the grader, so a student cannot make the comparison
look better by slowing down their own loop version. Correctness is judged
against the expected value (the reference's, or the release's store), never
against a loop version's output. The student's time is measured by the
grader around the sandbox call, so it includes a small, fixed transfer cost
that the input sizes keep negligible.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograder.checks.base import CheckFailed

SPEEDUP_MIN = 10.0
"""Least accepted ratio of loop time to vectorized time. Vectorized NumPy is
50-500x faster than a Python double loop on these inputs; below 10x the code
still loops (or copies) somewhere it should not."""

REPEATS = 3
"""Runs of each side; the fastest counts, as in ``timeit``."""


VALUES_FIRST = (
    "the values are wrong, so loops and speed were not judged: make the values match "
    "(the value checks of this function say where)"
)
"""Hint of a loop or speed check whose answer is wrong: its own hint (about
loops) would send the student looking for the wrong problem."""


@contextlib.contextmanager
def values_first() -> Iterator[None]:
    """Give a wrong answer inside a loop or speed check the ``VALUES_FIRST`` hint
    (a named bug's hint is kept)."""
    try:
        yield
    except CheckFailed as wrong:
        wrong.hint = wrong.hint or VALUES_FIRST
        raise


def loop_baseline(iterations: int, calls: int, operand: np.ndarray) -> Callable[[], None]:
    """What a loop version costs: ``iterations`` Python iterations of ``calls`` small
    NumPy calls each on ``operand`` (a row of the input).

    Parameters
    ----------
    iterations : int
        Inner iterations of the loop version (N * C for a loss, pairs for distances).
    calls : int
        NumPy calls it makes per iteration.
    operand : ndarray of shape (D,)
        A row of the timed input: the calls cost what they cost on it.
    """

    def run() -> None:
        for _ in range(iterations * calls):
            np.multiply(operand, 1.0)

    return run


def best_time(run: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest of ``REPEATS`` runs of ``run`` in seconds, and its last value."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - started)
    return min(times), value


def check_speedup(
    subject: str,
    baseline: Callable[[], Any],
    student: Callable[[], Any],
    verify: Callable[[Any], None],
) -> dict:
    """Require ``student`` to be correct and ``SPEEDUP_MIN`` times faster than ``baseline``.

    Parameters
    ----------
    subject : str
        What is timed, for messages.
    baseline : callable
        The loop baseline (``loop_baseline``) of the same input.
    student : callable
        The student's call.
    verify : callable
        ``verify(student_value)`` raises ``CheckFailed`` when the student's
        answer is wrong: a fast wrong answer earns nothing.

    Returns
    -------
    dict
        ``baseline_seconds``, ``student_seconds`` and ``ratio`` for the report.
    """
    base, _ = best_time(baseline)
    mine, got = best_time(student)
    with values_first():
        verify(got)
    ratio = base / max(mine, 1e-9)
    if ratio < SPEEDUP_MIN:
        raise CheckFailed(
            subject,
            f"at least {SPEEDUP_MIN:g}x faster than a loop version ({base:.3f} s)",
            f"{ratio:.1f}x ({mine:.3f} s)",
        )
    return {"baseline_seconds": base, "student_seconds": mine, "ratio": ratio}
