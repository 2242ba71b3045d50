"""Exercise 2: multiclass SVM loss and gradient (``svm.py``, CS231n signatures).

Loss and gradient are separate checks, and so are ``reg = 0`` and ``reg > 0``,
so that a regularization slip costs only its own points. When a wrong answer
equals what a well-known bug produces, the message names that bug.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks.base import HIDDEN, VISIBLE, Check, Exercise
from autograder.checks.compare import Suspect, as_array, as_scalar, as_tuple, assert_close
from autograder.checks.gradcheck import anchored, check_gradient, loss_at_points
from autograder.checks.linear import (
    SPEED_SIZES,
    VISIBLE_REG,
    check_vectorized_speed,
    linear_inputs,
    reg_label,
    regularization,
    regularization_bugs,
)
from autograder.checks.session import Session
from autograder.checks.speed import require_no_loops, values_first

KINK_GAP = 1e-3
"""Inputs are redrawn until every margin is this far from the hinge's kink,
so that centred differences (step 1e-5) never straddle it."""

LOOP_CALLS = 3
"""NumPy calls per (example, class) of the speed check's loop baseline: the
naive loss costs about 4 such calls per pair (two row updates of dW and the
margin's arithmetic; 0.34 s against 0.087 s for one call per pair, measured)."""

FUNCTIONS = ("svm_loss_naive", "svm_loss_vectorized")


def svm_inputs(rng: np.random.Generator, visibility: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, data and labels, non-square, away from the hinge's kink.

    Returns
    -------
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
    """
    if visibility == VISIBLE:
        num, dim, classes = 9, 6, 4
    else:
        num, dim, classes = (int(v) for v in rng.integers([5, 3, 3], [40, 30, 12]))
    while True:
        W, X, y = linear_inputs(rng, num, dim, classes)
        scores = X @ W
        margins = scores - scores[np.arange(num), y][:, None] + 1.0
        margins[np.arange(num), y] = 1.0
        if np.min(np.abs(margins)) > KINK_GAP:
            return W, X, y


def known_bugs(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[list[Suspect], list[Suspect]]:
    """What the usual bugs return, as suspects for the loss and for dW."""
    num = len(X)
    rows = np.arange(num)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    active = (margins > 0).astype(np.float64)
    data_loss = margins.sum() / num
    penalty = reg * np.sum(W * W)
    column = active.copy()
    column[rows, y] = -active.sum(axis=1)
    data_grad = X.T @ column / num
    loss_bugs: list[Suspect] = [
        (
            "the correct class is counted in the margins (each example adds 1)",
            lambda: data_loss + 1 + penalty,
        ),
        ("the loss is not divided by N", lambda: data_loss * num + penalty),
    ]
    grad_bugs: list[Suspect] = [
        ("dW is not divided by N", lambda: data_grad * num + 2 * reg * W),
        (
            "the correct-class column of dW is never updated (dW[:, y[i]] -= X[i] is missing)",
            lambda: X.T @ active / num + 2 * reg * W,
        ),
    ]
    reg_loss_bugs, reg_grad_bugs = regularization_bugs(reg, W, data_loss, data_grad)
    return loss_bugs + reg_loss_bugs, grad_bugs + reg_grad_bugs


def student_loss(session: Session, function: str, W, X, y, reg) -> tuple[float, np.ndarray]:
    """Call the student's ``function`` and validate ``(loss, dW)``."""
    return validated(function, W.shape, session.call(function, W, X, y, reg))


def validated(function: str, shape: tuple[int, ...], got: Any) -> tuple[float, np.ndarray]:
    """Validate what ``function`` returned as ``(loss, dW)``, ``dW`` of ``shape``."""
    got = as_tuple(f"{function}(W, X, y, reg)", got, 2)
    return as_scalar(f"loss of {function}", got[0]), as_array(f"dW of {function}", got[1], shape, kinds="f")


def value_check(function: str, part: str, positive_reg: bool, visibility: str) -> Check:
    """Check the loss or dW of ``function`` against the reference."""

    def run(session: Session) -> None:
        W, X, y = svm_inputs(session.rng, visibility)
        reg = regularization(session.rng, visibility, positive_reg)
        loss, dW = student_loss(session, function, W, X, y, reg)
        ref_loss, ref_dW = session.expected(
            "loss_dW", lambda: getattr(session.reference, function)(W, X, y, reg)
        )
        loss_bugs, grad_bugs = known_bugs(W, X, y, reg)
        subject = f"{part} of {function} with reg={reg:g}"
        if part == "loss":
            assert_close(subject, loss, ref_loss, suspects=loss_bugs)
        else:
            assert_close(subject, dW, ref_dW, suspects=grad_bugs)

    label = reg_label(positive_reg)
    hints = {
        "loss": "sum max(0, s_j - s_y + 1) over j != y only, divide by N, then add reg * np.sum(W * W)",
        "dW": "each positive margin adds X[i] to dW[:, j] and subtracts X[i] from dW[:, y[i]]; "
        "divide by N; add 2 * reg * W",
    }
    return Check(
        name=f"{function}: {part}, {label}" + ("" if visibility == VISIBLE else ", random sizes"),
        points=1,
        run=run,
        visibility=visibility,
        hint=hints[part],
        id=f"{short(function)}/{part}/{'reg>0' if positive_reg else 'reg=0'}/{visibility}",
        properties=frozenset({f"{function} {part}", label, "non-square"}),
    )


def gradient_check(function: str) -> Check:
    """Numerical gradient of the student's own loss against their dW."""

    def run(session: Session) -> None:
        W, X, y = svm_inputs(session.rng, VISIBLE)
        loss, dW = student_loss(session, function, W, X, y, VISIBLE_REG)
        ref_loss, _ = session.expected(
            "loss_dW", lambda: getattr(session.reference, function)(W, X, y, VISIBLE_REG)
        )
        assert_close(f"loss of {function} (the gradient is checked on a correct loss only)", loss, ref_loss)
        worst = check_gradient(
            f"dW of {function}",
            dW,
            loss_at_points(
                session, function, (W, X, y, VISIBLE_REG), lambda got: validated(function, W.shape, got)[0]
            ),
            W,
            session.rng,
            anchor=anchored(
                session, "W", lambda W_: getattr(session.reference, function)(W_, X, y, VISIBLE_REG)[0]
            ),
            at_x=loss,
        )
        session.record(max_relative_error=worst)

    return Check(
        name=f"{function}: dW matches the numerical gradient of your loss",
        points=1,
        run=run,
        hint="your dW is not the derivative of your own loss: compare the two formulas term by term",
        id=f"{short(function)}/numerical-gradient",
        properties=frozenset({f"{function} dW consistent with its loss"}),
    )


def short(function: str) -> str:
    """``"naive"`` or ``"vectorized"``: the part of a check id naming ``function``."""
    return function.removeprefix("svm_loss_")


def check_no_loops(session: Session) -> None:
    """svm_loss_vectorized is correct and contains no loop nor comprehension."""
    W, X, y = svm_inputs(session.rng, VISIBLE)
    got = session.call("svm_loss_vectorized", W, X, y, VISIBLE_REG)
    expected = session.expected("loss_dW", lambda: session.reference.svm_loss_naive(W, X, y, VISIBLE_REG))
    with values_first():
        assert_correct("svm_loss_vectorized", got, expected, W.shape)
    require_no_loops(session, "svm_loss_vectorized")


def check_speed(session: Session) -> None:
    """`check_vectorized_speed` of svm_loss_vectorized."""
    shape = SPEED_SIZES[1:]
    check_vectorized_speed(
        session,
        "svm_loss_vectorized",
        "loss_dW",
        LOOP_CALLS,
        lambda args, got, expected: assert_correct("svm_loss_vectorized", got, expected, shape),
    )


def assert_correct(function: str, got, expected: tuple[float, np.ndarray], shape: tuple[int, int]) -> None:
    """Validate a returned ``(loss, dW)`` and compare it with the reference's."""
    loss, dW = as_tuple(f"{function}(W, X, y, reg)", got, 2)
    assert_close(f"loss of {function}", as_scalar(f"loss of {function}", loss), expected[0])
    assert_close(f"dW of {function}", as_array(f"dW of {function}", dW, shape, kinds="f"), expected[1])


EXERCISE = Exercise(
    id="svm",
    title="Multiclass SVM loss and gradient",
    checks=(
        *(
            value_check(function, part, positive, VISIBLE)
            for function in FUNCTIONS
            for positive in (False, True)
            for part in ("loss", "dW")
        ),
        *(gradient_check(function) for function in FUNCTIONS),
        Check(
            "no loops in svm_loss_vectorized",
            1,
            check_no_loops,
            "compute all scores with X @ W, the margins with broadcasting, dW with one X.T @ ...",
            id="vectorized/no-loops",
            properties=frozenset({"no loops"}),
        ),
        Check(
            "svm_loss_vectorized at least 10x faster than the naive loops",
            1,
            check_speed,
            "no Python loop over examples or classes; build a (N, C) coefficient matrix instead",
            seconds=30.0,
            id="vectorized/speed",
            properties=frozenset({"speed"}),
        ),
        *(
            value_check(function, part, positive, HIDDEN)
            for function in FUNCTIONS
            for positive in (False, True)
            for part in ("loss", "dW")
        ),
    ),
)
