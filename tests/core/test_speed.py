"""Unit tests of ``checks/speed.py`` with a fake clock: the ratio is best loop
time over best student time, every repetition is verified, and the threshold
is ``SPEEDUP_MIN`` inclusive. No real timing."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.checks import speed
from autograder.checks.base import CheckFailed
from autograder.checks.speed import (
    BASELINE_CALLS,
    QUICK_CALLS,
    QUICK_MARGIN,
    REPEATS,
    SPEEDUP_MIN,
    VALUES_FIRST,
    check_speedup,
    loop_baseline,
    require_no_loops,
    values_first,
)
from autograder.submission.callgraph import EXPECTED as NO_LOOPS


class FakeClock:
    """``perf_counter`` of a machine where the baseline and the student's call
    take the seconds they are given, one repetition after the other."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def side(self, seconds: list[float]):
        """A callable that takes ``seconds[k]`` on its k-th call and returns ``("done", case)``."""
        calls = iter(seconds)

        def run(case):
            self.now += next(calls)
            return ("done", case)

        return run

    @staticmethod
    def baseline(seconds: list[float], full: list[float] | None = None, asked: list | None = None):
        """A loop baseline that reports ``seconds[k]`` on its k-th quick sample and
        ``full[k]`` on its k-th full one (it times itself), noting each request in ``asked``."""
        samples = {QUICK_CALLS: iter(seconds), BASELINE_CALLS: iter(full or [])}

        def run(case, sample):
            if asked is not None:
                asked.append((case, sample))
            return next(samples[sample])

        return run


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(speed, "time", SimpleNamespace(perf_counter=fake))
    return fake


def draw(repetition: int):
    return f"input {repetition}", f"expected {repetition}"


def speedup(subject, draw, baseline, student, verify, paused=contextlib.nullcontext):
    """``check_speedup``, with nothing to pause unless a test says so."""
    return check_speedup(subject, draw, baseline, student, verify, paused)


def accept(case, got, expected) -> None:
    assert got == ("done", case) and expected == "expected " + case.split()[-1]


def test_timed_returns_the_seconds_and_the_value(clock):
    seconds, value = speed.timed(lambda: clock.side([0.75])("x"))
    assert (seconds, value) == (0.75, ("done", "x"))


def test_the_ratio_is_best_baseline_over_best_student(clock):
    report = speedup("svm", draw, clock.baseline([3.0, 1.0, 2.0]), clock.side([0.25, 0.0625, 0.125]), accept)
    # best loop 1.0 s (not the first), best student 0.0625 s (not the last): 16x
    assert report == {"baseline_seconds": 1.0, "student_seconds": 0.0625, "ratio": 16.0}


def test_exactly_the_minimum_speedup_passes_and_just_below_fails(clock):
    # dyadic seconds: the fake clock's differences are exact
    assert SPEEDUP_MIN == 10.0
    quick = [7.0] * REPEATS  # 14x, below the quick samples' 15x: the full samples decide
    report = speedup("svm", draw, clock.baseline(quick, [5.0] * REPEATS), clock.side([0.5] * REPEATS), accept)
    assert report == {"baseline_seconds": 5.0, "student_seconds": 0.5, "ratio": 10.0}
    with pytest.raises(CheckFailed):
        speedup(
            "svm", draw, clock.baseline(quick, [5.0] * REPEATS), clock.side([0.5 + 2**-20] * REPEATS), accept
        )


def test_quick_samples_pass_far_from_the_threshold_without_the_full_samples(clock):
    assert SPEEDUP_MIN * QUICK_MARGIN == 15.0
    assert 0 < QUICK_CALLS < BASELINE_CALLS  # the quick sample is the shorter one
    asked: list = []
    report = speedup(
        "svm", draw, clock.baseline([8.0, 7.5, 9.0], asked=asked), clock.side([0.5] * REPEATS), accept
    )
    assert report == {"baseline_seconds": 7.5, "student_seconds": 0.5, "ratio": 15.0}
    assert asked == [(f"input {k}", QUICK_CALLS) for k in range(REPEATS)]


def test_near_the_threshold_the_full_samples_decide_on_every_input(clock):
    asked: list = []
    quick, full = [7.5 - 2**-20] * REPEATS, [6.0, 4.75, 5.5]  # quick 14.99x: not enough alone
    with pytest.raises(CheckFailed) as caught:
        speedup("svm", draw, clock.baseline(quick, full, asked), clock.side([0.5] * REPEATS), accept)
    assert caught.value.message == (
        "svm: expected at least 10x faster than a loop version (4.750 s), got 9.5x (0.500 s)"
    )
    assert asked[REPEATS:] == [(f"input {k}", BASELINE_CALLS) for k in range(REPEATS)]
    report = speedup("svm", draw, clock.baseline(quick, [6.0, 5.5, 7.0]), clock.side([0.5] * REPEATS), accept)
    assert report == {"baseline_seconds": 5.5, "student_seconds": 0.5, "ratio": 11.0}


