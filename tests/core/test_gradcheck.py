"""Unit tests of ``checks/gradcheck.py`` on losses whose gradients are known in
closed form: float64 centred differences, the tolerance at its edge, the worst
element named, and the anchoring of a loss the student controls."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.checks import svm
from autograder.checks.base import CheckFailed
from autograder.checks.gradcheck import (
    ANCHOR_HINT,
    FULL_SIZE,
    SAMPLES,
    STEP,
    Batched,
    anchored,
    check_gradient,
    coordinates,
    directions,
    loss_at_points,
    numerical_gradient,
    point,
    relative_errors,
    require_repeatable,
)
from autograder.results import Status

C = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])


def quadratic(x: np.ndarray) -> float:
    """sum(C * x**2) / 2, whose gradient is C * x."""
    return float(np.sum(C * x**2) / 2)


X = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
GRADIENT = C * X


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def failure(call, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        call(*args, **kwargs)
    return caught.value


def test_small_inputs_are_checked_at_every_coordinate_in_order():
    assert coordinates((2, 3), rng()) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert FULL_SIZE == 300
    assert len(coordinates((300,), rng())) == 300


def test_large_inputs_are_sampled_at_40_distinct_coordinates():
    picked = coordinates((301,), rng())
    assert len(picked) == SAMPLES == 40 == len(set(picked))
    big = coordinates((30, 40), rng())
    assert len(set(big)) == 40
    assert all(0 <= i < 30 and 0 <= j < 40 for i, j in big)
    assert all(type(i) is int for index in big for i in index)


def test_directions_are_the_unit_coordinates_then_random_unit_vectors():
    units, labels = directions((2, 3), rng())
    assert len(units) == len(labels) == 6 + 3
    np.testing.assert_array_equal(units[4], [[0, 0, 0], [0, 1, 0]])
    assert labels[4] == "at [1, 1]"
    assert labels[6:] == ["along random direction 1", "along random direction 2", "along random direction 3"]
    for unit in units[6:]:
        assert unit.shape == (2, 3)
        assert np.linalg.norm(unit) == pytest.approx(1.0, abs=1e-12)
        assert np.count_nonzero(unit) == 6


def test_point_steps_forward_on_even_and_backward_on_odd_indices():
    units = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(point(x, units, 0, 0.5), [1.5, 2.0])
    np.testing.assert_array_equal(point(x, units, 1, 0.5), [0.5, 2.0])
    np.testing.assert_array_equal(point(x, units, 3, 0.5), [1.0, 1.5])
    np.testing.assert_array_equal(point(x, units, 2), [1.0, 2.0 + 1e-5])


def test_numerical_gradient_is_the_centred_difference_in_any_evaluation_order():
    units, _ = directions(X.shape, rng())
    seen = []

    def loss(z):
        seen.append(z.copy())
        return quadratic(z)

    order = np.random.default_rng(5).permutation(2 * len(units))
    slopes, values, at_x = numerical_gradient(loss, X, units, order)
    assert at_x is None and len(seen) == 2 * len(units)
    expected = np.array([np.sum(GRADIENT * u) for u in units])
    np.testing.assert_allclose(slopes, expected, rtol=1e-8)
    assert values.shape == (len(units), 2)
    np.testing.assert_allclose(values[:, 0], [quadratic(X + STEP * u) for u in units], rtol=1e-15)
    np.testing.assert_allclose(values[:, 1], [quadratic(X - STEP * u) for u in units], rtol=1e-15)
    # evaluated in the given order
    np.testing.assert_array_equal(seen[0], point(X, units, int(order[0])))
    np.testing.assert_array_equal(seen[-1], point(X, units, int(order[-1])))


def test_numerical_gradient_divides_by_twice_the_step():
    # loss(x) = 3 x: the slope is 3 whatever the step
    slopes, values, _ = numerical_gradient(
        lambda z: 3.0 * float(z[0]), np.array([1.0]), [np.ones(1)], np.arange(2), step=0.25
    )
    np.testing.assert_array_equal(values, [[3.75, 2.25]])
    np.testing.assert_array_equal(slopes, [3.0])


def test_numerical_gradient_in_one_batch_asks_every_point_in_order_and_x_last():
    units, _ = directions(X.shape, rng())
    order = np.random.default_rng(7).permutation(2 * len(units))
    asked = []

    def losses(points):
        asked.append([z.copy() for z in points])
        return np.array([quadratic(z) for z in points])

    slopes, values, at_x = numerical_gradient(Batched(losses), X, units, order, again=True)
    assert len(asked) == 1 and len(asked[0]) == 2 * len(units) + 1
    for got, k in zip(asked[0], order, strict=False):
        np.testing.assert_array_equal(got, point(X, units, int(k)))
    np.testing.assert_array_equal(asked[0][-1], X)
    assert at_x == quadratic(X)
    one_by_one = numerical_gradient(quadratic, X, units, order)
    np.testing.assert_array_equal(slopes, one_by_one[0])
    np.testing.assert_array_equal(values, one_by_one[1])


def test_relative_errors_are_elementwise_and_floored():
    got = relative_errors(np.array([1.0, 0.0, 3e-7]), np.array([3.0, 0.0, 0.0]))
    np.testing.assert_allclose(got, [0.5, 0.0, 0.3], rtol=1e-12)


def test_a_correct_gradient_passes_and_reports_a_tiny_error():
    error = check_gradient("dx", GRADIENT, quadratic, X, rng())
    assert 0 <= error < 1e-7


def test_the_points_reach_the_loss_in_float64():
    dtypes = set()

    def loss(z):
        dtypes.add(z.dtype)
        return quadratic(z)

    check_gradient("dx", GRADIENT, loss, X.astype(np.float32), rng())
    assert dtypes == {np.dtype(np.float64)}


def test_a_wrong_coordinate_is_named_with_both_values():
    wrong = GRADIENT.copy()
    wrong[1, 2] += 1.0  # 0.5 * ... + 1: analytic 2.05, numerical 1.05
    failed = failure(check_gradient, "dW", wrong, quadratic, X, rng())
    assert failed.status is Status.FAILED
    assert failed.message.startswith(
        "dW at [1, 2] (worst of 9 checked): expected the numerical gradient 1.05"
    )
    assert "got 2.05 (relative error 3.23e-01)" in failed.message


def test_a_wrong_coordinate_is_named_before_a_worse_direction():
    units, _ = directions(X.shape, rng())  # what check_gradient draws from the same generator
    first_direction = units[6]
    slope = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 100.0]])
    slope -= np.sum(slope * first_direction) * first_direction  # the loss is flat along direction 1
    wrong = slope.copy()
    wrong[1, 2] += 1.0  # relative error 1 / 201 at [1, 2]; 1 along direction 1

    def linear(z):
        return float(np.sum(slope * z))

    assert failure(check_gradient, "dW", wrong, linear, X, rng()).message.startswith("dW at [1, 2] ")


def test_the_error_is_accepted_when_it_equals_the_tolerance():
    # the centred difference of 2 z at z = 1, computed as check_gradient does
    numeric = (2.0 * (1.0 + 1e-5) - 2.0 * (1.0 - 1e-5)) / (2 * 1e-5)
    error = abs(2.2 - numeric) / max(1e-6, 2.2 + abs(numeric))
    check_gradient("g", np.array([2.2]), lambda z: 2.0 * float(z[0]), np.array([1.0]), rng(), rtol=error)


def test_the_worst_coordinate_is_named_not_the_first_wrong_one():
    wrong = GRADIENT.copy()
    wrong[0, 0] *= 1.001
    wrong[0, 2] *= 2.0
    assert "dW at [0, 2]" in failure(check_gradient, "dW", wrong, quadratic, X, rng()).message


def test_a_gradient_wrong_only_off_the_sampled_coordinates_fails_along_a_direction():
    shape = (20, 20)  # above FULL_SIZE: coordinates are sampled
    c = np.linspace(0.5, 2.0, 400).reshape(shape)
    x = np.random.default_rng(1).normal(size=shape)
    generator = np.random.default_rng(2)
    sampled = set(coordinates(shape, np.random.default_rng(2)))
    unsampled = next(index for index in np.ndindex(shape) if index not in sampled)
    wrong = c * x
    wrong[unsampled] += 50.0
    failed = failure(check_gradient, "dW", wrong, lambda z: float(np.sum(c * z**2) / 2), x, generator)
    assert "along random direction" in failed.message


def test_the_tolerance_is_inclusive_and_adjustable():
    # loss 2 x at x = 1: numerical slope 2 (exact here); analytic 2.2 has error 0.2 / 4.2
    loss = lambda z: 2.0 * float(z[0])  # noqa: E731
    error = 0.2 / 4.2
    check_gradient("g", np.array([2.2]), loss, np.array([1.0]), rng(), rtol=error * 1.001)
    failure(check_gradient, "g", np.array([2.2]), loss, np.array([1.0]), rng(), rtol=error * 0.999)
    # the default is 1e-5
    check_gradient("g", np.array([2.0 * (1 + 1.9e-5)]), loss, np.array([1.0]), rng())
    failure(check_gradient, "g", np.array([2.0 * (1 + 2.1e-5)]), loss, np.array([1.0]), rng())


def test_nan_in_the_analytic_gradient_fails():
    wrong = GRADIENT.copy()
    wrong[0, 1] = np.nan
    # (0 * nan is nan: every projection is nan, so no coordinate can be singled out;
    # the checks validate the gradient as finite before they get here)
    assert "got nan (relative error nan)" in failure(check_gradient, "dx", wrong, quadratic, X, rng()).message


def test_nan_from_the_loss_fails():
    failed = failure(check_gradient, "dx", GRADIENT, lambda z: float("nan"), X, rng())
    assert "expected the numerical gradient nan" in failed.message


def test_repeatable_losses_pass_and_others_are_invalid_output():
    require_repeatable("dx", 1.0, 1.0)
    require_repeatable("dx", 1.0, 1.0 + 0.9e-12)
    assert failure(require_repeatable, "dx", 1.0, 1.0 + 1.2e-12).status is Status.INVALID_OUTPUT
    require_repeatable("dx", 0.0, 1e-19)  # floored: both are zero to 1e-6
    refused = failure(require_repeatable, "dx", 1.0, 1.0 + 1e-11)
    assert refused.status is Status.INVALID_OUTPUT
    assert refused.message == (
        "dx: your function called twice on the same input: expected the same answer twice (1), "
        "got 1.00000000001 the second time"
    )
    assert failure(require_repeatable, "dx", 0.0, float("nan")).status is Status.INVALID_OUTPUT
    assert refused.hint == "compute the result from the arguments only: no state kept between calls"


def test_repeatability_is_relative_to_the_answers_size():
    require_repeatable("dx", 1000.0, 1000.0 + 5e-10)
    failure(require_repeatable, "dx", 1000.0, 1000.0 + 2e-9)


def test_check_gradient_asks_the_loss_again_at_x_when_told_what_it_said():
    calls = []

    def loss(z):
        calls.append(z)
        return quadratic(z)

    check_gradient("dx", GRADIENT, loss, X, rng(), at_x=quadratic(X))
    np.testing.assert_array_equal(calls[-1], X)
    assert calls[-1] is not X
    failed = failure(check_gradient, "dx", GRADIENT, quadratic, X, rng(), at_x=quadratic(X) + 1.0)
    assert failed.status is Status.INVALID_OUTPUT


def reference_anchor(points):
    return np.array([quadratic(p) for p in points])


def test_an_honest_loss_agrees_with_its_anchor():
    check_gradient("dx", GRADIENT, quadratic, X, rng(), anchor=reference_anchor)


def test_a_loss_whose_values_differ_from_the_references_fails_with_the_anchor_hint():
    failed = failure(
        check_gradient, "dx", GRADIENT, lambda z: quadratic(z) + 1.0, X, rng(), anchor=reference_anchor
    )
    assert failed.message.startswith("value of your function near the point where dx is checked")
    assert failed.hint == ANCHOR_HINT and failed.status is Status.FAILED
    assert ANCHOR_HINT.startswith("your function does not compute its answer from its input at points close")
    assert "a gradient check measures nothing then; compute every call from its arguments" in ANCHOR_HINT


def test_a_loss_with_the_right_values_but_its_own_slopes_fails_with_the_anchor_hint():
    # equal to the reference at X to within 1e-6 relative, with the slope of GRADIENT + 1 everywhere
    def cached(z):
        return 1000.0 + quadratic(z) + float(np.sum(z - X))

    def anchor(points):
        return np.array([1000.0 + quadratic(p) for p in points])

    failed = failure(check_gradient, "dx", GRADIENT + 1.0, cached, X, rng(), anchor=anchor)
    assert failed.message.startswith("slope of your function near the point where dx is checked, ")
    assert "expected the reference's" in failed.message
    assert re.search(r"got -?[0-9.e+-]+ \(relative error [0-9.]+e[+-]\d\d\)$", failed.message)
    assert failed.hint == ANCHOR_HINT


def test_the_anchor_sees_sampled_coordinates_and_every_direction_at_both_sides():
    asked = []

    def anchor(points):
        asked.append(points)
        return reference_anchor(points)

    check_gradient("dx", GRADIENT, quadratic, X, rng(), anchor=anchor)
    (points,) = asked
    # four sampled coordinates and the three random directions, each at x + h u and x - h u
    assert len(points) == 2 * (4 + 3)
    for plus, minus in zip(points[::2], points[1::2], strict=True):
        np.testing.assert_allclose((plus + minus) / 2, X, atol=1e-15)
        assert np.linalg.norm(plus - X) == pytest.approx(1e-5, rel=1e-9)
    assert len({p.tobytes() for p in points}) == len(points)  # no point asked twice


def test_anchored_asks_the_session_for_the_values_under_a_named_key():
    keys = []

    def expected(key, compute):
        keys.append(key)
        return compute()

    anchor = anchored(SimpleNamespace(expected=expected), "loss", quadratic)
    points = [X, 2 * X]
    np.testing.assert_allclose(anchor(points), [quadratic(X), quadratic(2 * X)], rtol=1e-15)
    assert keys == ["anchor loss"]


# -- a student's (loss, grad) at many points in one request ---------------------------


class EachSession:
    """``Session.each`` as the harness answers it, in this process: ``target(*args)``
    once per row of ``args[vary]``, element ``pick`` of each result, stacked."""

    def __init__(self, functions: dict) -> None:
        self.functions = functions
        self.requests = 0

    def each(self, target, args, vary, pick=None):
        self.requests += 1
        rows = []
        for row in args[vary]:
            value = self.functions[target](*args[:vary], row.copy(), *args[vary + 1 :])
            rows.append(value if pick is None else value[pick])
        if isinstance(rows[0], tuple):
            return tuple(np.stack([np.asarray(r[k]) for r in rows]) for k in range(len(rows[0])))
        return np.stack(rows)


FEATURES = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.0, -1.0], [0.0, 1.0, 1.0]])
LABELS = np.array([0, 1, 1, 0])
WEIGHTS = np.array([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.2]])


def squares(W, X, y, reg):
    """sum((X W)**2) / 2 + reg * sum(W**2), and its gradient."""
    scores = X @ W
    return 0.5 * float(np.sum(scores**2)) + reg * float(np.sum(W * W)), X.T @ scores + 2 * reg * W


def batched_losses(function, points):
    session = EachSession({"f": function})
    args = (WEIGHTS, FEATURES, LABELS, 0.1)
    losses = loss_at_points(session, "f", args, lambda got: svm.validated("f", WEIGHTS.shape, got)[0]).losses(
        points
    )
    return losses, session.requests


POINTS = [WEIGHTS + 0.25 * k for k in range(3)]


def test_the_losses_at_every_point_come_from_one_request_varying_the_weights():
    losses, requests = batched_losses(squares, POINTS)
    assert requests == 1
    np.testing.assert_array_equal(losses, [squares(p, FEATURES, LABELS, 0.1)[0] for p in POINTS])


def test_a_one_element_loss_is_taken_as_a_single_call_takes_it():
    losses, _ = batched_losses(lambda *a: (np.array([squares(*a)[0]]), squares(*a)[1]), POINTS)
    np.testing.assert_array_equal(losses, [squares(p, FEATURES, LABELS, 0.1)[0] for p in POINTS])


@pytest.mark.parametrize(
    "student, subject",
    [
        (lambda *a: squares(*a)[0], "f(W, X, y, reg)"),  # the loss alone, no tuple
        (lambda *a: (*squares(*a), 0.0), "f(W, X, y, reg)"),  # three values
        (lambda *a: (squares(*a)[0], squares(*a)[1][:2]), "dW of f"),  # gradient of the wrong shape
        (lambda *a: (squares(*a)[0], np.ones((3, 2), dtype=np.int64)), "dW of f"),  # integer gradient
        (lambda *a: (np.array([1.0, 2.0]), squares(*a)[1]), "loss of f"),  # two losses per call
        (lambda *a: (np.array([[1.0]]) * np.nan, squares(*a)[1]), "loss of f"),  # NaN loss
    ],
    ids=["not a tuple", "three values", "dW shape", "integer dW", "two losses", "nan loss"],
)
def test_every_answer_is_validated_as_a_single_calls_would_be(student, subject):
    with pytest.raises(CheckFailed) as caught:
        batched_losses(student, POINTS)
    assert caught.value.status == Status.INVALID_OUTPUT
    assert caught.value.message.startswith(f"{subject}: expected ")


@pytest.mark.parametrize(
    "reply",
    [
        np.zeros(2),  # fewer answers than points
        (np.zeros(3), np.zeros((2, 3, 2))),  # one element stacked short
        (np.zeros(3), [0.0, 1.0, 2.0]),  # an element that is no array
        np.float64(1.0),  # no rows at all
    ],
    ids=["short", "ragged tuple", "not an array", "0-d"],
)
def test_a_reply_that_is_not_one_answer_per_point_is_invalid_output(reply):
    session = SimpleNamespace(each=lambda target, args, vary, pick=None: reply)
    batched = loss_at_points(
        session, "f", (WEIGHTS, FEATURES, LABELS, 0.1), lambda got: pytest.fail("validated")
    )
    with pytest.raises(CheckFailed) as caught:
        batched.losses(POINTS)
    assert caught.value.status == Status.INVALID_OUTPUT
    assert caught.value.message == "f: expected 3 answers, one per point, got a reply of another layout"


def test_the_varied_argument_and_the_picked_element_are_the_ones_asked_for():
    session = EachSession({"f": lambda a, b, c: (float(np.sum(a * b)) + c, "a cache")})
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    points = [b, 2 * b]
    losses = loss_at_points(session, "f", (a, b, 0.5), lambda out: float(out) * 10, vary=1, pick=0).losses(
        points
    )
    np.testing.assert_array_equal(losses, [15.0, 25.0])
