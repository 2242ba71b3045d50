"""Pieces shared by the linear classifiers' checks (``svm`` and ``softmax``).

Both exercises grade ``loss(W, X, y, reg) -> (loss, dW)`` with the same
regularization convention (``reg * np.sum(W * W)``, gradient ``2 * reg * W``):
the same regularization strengths, input draws, regularization slips, no-loop
rule and speed check serve both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.checks.base import VISIBLE
from autograder.checks.compare import Suspect
from autograder.checks.session import Session
from autograder.checks.speed import check_speedup, loop_baseline

VISIBLE_REG = 0.37
"""Regularization strength of the visible reg > 0 checks (any value not 0,
0.5 or 1 tells the conventions apart)."""

SPEED_REG = 0.1
"""Regularization strength of the speed checks' inputs (any value: only time
and correctness are judged there)."""

SPEED_SIZES = (5000, 10, 20)
"""N, D, C of the speed checks. The loop baseline grows with N * C; the
student's timed call costs its work plus about 2.8 ms of sandbox transfer.
Measured in dev gradings: the vectorized references 26-57x the baseline
(15-28x at (5000, 20, 10), close enough to 10x for a busy machine to fail
correct code), a loop over the examples vectorized over the classes 3.3x
(6.2x at (5000, 10, 40)). Margins taken element by element in Python
(``np.vectorize``, ``map``, a comprehension) cost about a tenth of the
baseline's three NumPy calls per pair, so they read 3-11x at either size:
the speed check cannot tell them from vectorized code reliably, and the
no-loops check, which reads the code, is what fails them."""


def regularization(rng: np.random.Generator, visibility: str, positive: bool) -> float:
    """The reg of a check: 0, the visible value, or a random one."""
    if not positive:
        return 0.0
    return VISIBLE_REG if visibility == VISIBLE else float(rng.uniform(0.05, 2.0))


def reg_label(positive: bool) -> str:
    """``"reg > 0"`` or ``"reg = 0"``: how check names and properties say which."""
    return "reg > 0" if positive else "reg = 0"


def linear_inputs(
    rng: np.random.Generator, num: int, dim: int, classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, data and labels of the linear classifier.

    Returns
    -------
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
    """
    W = rng.normal(scale=0.5, size=(dim, classes))
    X = rng.normal(size=(num, dim))
    return W, X, rng.integers(0, classes, size=num)


def regularization_bugs(
    reg: float, W: np.ndarray | None, data_loss: float, data_grad: np.ndarray
) -> tuple[list[Suspect], list[Suspect]]:
    """The usual regularization slips, as suspects for the loss and for dW.

    Parameters
    ----------
    reg : float
        Regularization strength; no suspects when it is 0.
    W : ndarray of shape (D, C), or None when ``reg`` is 0
        The weights.
    data_loss : float
        The correct loss without its penalty.
    data_grad : ndarray of shape (D, C)
        The correct dW without its penalty's gradient.

    Returns
    -------
    loss_bugs, grad_bugs : list of Suspect
    """
    if not reg:
        return [], []
    penalty = reg * np.sum(W * W)
    loss_bugs: list[Suspect] = [
        ("reg is in the gradient but not in the loss", lambda: data_loss),
        (
            "the loss uses 0.5 * reg * sum(W * W) instead of reg * sum(W * W)",
            lambda: data_loss + penalty / 2,
        ),
    ]
    grad_bugs: list[Suspect] = [
        ("the regularization gradient 2 * reg * W is missing", lambda: data_grad),
        ("the regularization gradient is reg * W instead of 2 * reg * W", lambda: data_grad + reg * W),
    ]
    return loss_bugs, grad_bugs


def check_vectorized_speed(
    session: Session,
    function: str,
    key: str,
    loop_calls: int,
    verify: Callable[[tuple, Any, Any], None],
) -> None:
    """The vectorized loss is correct and beats a loop of N * C NumPy calls by
    SPEEDUP_MIN, each repetition on a fresh input.

    Parameters
    ----------
    session : Session
        The check's session.
    function : str
        The vectorized loss: the student's is timed, the reference's gives the
        expected values (it equals the naive reference, both checked against
        torch, and costs no loop: 0.37 s less per repetition).
    key : str
        Expected-value key; repetition ``r`` is stored under ``f"{key}/{r}"``.
    loop_calls : int
        NumPy calls per (example, class) of the loop baseline.
    verify : callable
        ``verify(args, got, expected)`` raises ``CheckFailed`` on a wrong answer.
    """
    num, dim, classes = SPEED_SIZES

    def draw(repetition: int) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, float], Any]:
        W = session.rng.normal(scale=0.01, size=(dim, classes))
        args = (W, session.rng.normal(size=(num, dim)), session.rng.integers(0, classes, size=num), SPEED_REG)
        return args, session.expected(
            f"{key}/{repetition}", lambda: getattr(session.reference, function)(*args)
        )

    session.record(
        **check_speedup(
            f"{function} speed",
            draw,
            lambda args, sample: loop_baseline(num * classes, loop_calls, args[1][0], sample),
            lambda args: session.call(function, *args),
            verify,
            session.paused,
        )
    )