def test_below_the_minimum_fails_naming_both_times(clock):
    with pytest.raises(CheckFailed) as caught:
        speedup(
            "svm_loss_vectorized",
            draw,
            clock.baseline([1.0, 2.0, 4.0], [1.0, 2.0, 4.0]),
            clock.side([0.125] * 3),
            accept,
        )
    assert caught.value.message == (
        "svm_loss_vectorized: expected at least 10x faster than a loop version (1.000 s), got 8.0x (0.125 s)"
    )


def test_a_student_call_timed_at_zero_does_not_divide_by_zero(clock):
    report = speedup("svm", draw, clock.baseline([1.0] * 3), clock.side([0.0] * 3), accept)
    assert report["ratio"] == pytest.approx(1e9)


def test_every_repetition_draws_a_fresh_input_and_is_verified(clock):
    drawn, verified = [], []

    def drawing(repetition):
        drawn.append(repetition)
        return draw(repetition)

    def verify(case, got, expected):
        verified.append((case, got, expected))

    speedup("svm", drawing, clock.baseline([1.0] * 3), clock.side([0.01] * 3), verify)
    assert drawn == list(range(REPEATS))
    assert verified == [(f"input {k}", ("done", f"input {k}"), f"expected {k}") for k in range(REPEATS)]


def test_a_wrong_answer_fails_with_the_values_first_hint_however_fast(clock):
    def verify(case, got, expected):
        if case == "input 2":
            raise CheckFailed("scores", "1", "2")

    with pytest.raises(CheckFailed) as caught:
        speedup("svm", draw, clock.baseline([1.0] * 3), clock.side([0.001] * 3), verify)
    assert (
        caught.value.hint
        == VALUES_FIRST
        == (
            "the values are wrong, so loops and speed were not judged: make the values match "
            "(the value checks of this function say where)"
        )
    )


def test_values_first_keeps_a_named_bugs_hint_and_lets_other_errors_through():
    with pytest.raises(CheckFailed) as caught, values_first():
        raise CheckFailed("scores", "1", "2", hint="forgot the margin")
    assert caught.value.hint == "forgot the margin"
    with pytest.raises(KeyError), values_first():
        raise KeyError("not a wrong answer")
    with values_first():
        pass


def test_require_no_loops_names_every_loop_found():
    asked = []

    def loops_in(function):
        asked.append(function)
        return ["for (line 3)", "np.vectorize (line 5)"] if function == "loopy" else []

    session = SimpleNamespace(source=SimpleNamespace(loops_in=loops_in))
    require_no_loops(session, "clean")
    with pytest.raises(CheckFailed) as caught:
        require_no_loops(session, "loopy")
    assert caught.value.message == f"loopy: expected {NO_LOOPS}, got for (line 3), np.vectorize (line 5)"
    with pytest.raises(CheckFailed) as caught:
        require_no_loops(session, "loopy", "KNearestNeighbor.compute_distances_no_loops")
    assert caught.value.message.startswith("KNearestNeighbor.compute_distances_no_loops: expected")
    assert asked == ["clean", "loopy", "loopy"]


def test_loop_baseline_makes_iterations_times_calls_numpy_calls_on_the_operand(monkeypatch):
    seen = []
    monkeypatch.setattr(speed, "np", SimpleNamespace(multiply=lambda a, b: seen.append((a, b))))
    operand = np.arange(3.0)
    loop_baseline(4, 3, operand, BASELINE_CALLS)
    assert len(seen) == 12
    assert all(a is operand and b == 1.0 for a, b in seen)


def test_loop_baseline_times_a_sample_of_its_calls_and_scales_it_to_all(monkeypatch, clock):
    seen = []

    def multiply(a, b):
        seen.append(a)
        clock.now += 0.5

    monkeypatch.setattr(speed, "np", SimpleNamespace(multiply=multiply))
    assert loop_baseline(1000, 3, np.arange(3.0), 10) == pytest.approx(0.5 * 3000)
    assert len(seen) == 10
    assert loop_baseline(2, 3, np.arange(3.0), 10) == pytest.approx(
        0.5 * 6
    )  # fewer calls than the sample: all


def test_the_baseline_is_timed_with_the_students_processes_paused_and_only_it(clock):
    """Threads student code leaves busy between calls must not slow the grader's
    loop: every baseline sample, quick or full, runs inside ``paused()``, and the
    student's call outside it."""
    events: list = []

    @contextlib.contextmanager
    def paused():
        events.append("pause")
        yield
        events.append("resume")

    def baseline(case, sample):
        events.append(("baseline", sample))
        return 7.0  # 14x against 0.5 s: the full samples are timed too

    def student(case):
        events.append("student")
        clock.now += 0.5
        return ("done", case)

    speedup("svm", draw, baseline, student, accept, paused)
    quick_round = ["pause", ("baseline", QUICK_CALLS), "resume", "student"] * REPEATS
    full_round = ["pause", *[("baseline", BASELINE_CALLS)] * REPEATS, "resume"]
    assert events == quick_round + full_round
