"""Exercise 3: softmax loss and gradient (``softmax.py``, CS231n signatures).

Two forms are graded: the linear classifier ``softmax_loss_naive`` /
``softmax_loss_vectorized(W, X, y, reg) -> (loss, dW)``, with the SVM
exercise's regularization convention (``reg * np.sum(W * W)``), and the layer
``softmax_loss(x, y) -> (loss, dx)`` on class scores. Loss and gradient are
separate checks, and so are ``reg = 0`` and ``reg > 0``. The gradient is
always with respect to the first argument (``W`` or ``x``), which lets one
set of helpers serve both forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, Exercise
from autograder.checks.compare import Suspect, as_array, as_scalar, as_tuple, assert_close
from autograder.checks.gradcheck import anchored, check_gradient, loss_at_points
from autograder.checks.linear import (
    VISIBLE_REG,
    check_vectorized_speed,
    linear_inputs,
    reg_label,
    regularization,
    regularization_bugs,
)
from autograder.checks.session import Session
from autograder.checks.speed import require_no_loops, values_first

FUNCTIONS = ("softmax_loss_naive", "softmax_loss_vectorized")
LAYER = "softmax_loss"

VISIBLE_SIZES = (9, 6, 4)
"""N, D, C of the visible checks: non-square, and small enough that the
numerical gradient (2 D C student calls) takes a fraction of a second."""

STABILITY_SHIFT = 1000.0
"""Centre of the scores of the stability checks: exp overflows above 709.8,
so without the max-subtraction the loss is inf or NaN."""

STABILITY_HALF_WIDTH = 2.0
"""Scores lie within this distance of the shift, in [998, 1002]: every score
is above 709.8, so every unshifted exp overflows (inf, then NaN), while a
moderate spread keeps every probability of the (4-class) rows above 1e-2, so
that a max-shifted softmax which adds or clips a small epsilon before np.log
(1e-15 to 1e-7, all common) passes. Measured over 50 draws: relative loss
error 8.6e-7 with epsilon 1e-7, 8.6e-8 with 1e-8, below RTOL = 1e-6; with
the former half width of 250 the probabilities went down to 1e-213 and every
epsilon failed (relative error 0.9)."""

SANITY_SIZES = (100, 50, 10)
"""N, D, C of the sanity check: CS231n's C = 10, loss about log(10) = 2.303."""

SANITY_SCALE = 1e-4
"""Scale of the sanity check's weights, as in the CS231n notebook: every
score is within 1e-2 of 0, so every probability is within 1% of 1 / C."""

SANITY_ATOL = 1e-2
"""Accepted distance of the sanity loss from log C: tiny weights give a loss
within 1e-5 of it; the usual slips (no division by N, wrong sign, -log p
summed over every class) miss it by more than 1."""

LOOP_CALLS = 3
"""NumPy calls per (example, class) of the speed check's loop baseline: the
naive loss costs about 4.5 such calls per pair (a multiply and an add for its
row of dW, the probability's arithmetic; 0.49 s against 0.11 s for one call
per pair, measured)."""


# -- inputs ---------------------------------------------------------------------------


def sizes(rng: np.random.Generator, visibility: str) -> tuple[int, int, int]:
    """N, D, C of a value check: the visible ones, or random for hidden checks."""
    if visibility == VISIBLE:
        return VISIBLE_SIZES
    num, dim, classes = (int(v) for v in rng.integers([2, 2, 2], [40, 30, 12]))
    return num, dim, classes


