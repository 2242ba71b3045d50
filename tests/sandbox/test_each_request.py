"""The ``each`` request: a numerical gradient's points in one sandbox call.

Directly on a ``Child``: the rows are evaluated in order, each with fresh
copies of every argument, as separate calls would be, and whatever the
student's code returns that the grader could not use is refused in the
child's reply. Through ``grade``: the conv exercise's
gradient checks, which send their points this way, still catch a backward
that is not the derivative of the forward, and a forward that answers nudged
inputs from a cache.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.gradcheck import ANCHOR_HINT
from autograder.results import Status
from autograder.sandbox import StudentFault
from tests.conftest import checks_by_name, grade_files, reference_source, start_child

SECONDS = 30.0
"""Budget of one direct ``Child`` run here (each needs about 1 s)."""

MODULE = """
import numpy as np

seen = []


def forward(x, scale):
    seen.append(1)
    return np.array([len(seen) * scale, float(x.base is None), x.sum()]), "cache"


def ragged(x):
    seen.append(1)
    return (np.zeros(len(seen) % 2 + 1),)


def consuming(x, scale, options):
    step = options.pop("step")  # separate calls each get their own arguments
    scale *= 2.0
    return x * scale.sum() + step, options


def pair(x):
    return x.sum(), 2 * x


def pair_then_array(x):
    seen.append(1)
    return (x.sum(), x) if len(seen) % 2 else x


def listed(x):
    return [x, x]


def textual(x):
    return ("text",)


def failing(x):
    if x[0] > 1:
        raise ValueError("no")
    return (x,)
"""

GRADIENT_CHECKS = (
    "conv backward matches the numerical gradient of your forward: stride 2, pad 1, non-square input",
    "conv backward matches the numerical gradient of your forward: stride 1, pad 0, non-square filters",
)
POOL_GRADIENT = (
    "max-pool backward matches the numerical gradient of your forward: 3x3 windows, stride 2 (overlapping)"
)


@pytest.fixture
def child(tmp_path):
    started = start_child(tmp_path, "points", MODULE, SECONDS)
    yield started
    started.close()


def test_each_row_is_evaluated_in_order_on_a_fresh_copy(child):
    rows = np.arange(12.0).reshape(4, 3)
    got = child.each("forward", (rows, 2.0), 0, 0, seconds=SECONDS)
    order = [2.0, 4.0, 6.0, 8.0]  # the k-th call of the module saw len(seen) == k
    assert np.array_equal(got, np.column_stack([order, np.ones(4), rows.sum(axis=1)]))


def test_every_row_gets_fresh_copies_of_the_other_arguments(child):
    rows = np.arange(6.0).reshape(3, 2)
    got = child.each("consuming", (rows, np.ones(2), {"step": 1.0}), 0, 0, seconds=SECONDS)
    assert np.array_equal(got, rows * 4.0 + 1.0)


def test_tuple_results_come_back_as_the_tuple_of_their_elements_stacked(child):
    rows = np.arange(6.0).reshape(3, 2)
    sums, doubled = child.each("pair", (rows,), 0, None, seconds=SECONDS)
    assert np.array_equal(sums, [1.0, 5.0, 9.0]) and np.array_equal(doubled, 2 * rows)


@pytest.mark.parametrize(
    ("target", "pick", "words"),
    [
        ("ragged", 0, "at one point and"),
        ("pair_then_array", None, "at one point and"),
        ("listed", 0, "not a tuple with an element 0"),
        ("textual", 0, "not numbers"),
        ("textual", None, "not numbers"),
    ],
)
def test_unusable_results_are_invalid_output(child, target, pick, words):
    with pytest.raises(StudentFault) as fault:
        child.each(target, (np.zeros((3, 2)),), 0, pick, seconds=SECONDS)
    assert fault.value.status is Status.INVALID_OUTPUT
    assert words in fault.value.message


def test_an_exception_at_a_point_is_the_students_error(child):
    with pytest.raises(StudentFault) as fault:
        child.each("failing", (np.arange(6.0).reshape(3, 2),), 0, 0, seconds=SECONDS)
    assert fault.value.status is Status.ERROR
    assert "ValueError" in fault.value.message and "no" in fault.value.message
    assert child.alive  # a student's exception leaves the child usable


def conv_with(tail: str) -> dict[str, str]:
    """The reference conv.py followed by ``tail``."""
    return {"conv.py": f"{reference_source('conv')}\n{tail}"}


def test_a_backward_slightly_off_its_forward_fails_the_gradient_checks(tmp_path):
    tail = """
_backward = conv_backward_naive


def conv_backward_naive(dout, cache):
    dx, dw, db = _backward(dout, cache)
    return dx, dw * 1.001, db
"""
    checks = checks_by_name(grade_files(tmp_path / "sub", conv_with(tail), only=("conv",)), "conv")
    for name in GRADIENT_CHECKS:
        assert checks[name].status is Status.FAILED, checks[name].message
        assert "dw of conv_backward_naive" in checks[name].message
        assert "numerical gradient" in checks[name].message
    assert checks[POOL_GRADIENT].status is Status.PASSED


def test_a_forward_answering_nudged_inputs_from_a_cache_fails(tmp_path):
    tail = """
_forward, _pool = conv_forward_naive, max_pool_forward_naive
_answers = []


def _cached(function, x, *rest):
    for seen, answer in _answers:
        if seen.shape == x.shape and np.max(np.abs(seen - x)) < 1e-3:
            return answer
    answer = function(x, *rest)
    _answers.append((x.copy(), answer))
    return answer


def conv_forward_naive(x, w, b, conv_param):
    return _cached(_forward, x, w, b, conv_param)


def max_pool_forward_naive(x, pool_param):
    return _cached(_pool, x, pool_param)
"""
    checks = checks_by_name(grade_files(tmp_path / "sub", conv_with(tail), only=("conv",)), "conv")
    for name in (*GRADIENT_CHECKS, POOL_GRADIENT):
        assert checks[name].status is Status.FAILED, (name, checks[name].status, checks[name].message)
        assert checks[name].hint == ANCHOR_HINT
