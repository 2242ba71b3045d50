"""The integrity mechanisms, exercised in-process against the tricks they stop.

Each trick counts what it did (so a test shows its payload ran), and the
mechanism must refuse it with a message naming why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time

import numpy as np
import pytest

from autograder.checks.base import CheckFailed
from autograder.checks.gradcheck import check_gradient
from autograder.checks.speed import REPEATS, check_speedup, timed
from autograder.results import Status


def quadratic(v: np.ndarray) -> float:
    """A loss whose gradient is 2 v."""
    return float(np.sum(v**2))


class NudgeCache:
    """A loss that answers a point close to one it has seen with the value it gave there."""

    def __init__(self) -> None:
        self.seen: list[tuple[np.ndarray, float]] = []
        self.hits = 0

    def __call__(self, v: np.ndarray) -> float:
        for point, value in self.seen:
            if np.max(np.abs(point - v)) < 1e-3:
                self.hits += 1
                return value
        value = quadratic(v)
        self.seen.append((v.copy(), value))
        return value


def test_a_nan_relative_error_fails():
    """Kills the mutation ``not err <= rtol`` -> ``err > rtol``: NaN > rtol is False."""
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(CheckFailed, match="numerical gradient nan"):
        check_gradient("grad", 2 * x, lambda v: float("nan"), x, np.random.default_rng(0))


def test_a_caching_loss_earns_nothing_with_a_zero_gradient():
    x = np.random.default_rng(1).normal(size=(3, 4))
    loss = NudgeCache()
    loss(x)  # the student's first call, at the point itself
    anchor = lambda points: np.array([quadratic(p) for p in points])  # noqa: E731
    with pytest.raises(CheckFailed) as failure:
        check_gradient(
            "grad", np.zeros_like(x), loss, x, np.random.default_rng(2), anchor=anchor, at_x=loss(x)
        )
    assert loss.hits > 0  # the cache answered
    assert "near the point where grad is checked" in failure.value.message
    assert "from its input" in failure.value.hint


def test_without_the_anchor_the_caching_loss_would_pass():
    """What the anchor closes: the self-consistency check alone accepts the cached zeros."""
    x = np.random.default_rng(1).normal(size=(3, 4))
    loss = NudgeCache()
    loss(x)
    check_gradient("grad", np.zeros_like(x), loss, x, np.random.default_rng(2))
    assert loss.hits > 0


def test_a_loss_answering_differently_at_the_same_input_is_invalid_output():
    x = np.random.default_rng(3).normal(size=(2, 2))
    calls = []

    def drifting(v: np.ndarray) -> float:
        calls.append(1)
        return quadratic(v) + 1e-6 * len(calls)

    anchor = lambda points: np.array([quadratic(p) for p in points])  # noqa: E731
    with pytest.raises(CheckFailed) as failure:
        check_gradient("grad", 2 * x, drifting, x, np.random.default_rng(4), anchor=anchor, at_x=quadratic(x))
    assert failure.value.status is Status.INVALID_OUTPUT
    assert "called twice on the same input" in failure.value.message


def test_an_honest_loss_passes_the_anchored_check():
    x = np.random.default_rng(5).normal(size=(3, 4))
    anchor = lambda points: np.array([quadratic(p) for p in points])  # noqa: E731
    worst = check_gradient(
        "grad", 2 * x, quadratic, x, np.random.default_rng(6), anchor=anchor, at_x=quadratic(x)
    )
    assert worst < 1e-7


def test_gradient_points_are_fresh_and_never_repeated():
    x = np.random.default_rng(7).normal(size=(2, 3))
    seen: list[bytes] = []

    def recording(v: np.ndarray) -> float:
        seen.append(v.tobytes())
        return quadratic(v)

    check_gradient("grad", 2 * x, recording, x, np.random.default_rng(8))
    assert len(seen) == len(set(seen)) == 2 * (x.size + 3)
    coordinate_only = [p for p in seen if np.count_nonzero(np.frombuffer(p) != x.ravel()) == 1]
    assert len(coordinate_only) == 2 * x.size  # the others move every coordinate: random directions


def slow_distances(x: np.ndarray) -> np.ndarray:
    """The loop version the cache delegates to."""
    time.sleep(0.02)
    return x * 2


def seconds_of(baseline):
    """A ``check_speedup`` baseline: the seconds ``baseline(x)`` takes, whatever the sample."""
    return lambda x, sample: timed(lambda: baseline(x))[0]


def test_a_cached_answer_is_timed_as_the_work_it_is():
    calls = {"computed": 0, "cached": 0}
    cache: dict[bytes, np.ndarray] = {}

    def caching(x: np.ndarray) -> np.ndarray:
        key = x.tobytes()
        if key in cache:
            calls["cached"] += 1
            return cache[key]
        calls["computed"] += 1
        cache[key] = slow_distances(x)
        return cache[key]

    rng = np.random.default_rng(0)

    def draw(repetition: int) -> tuple[np.ndarray, None]:
        return rng.normal(size=4), None

    with pytest.raises(CheckFailed, match="faster than a loop version"):
        check_speedup(
            "speed",
            draw,
            seconds_of(slow_distances),
            caching,
            lambda x, got, want: None,
            contextlib.nullcontext,
        )
    assert calls == {"computed": REPEATS, "cached": 0}  # every repetition was fresh work


def test_every_timed_repetition_is_verified():
    rng = np.random.default_rng(0)
    answers = iter([1.0, 1.0, 2.0])
    checked = []

    def verify(x, got, want):
        checked.append(got)
        if got != want:
            raise CheckFailed("speed", str(want), str(got))

    with pytest.raises(CheckFailed):
        check_speedup(
            "speed",
            lambda repetition: (rng.normal(), 1.0),
            lambda x, sample: 1.0,
            lambda x: next(answers),
            verify,
            contextlib.nullcontext,
        )
    assert checked == [1.0, 1.0, 2.0]


def test_the_source_report_is_plain_json(tmp_path):
    from autograder.submission.inspect import inspect_source

    path = tmp_path / "svm.py"
    path.write_text("import numpy as np\n\ndef f(x):\n    return [v for v in x]\n")
    report = inspect_source(path, frozenset())
    assert json.loads(json.dumps(dataclasses.asdict(report)))["loops"]["f"] == ["list comprehension (line 4)"]
