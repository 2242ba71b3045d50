"""Numerical gradient checks: float64 centred differences, named worst element.

One helper serves every exercise: pass the analytic gradient, a function that
evaluates the loss at a perturbed copy of the input (it may call the student's
code in the sandbox), and the point; full for small inputs, sampled
coordinates for large ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.checks.base import CheckFailed

STEP = 1e-5
"""Centred-difference step in float64: truncation error O(h^2) ~ 1e-10 and
rounding error ~ eps / h ~ 1e-11, both far below the tolerance."""

RTOL = 1e-5
"""Largest relative error accepted between analytic and numerical gradient;
correct code measures 1e-8 to 1e-10 here, a real bug 1e-2 or more."""

FLOOR = 1e-6
"""Denominator floor of the relative error, for gradients that are zero."""

FULL_SIZE = 300
"""Inputs of at most this many elements are checked at every coordinate."""

SAMPLES = 40
"""Coordinates sampled from larger inputs."""


def coordinates(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every coordinate of a small array, a sample of a large one."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= FULL_SIZE else rng.choice(size, SAMPLES, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def numerical_gradient(
    loss: Callable[[np.ndarray], float],
    x: np.ndarray,
    coords: list[tuple[int, ...]],
    step: float = STEP,
) -> np.ndarray:
    """Centred differences of ``loss`` at ``x`` along ``coords``.

    Parameters
    ----------
    loss : callable
        ``loss(x_perturbed) -> float``; must not keep a reference to its input.
    x : ndarray of shape S
        The point, float64.
    coords : list of tuple
        Indices into ``x``.

    Returns
    -------
    ndarray of shape (len(coords),)
    """
    grads = np.empty(len(coords))
    for k, index in enumerate(coords):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        grads[k] = (loss(plus) - loss(minus)) / (2 * step)
    return grads


def check_gradient(
    subject: str,
    analytic: np.ndarray,
    loss: Callable[[np.ndarray], float],
    x: np.ndarray,
    rng: np.random.Generator,
    rtol: float = RTOL,
) -> float:
    """Compare an analytic gradient with centred differences of ``loss``.

    Returns
    -------
    float
        The largest relative error found (for the report).

    Raises
    ------
    CheckFailed
        Naming the worst coordinate, its analytic and numerical values.
    """
    x = np.asarray(x, dtype=np.float64)
    coords = coordinates(x.shape, rng)
    numeric = numerical_gradient(loss, x, coords)
    picked = np.array([analytic[index] for index in coords])
    errors = np.abs(picked - numeric) / np.maximum(FLOOR, np.abs(picked) + np.abs(numeric))
    worst = int(np.argmax(np.nan_to_num(errors, nan=np.inf)))
    if not errors[worst] <= rtol:  # written so that a NaN error fails too
        index = ", ".join(str(i) for i in coords[worst])
        raise CheckFailed(
            f"{subject} at [{index}] (worst of {len(coords)} coordinates checked)",
            f"the numerical gradient {numeric[worst]:.8g}",
            f"{picked[worst]:.8g} (relative error {errors[worst]:.2e})",
        )
    return float(errors[worst])