def layer_inputs(rng: np.random.Generator, num: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of the layer form.

    Returns
    -------
    x : ndarray of shape (N, C)
    y : ndarray of shape (N,)
    """
    return rng.normal(scale=2.0, size=(num, classes)), rng.integers(0, classes, size=num)


def function_inputs(
    rng: np.random.Generator, function: str, num: int, dim: int, classes: int, reg: float
) -> tuple:
    """The arguments of ``function``: ``(W, X, y, reg)`` or ``(x, y)``."""
    if function == LAYER:
        return layer_inputs(rng, num, classes)
    return (*linear_inputs(rng, num, dim, classes), reg)


def stable_inputs(rng: np.random.Generator, function: str) -> tuple:
    """Arguments whose scores all lie within ``STABILITY_HALF_WIDTH`` of ``STABILITY_SHIFT``.

    The linear form uses the bias trick: the last column of X is 1 and the
    last row of W is the shift; the other terms add at most the half width,
    since ``|X[:, :-1] @ W[:-1]| <= (D - 1) * max|X| * max|W|``.
    """
    num, dim, classes = VISIBLE_SIZES
    y = rng.integers(0, classes, size=num)
    if function == LAYER:
        return STABILITY_SHIFT + rng.uniform(-STABILITY_HALF_WIDTH, STABILITY_HALF_WIDTH, (num, classes)), y
    bound = STABILITY_HALF_WIDTH / (dim - 1)
    X = np.hstack([rng.uniform(-1.0, 1.0, (num, dim - 1)), np.ones((num, 1))])
    W = np.vstack([rng.uniform(-bound, bound, (dim - 1, classes)), np.full((1, classes), STABILITY_SHIFT)])
    return W, X, y, 0.0


# -- student and reference ---------------------------------------------------------------


def grad_name(function: str) -> str:
    """``"dx"`` for the layer, ``"dW"`` for the classifier."""
    return "dx" if function == LAYER else "dW"


def signature(function: str) -> str:
    """How the call is shown in messages."""
    return f"{function}(x, y)" if function == LAYER else f"{function}(W, X, y, reg)"


def student_loss(
    session: Session, function: str, args: tuple, finite: bool = True
) -> tuple[float, np.ndarray]:
    """Call the student's ``function`` on ``args`` and validate ``(loss, grad)``."""
    return validated(function, args, session.call(function, *args), finite)


def validated(function: str, args: tuple, got: Any, finite: bool = True) -> tuple[float, np.ndarray]:
    """Validate what ``function`` returned on ``args`` as ``(loss, grad)``.

    Parameters
    ----------
    finite : bool
        Whether NaN and infinity are refused as invalid output; the stability
        checks accept them here and fail them with a diagnosis instead.

    Returns
    -------
    loss : float
    grad : ndarray of the shape of ``args[0]``
    """
    got = as_tuple(signature(function), got, 2)
    loss = as_scalar(f"loss of {function}", got[0], finite=finite)
    grad = as_array(f"{grad_name(function)} of {function}", got[1], args[0].shape, kinds="f", finite=finite)
    return loss, grad


def expected_loss(
    session: Session, function: str, args: tuple, key: str = "loss_grad"
) -> tuple[float, np.ndarray]:
    """The reference's ``(loss, grad)`` on ``args``, through ``session.expected``."""
    return session.expected(key, lambda: getattr(session.reference, function)(*args))


# -- known bugs ----------------------------------------------------------------------------


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities of an ndarray of shape (N, C)."""
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def known_bugs(function: str, args: tuple) -> tuple[list[Suspect], list[Suspect]]:
    """What the usual bugs return on ``args``, as suspects for the loss and for the gradient."""
    linear = function != LAYER
    W, X, y, reg = args if linear else (None, None, args[1], 0.0)
    scores = X @ W if linear else args[0]
    num = len(y)
    rows = np.arange(num)
    log_probs = log_softmax(scores)
    probs = np.exp(log_probs)
    onehot = np.zeros_like(probs)
    onehot[rows, y] = 1.0
    data_loss = -np.sum(log_probs[rows, y]) / num
    penalty = reg * np.sum(W * W) if linear else 0.0
    reg_grad = 2 * reg * W if linear else 0.0

    def back(dscores: np.ndarray) -> np.ndarray:
        return X.T @ dscores if linear else dscores

    name = grad_name(function)
    loss_bugs: list[Suspect] = [
        ("the loss is not divided by N", lambda: data_loss * num + penalty),
        (
            "-log p is summed over every class, not only the correct one",
            lambda: -log_probs.sum() / num + penalty,
        ),
    ]
    grad_bugs: list[Suspect] = [
        (f"{name} is not divided by N", lambda: back(probs - onehot) + reg_grad),
        (
            "1 is not subtracted from the correct class's probability (dscores[range(N), y] -= 1 is missing)",
            lambda: back(probs / num) + reg_grad,
        ),
        (f"{name} has the wrong sign", lambda: -back((probs - onehot) / num) + reg_grad),
    ]
    reg_loss_bugs, reg_grad_bugs = regularization_bugs(reg, W, data_loss, back((probs - onehot) / num))
    return loss_bugs + reg_loss_bugs, grad_bugs + reg_grad_bugs


def compare(
    subject: str,
    function: str,
    args: tuple,
    got: tuple[float, np.ndarray],
    expected: tuple[float, np.ndarray],
    parts: tuple[str, ...] = ("loss", "grad"),
) -> None:
    """Compare the named parts of the student's ``(loss, grad)`` with the expected ones."""
    loss_bugs, grad_bugs = known_bugs(function, args)
    if "loss" in parts:
        assert_close(f"loss of {function} {subject}", got[0], expected[0], suspects=loss_bugs)
    if "grad" in parts:
        assert_close(
            f"{grad_name(function)} of {function} {subject}", got[1], expected[1], suspects=grad_bugs
        )


# -- checks --------------------------------------------------------------------------------

HINTS = {
    "loss": "average -log(softmax(scores)[y]) over the N examples, then add reg * np.sum(W * W)",
    "grad": "dscores = probabilities with 1 subtracted at the correct class, divided by N; "
    "dW = X.T @ dscores + 2 * reg * W (the layer's dx is dscores itself)",
}


def value_check(function: str, parts: tuple[str, ...], positive_reg: bool, visibility: str) -> Check:
    """Check the loss and/or the gradient of ``function`` against the reference."""

    def run(session: Session) -> None:
        num, dim, classes = sizes(session.rng, visibility)
        reg = regularization(session.rng, visibility, positive_reg)
        args = function_inputs(session.rng, function, num, dim, classes, reg)
        got = student_loss(session, function, args)
        subject = f"with reg={reg:g}" if function != LAYER else f"on scores of shape {args[0].shape}"
        compare(subject, function, args, got, expected_loss(session, function, args), parts)

    shown = " and ".join("loss" if part == "loss" else grad_name(function) for part in parts)
    if visibility == HIDDEN:
        label = ", random sizes" + ("" if function == LAYER else " and reg")
    else:
        label = "" if function == LAYER else f", {reg_label(positive_reg)}"
    reg = "" if function == LAYER else reg_label(positive_reg)
    return Check(
        name=f"{function}: {shown}{label}",
        points=1,
        run=run,
        visibility=visibility,
        hint="; ".join(HINTS[part] for part in parts),
        id=f"{function}/{'+'.join(parts)}/{reg.replace(' ', '') or 'scores'}/{visibility}",
        properties=frozenset({f"{function} {part}" for part in parts} | ({reg} if reg else set())),
    )


def gradient_check(function: str) -> Check:
    """Numerical gradient of the student's own loss against their gradient."""

    def run(session: Session) -> None:
        args = function_inputs(session.rng, function, *VISIBLE_SIZES, VISIBLE_REG)
        loss, grad = student_loss(session, function, args)
        expected = expected_loss(session, function, args)
        compare(
            "(the gradient is checked on a correct loss only)",
            function,
            args,
            (loss, grad),
            expected,
            ("loss",),
        )
        worst = check_gradient(
            f"{grad_name(function)} of {function}",
            grad,
            loss_at_points(session, function, args, lambda got: validated(function, args, got)[0]),
            args[0],
            session.rng,
            anchor=anchored(
                session, "first", lambda first: getattr(session.reference, function)(first, *args[1:])[0]
            ),
            at_x=loss,
        )
        session.record(max_relative_error=worst)

    name = grad_name(function)
    return Check(
        name=f"{function}: {name} matches the numerical gradient of your loss",
        points=1,
        run=run,
        hint=f"your {name} is not the derivative of your own loss: compare the two formulas term by term",
        id=f"{function}/numerical-gradient",
        properties=frozenset({f"{function} gradient consistent with its loss"}),
    )


def require_finite(subject: str, value: float | np.ndarray, expected: float | np.ndarray) -> None:
    """Fail (not as invalid output: here NaN and inf are the bug looked for) on a non-finite value."""
    bad = ~np.isfinite(np.asarray(value))
    if np.any(bad):
        shown = np.asarray(value)[bad].flat[0]
        worst = np.max(np.abs(expected))
        raise CheckFailed(
            subject,
            f"finite values (the reference's are at most {worst:.6g} in absolute value)",
            f"{shown} ({int(np.count_nonzero(bad))} non-finite)",
            hint="the maximum score of each row is not subtracted before np.exp: e^x overflows to inf "
            "above x = 709.8; subtracting the row maximum leaves the softmax unchanged",
        )


def stability_check(function: str) -> Check:
    """Scores near 1000 give a finite loss and gradient equal to the reference's."""

    def run(session: Session) -> None:
        args = stable_inputs(session.rng, function)
        loss, grad = student_loss(session, function, args, finite=False)
        expected = expected_loss(session, function, args)
        subject = f"for scores within {STABILITY_HALF_WIDTH:g} of {STABILITY_SHIFT:g}"
        require_finite(f"loss of {function} {subject}", loss, expected[0])
        require_finite(f"{grad_name(function)} of {function} {subject}", grad, expected[1])
        compare(subject, function, args, (loss, grad), expected)

    return Check(
        name=f"{function}: stable for scores near {STABILITY_SHIFT:g}",
        points=1,
        run=run,
        hint="subtract each row's maximum score before np.exp, and compute the loss from the shifted scores",
        id=f"{function}/stability",
        properties=frozenset({f"{function} large scores"}),
    )


def check_one_example(session: Session) -> None:
    """Every function handles N = 1 (shapes (1, D) and (1,), no squeezing)."""
    _, dim, classes = VISIBLE_SIZES
    for function in (*FUNCTIONS, LAYER):
        args = function_inputs(session.rng, function, 1, dim, classes, VISIBLE_REG)
        got = student_loss(session, function, args)
        compare("with N = 1", function, args, got, expected_loss(session, function, args, key=function))


def check_sanity(session: Session) -> None:
    """With tiny random weights the naive loss is close to log C."""
    num, dim, classes = SANITY_SIZES
    W = session.rng.normal(scale=SANITY_SCALE, size=(dim, classes))
    X = session.rng.normal(size=(num, dim))
    y = session.rng.integers(0, classes, size=num)
    loss, _ = student_loss(session, "softmax_loss_naive", (W, X, y, 0.0))
    expected = session.expected("log_C", lambda: float(np.log(classes)))
    subject = f"loss of softmax_loss_naive with weights of scale {SANITY_SCALE:g}, C = {classes}, reg = 0"
    assert_close(subject, loss, expected, rtol=0.0, atol=SANITY_ATOL)


def check_no_loops(session: Session) -> None:
    """softmax_loss_vectorized is correct and contains no loop nor comprehension."""
    args = function_inputs(session.rng, "softmax_loss_vectorized", *VISIBLE_SIZES, VISIBLE_REG)
    got = student_loss(session, "softmax_loss_vectorized", args)
    expected = session.expected("loss_grad", lambda: session.reference.softmax_loss_naive(*args))
    with values_first():
        compare(f"with reg={VISIBLE_REG:g}", "softmax_loss_vectorized", args, got, expected)
    require_no_loops(session, "softmax_loss_vectorized")


def check_speed(session: Session) -> None:
    """`check_vectorized_speed` of softmax_loss_vectorized."""
    function = "softmax_loss_vectorized"
    check_vectorized_speed(
        session,
        function,
        "loss_grad",
        LOOP_CALLS,
        lambda args, got, expected: compare(
            "on the timed input", function, args, validated(function, args, got), expected
        ),
    )


def visible_value_checks() -> tuple[Check, ...]:
    """Loss and gradient of every function, separately; reg = 0 and reg > 0 for the classifier."""
    return (
        *(
            value_check(function, (part,), positive, VISIBLE)
            for function in FUNCTIONS
            for positive in (False, True)
            for part in ("loss", "grad")
        ),
        *(value_check(LAYER, (part,), False, VISIBLE) for part in ("loss", "grad")),
    )


EXERCISE = Exercise(
    id="softmax",
    title="Softmax loss and gradient",
    checks=(
        Check(
            "softmax_loss_naive: loss close to log C for tiny random weights",
            1,
            check_sanity,
            "with tiny random weights every class has probability about 1/C, so the loss must be about "
            "-log(1/C) = log(10) = 2.303: average -log of the correct class's probability over the N "
            "examples (divide by N, mind the minus sign)",
            id="softmax_loss_naive/sanity",
            properties=frozenset({"loss near log C"}),
        ),
        *visible_value_checks(),
        *(gradient_check(function) for function in (*FUNCTIONS, LAYER)),
        *(stability_check(function) for function in (*FUNCTIONS, LAYER)),
        Check(
            "N = 1 in every function",
            1,
            check_one_example,
            "with one example X has shape (1, D) and y shape (1,): avoid np.squeeze and keep "
            "keepdims=True in the row-wise max and sum",
            id="one-example",
            properties=frozenset({"N = 1"}),
        ),
        Check(
            "no loops in softmax_loss_vectorized",
            1,
            check_no_loops,
            "compute all scores with X @ W, the probabilities with broadcasting, dW with one X.T @ ...",
            id="softmax_loss_vectorized/no-loops",
            properties=frozenset({"no loops"}),
        ),
        Check(
            "softmax_loss_vectorized at least 10x faster than the naive loops",
            1,
            check_speed,
            "no Python loop over examples or classes; index the correct classes with [np.arange(N), y]",
            seconds=30.0,
            id="softmax_loss_vectorized/speed",
            properties=frozenset({"speed"}),
        ),
        *(value_check(function, ("loss", "grad"), True, HIDDEN) for function in (*FUNCTIONS, LAYER)),
    ),
)
