"""Unit tests of ``checks/compare.py``: validation before comparison, and a
comparison that names the worst element. Expected values are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.base import CheckFailed
from autograder.checks.compare import ATOL, RTOL, as_array, as_scalar, as_tuple, assert_close, rel_error
from autograder.results import Status


def failure(call, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([1.0], [3.0], 0.5),  # |1 - 3| / (1 + 3)
        ([0.0, 2.0], [0.0, 1.0], 1 / 3),  # the largest of 0 and 1 / 3
        ([2e-9], [0.0], 0.2),  # denominator floored at 1e-8
        ([], [], 0.0),  # nothing to compare
        ([-1.0], [1.0], 1.0),
    ],
)
def test_rel_error_is_cs231ns_formula(x, y, expected):
    assert rel_error(np.array(x), np.array(y)) == pytest.approx(expected, rel=1e-12)


def test_as_array_returns_a_valid_array_unchanged():
    value = np.arange(6.0).reshape(2, 3)
    assert as_array("W", value, (2, 3)) is value
    flags = np.array([True, False])
    assert as_array("mask", flags, (2,), kinds="b") is flags


@pytest.mark.parametrize(
    ("value", "shape", "kinds", "expected", "got"),
    [
        (None, (2,), "f", "an array of shape (2,)", "None"),
        ([1.0, 2.0], (2,), "f", "an array of shape (2,)", "a list"),
        ((np.ones(2),), (2,), "f", "an array of shape (2,)", "a tuple"),
        (np.ones(2, dtype=np.int64), (2,), "f", "an array of dtype kind 'f'", "dtype int64"),
        (np.array(["a", "b"]), (2,), "fiub", "an array of dtype kind 'fiub'", "dtype <U1"),
        (np.ones((2, 1)), (2,), "f", "shape (2,)", "shape (2, 1)"),
        (np.ones(3), [3, 1], "f", "shape (3, 1)", "shape (3,)"),
    ],
)
def test_as_array_refuses_what_is_not_the_array_asked_for(value, shape, kinds, expected, got):
    refused = failure(as_array, "dW", value, shape, kinds)
    assert refused.status is Status.INVALID_OUTPUT
    assert refused.message == f"dW: expected {expected}, got {got}"


def test_as_array_names_the_first_non_finite_element_and_counts_them():
    value = np.zeros((2, 3))
    value[1, 2] = np.inf
    value[0, 1] = np.nan
    refused = failure(as_array, "scores", value, (2, 3))
    assert refused.status is Status.INVALID_OUTPUT
    assert refused.message == "scores: expected finite numbers, got nan at [0, 1] (2 non-finite)"


def test_as_array_takes_non_finite_values_when_asked_and_never_checks_integers():
    value = np.array([np.nan, 1.0])
    assert as_array("x", value, (2,), finite=False) is value
    assert as_array("n", np.array([2**62]), (1,)) is not None


def test_a_non_finite_scalar_is_refused_without_an_index():
    refused = failure(as_array, "loss", np.array(np.inf), ())
    assert refused.message == "loss: expected finite numbers, got inf at  (1 non-finite)"


@pytest.mark.parametrize("value", [np.array(2.5), np.array([2.5]), np.array([[2.5]])])
def test_as_scalar_takes_one_element_arrays(value):
    got = as_scalar("loss", value)
    assert type(got) is float and got == 2.5


@pytest.mark.parametrize(
    ("value", "got"), [(np.ones(2), "shape (2,)"), (2.5, "a float"), (np.array(np.nan), "nan at ")]
)
def test_as_scalar_refuses_the_rest(value, got):
    refused = failure(as_scalar, "loss", value)
    assert refused.status is Status.INVALID_OUTPUT
    assert got in refused.message


def test_as_tuple():
    pair = (np.ones(1), np.zeros(1))
    assert as_tuple("svm", pair, 2) is pair
    assert failure(as_tuple, "svm", pair, 3).message == "svm: expected a tuple of 3 values, got 2 values"
    single = failure(as_tuple, "svm", np.ones(2), 2)
    assert single.message == "svm: expected a tuple of 2 values, got a single value"
    assert single.status is Status.INVALID_OUTPUT
    assert failure(as_tuple, "svm", [1, 2], 2).message.endswith("got a single value")


def test_assert_close_accepts_up_to_the_tolerance_and_not_beyond():
    # |got - expected| <= atol + rtol * |expected|, both ends included
    assert_close("x", np.array([ATOL]), np.array([0.0]))
    assert_close("x", 100.0 * (1 + 0.9 * RTOL), 100.0, atol=0.0)
    assert_close("x", np.array([1.5]), np.array([1.0]), rtol=0.5, atol=0.0)
    assert_close("x", np.array([1.5]), np.array([1.0]), rtol=0.0, atol=0.5)
    for got in (2.5 * ATOL, -2.5 * ATOL):
        assert failure(assert_close, "x", np.array([got]), np.array([0.0])).status is Status.FAILED
    failure(assert_close, "x", 100.0 + 3 * 100.0 * RTOL, 100.0, atol=0.0)
    failure(assert_close, "x", np.array([1.6]), np.array([1.0]), rtol=0.5, atol=0.0)
    failure(assert_close, "x", np.array([1.6]), np.array([1.0]), rtol=0.0, atol=0.5)


def test_the_default_tolerances_are_one_in_a_million_and_1e_9():
    assert_close("x", 1.0 + 0.9e-6, 1.0)
    failure(assert_close, "x", 1.0 + 1.2e-6, 1.0)
    assert_close("x", np.array([0.9e-9]), np.array([0.0]))
    failure(assert_close, "x", np.array([1.2e-9]), np.array([0.0]))


def test_by_default_any_numeric_kind_is_taken_and_others_named():
    for value in (np.ones(1), np.ones(1, dtype=np.int8), np.ones(1, dtype=np.uint16), np.ones(1, dtype=bool)):
        assert as_array("x", value, (1,)) is value
    assert failure(as_array, "x", np.array(["a"]), (1,)).message == (
        "x: expected an array of dtype kind 'fiub', got dtype <U1"
    )


def test_assert_close_names_the_worst_element_its_values_and_the_count():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = np.array([[1.0, 2.5], [3.0, 4.1]])
    wrong = failure(assert_close, "dW", got, expected)
    # worst excess: 0.5 at [0, 1]; relative error 0.5 / 4.5
    assert (
        wrong.message == "dW: expected [0, 1] = 2, got 2.5 (relative error 1.11e-01, 2 of 4 elements wrong)"
    )
    assert wrong.hint == "" and wrong.status is Status.FAILED


def test_the_worst_element_is_the_largest_excess_over_the_tolerance_not_the_largest_difference():
    # difference 1.0 on 1000 is within rtol=1e-3; 0.5 on 1.0 is not
    expected = np.array([1000.0, 1.0])
    wrong = failure(assert_close, "v", np.array([1001.0, 1.5]), expected, rtol=1e-3, atol=0.0)
    assert wrong.message.startswith("v: expected [1] = 1, got 1.5")
    assert "1 of 2 elements wrong" in wrong.message


def test_a_scalar_difference_names_no_index_and_no_count():
    wrong = failure(assert_close, "loss", 1.25, 1.0)
    assert wrong.message == "loss: expected = 1, got 1.25 (relative error 1.11e-01)"


def test_nan_never_passes():
    wrong = failure(assert_close, "v", np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert "[1] = 2, got nan" in wrong.message and "1 of 2 elements wrong" in wrong.message


def test_a_known_bug_is_named_when_the_student_returns_exactly_its_value():
    expected = np.array([1.0, 2.0])
    bug = np.array([2.0, 4.0])
    suspects = [("no such bug", lambda: np.array([5.0, 5.0])), ("forgot the 1/2", lambda: bug)]
    wrong = failure(assert_close, "dW", bug * (1 + 5 * RTOL), expected, suspects=suspects)
    assert wrong.hint == "Your result is exactly what this bug gives: forgot the 1/2."


def test_a_known_bug_is_not_named_for_a_different_value_or_shape():
    expected = np.array([1.0, 2.0])
    far = [("doubled", lambda: np.array([2.0, 4.0]))]
    assert failure(assert_close, "dW", np.array([2.0, 4.1]), expected, suspects=far).hint == ""
    # just outside ten times the tolerance
    assert (
        failure(assert_close, "dW", np.array([2.0, 4.0 * (1 + 12 * RTOL)]), expected, suspects=far).hint == ""
    )
    shaped = [("transposed", lambda: np.array([[2.0], [4.0]]))]
    assert failure(assert_close, "dW", np.array([2.0, 4.0]), expected, suspects=shaped).hint == ""


def test_the_first_matching_bug_is_named():
    both = [("first", lambda: np.array([3.0])), ("second", lambda: np.array([3.0]))]
    assert failure(assert_close, "v", np.array([3.0]), np.array([1.0]), suspects=both).hint.endswith("first.")


@pytest.mark.parametrize(
    ("got", "bug", "named"),
    [
        # named when |got - bug| <= 10 atol + 10 rtol |bug|
        (1000.0 * (1 + 9.5 * RTOL), 1000.0, True),
        (1000.0 * (1 + 10.5 * RTOL), 1000.0, False),
        (9.5 * ATOL, 0.0, True),
        (10.5 * ATOL, 0.0, False),
    ],
)
def test_a_known_bug_is_named_within_ten_times_the_tolerance(got, bug, named):
    hint = failure(
        assert_close, "v", np.array([got]), np.array([1.0]), suspects=[("b", lambda: np.array([bug]))]
    ).hint
    assert (hint != "") is named
