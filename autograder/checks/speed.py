"""Judging vectorized code: no loops reached (``require_no_loops``), and speed
ratios measured in one run, the student's code against a loop baseline timed in
the grader at check time, on the same fresh inputs.

The baseline is a Python loop of small NumPy calls, as many as a loop
version makes on the input (``loop_baseline``, timed on a share of them and
scaled; a quick share first, a longer one only near the threshold): it is no
exercise's solution, so a student release ships it and times exactly what the
course grader times, and it runs in the grader, so a student cannot make the
comparison look better by slowing down their own loop version. Correctness is
judged against the expected value (the reference's, or the release's store),
never against a loop version's output. The student's time is measured by the
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
from autograder.checks.session import Session
from autograder.submission.callgraph import EXPECTED as NO_LOOPS

SPEEDUP_MIN = 10.0
"""Least accepted ratio of loop time to vectorized time. Vectorized NumPy is
50-500x faster than a Python double loop on these inputs; below 10x the code
still loops (or copies) somewhere it should not."""

REPEATS = 3
"""Timed runs of each side, each on a fresh input of the same size; the
fastest counts, as in ``timeit``."""

BASELINE_CALLS = 50_000
"""Calls of the loop baseline that are timed when the ratio is near the
threshold (all of them when it makes fewer); their time is scaled to every
call: each is the same call on the same operand, so the time is linear in
their number. 50,000 calls take about 25 ms, longer than the student's timed
call; at 50,000, eight best-of-3 estimates had the full loop's median within
3 % (kNN's 800,000 calls: 0.382 s against 0.396 s; the linear classifiers'
150,000: 0.0712 s against 0.0711 s)."""

QUICK_CALLS = 12_500
"""Calls of the quick sample timed beside each of the student's calls first
(about 6 ms): enough to pass code far from the threshold (``QUICK_MARGIN``),
a quarter of the full sample's time. Best of 3 quick samples against best of
3 full ones on the same operands, grader-like (a draw, the sample, a 5 ms
wait), 30 trials each: median 1.00, largest 1.33 on an idle machine; median
0.86 (largest 1.14) with two busy loops and 0.83 (largest 0.93) with two
memory-bound processes on the 2 cores: short samples are preempted less."""

QUICK_MARGIN = 1.5
"""Quick samples decide only a pass at ``SPEEDUP_MIN * QUICK_MARGIN`` or more,
above the largest excess measured (1.33, ``QUICK_CALLS``; an earlier
measurement on a loaded machine had 18,750-call samples 12 % slow on
average), so they are never more lenient than the full sample. Below it the
baseline is timed again with ``BASELINE_CALLS`` on each repetition's operand,
right after the repetitions (without calling the student again: an answer
cached in the first round would time as nothing), and that decides. The
references measure 26-77x."""


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by ``run()``, and its value."""
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


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


def require_no_loops(session: Session, function: str, subject: str = "") -> None:
    """Fail when the student's ``function`` (``"Class.method"`` for a method) reaches a
    loop, a comprehension or a looping call (``submission.callgraph``); ``subject``
    names it in the message (``function`` when empty)."""
    loops = session.source.loops_in(function)
    if loops:
        raise CheckFailed(subject or function, NO_LOOPS, ", ".join(loops))


def loop_baseline(iterations: int, calls: int, operand: np.ndarray, sample: int) -> float:
    """Seconds a loop version costs: ``iterations`` Python iterations of ``calls``
    small NumPy calls each on ``operand`` (a row of the input), timed on
    ``sample`` of them (``QUICK_CALLS`` or ``BASELINE_CALLS``).

    Parameters
    ----------
    iterations : int
        Inner iterations of the loop version (N * C for a loss, pairs for distances).
    calls : int
        NumPy calls it makes per iteration.
    operand : ndarray of shape (D,)
        A row of the timed input: the calls cost what they cost on it.

    Returns
    -------
    float
        The sample's time scaled to every call.
    """
    total = iterations * calls
    timed_calls = min(total, sample)
    started = time.perf_counter()
    for _ in range(timed_calls):
        np.multiply(operand, 1.0)
    return (time.perf_counter() - started) * total / timed_calls


def check_speedup(
    subject: str,
    draw: Callable[[int], tuple[Any, Any]],
    baseline: Callable[[Any, int], float],
    student: Callable[[Any], Any],
    verify: Callable[[Any, Any, Any], None],
    paused: Callable[[], contextlib.AbstractContextManager[None]],
) -> dict:
    """Require ``student`` to be correct and ``SPEEDUP_MIN`` times faster than ``baseline``.

    Every repetition times both sides on a new input from ``draw`` (same
    size, different values) and verifies the student's answer, so that an
    answer computed once and cached is timed like the work it is. The
    baseline is timed on ``QUICK_CALLS`` calls; when that ratio is below
    ``SPEEDUP_MIN * QUICK_MARGIN``, again on ``BASELINE_CALLS`` calls for
    each repetition's input, and that ratio decides.

    Parameters
    ----------
    subject : str
        What is timed, for messages.
    draw : callable
        ``draw(repetition) -> (input, expected)``: a fresh input of the timed
        size and its expected value (asked of ``session.expected`` under a key
        naming the repetition, so that a release's store holds it too).
    baseline : callable
        ``baseline(input, sample) -> seconds`` a loop version takes on it, timed
        on ``sample`` calls (``loop_baseline``).
    student : callable
        ``student(input)``: the student's call, timed here.
    verify : callable
        ``verify(input, student_value, expected)`` raises ``CheckFailed`` when the
        student's answer is wrong: a fast wrong answer earns nothing.
    paused : callable
        ``with paused():`` stops the student's processes (``session.paused``) while
        the baseline is timed: threads left busy between calls would otherwise
        slow the grader's loop and inflate the ratio (measured: a baseline read
        3.5x its time, and a looping answer passed at 16x).

    Returns
    -------
    dict
        ``baseline_seconds``, ``student_seconds`` (best of the repetitions,
        all verified) and ``ratio`` for the report.
    """
    cases, base_times, mine_times = [], [], []
    for repetition in range(REPEATS):
        case, expected = draw(repetition)
        with paused():
            base = baseline(case, QUICK_CALLS)
        mine, got = timed(lambda case=case: student(case))
        with values_first():
            verify(case, got, expected)
        cases.append(case)
        base_times.append(base)
        mine_times.append(mine)
    base, mine = min(base_times), min(mine_times)
    if base / max(mine, 1e-9) < SPEEDUP_MIN * QUICK_MARGIN:
        with paused():
            base = min(baseline(case, BASELINE_CALLS) for case in cases)
    ratio = base / max(mine, 1e-9)
    if ratio < SPEEDUP_MIN:
        raise CheckFailed(
            subject,
            f"at least {SPEEDUP_MIN:g}x faster than a loop version ({base:.3f} s)",
            f"{ratio:.1f}x ({mine:.3f} s)",
        )
    return {"baseline_seconds": base, "student_seconds": mine, "ratio": ratio}
