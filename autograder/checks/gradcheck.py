"""Numerical gradient checks: float64 centred differences, named worst element.

One helper serves every exercise: pass the analytic gradient, a function that
evaluates the loss at a perturbed copy of the input (or, ``Batched``, at all
the perturbed copies in one sandbox call), and the point; full for small
inputs, sampled coordinates for large ones, plus a few random directions.

When the loss is the student's own function, its numerical gradient proves
nothing by itself: a loss that recognizes a nudged copy of an input it has
seen can answer with a cached value and make every numerical gradient equal
to whatever gradient it returned. So the check is anchored: the points are
unpredictable (random directions, evaluated in random order, none repeated),
the student's values at every random direction and at a sample of the
coordinates are compared with the reference's at the same points, and the
loss must answer the same at the same input across calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.checks.base import CheckFailed
from autograder.checks.compare import assert_close
from autograder.checks.session import Session
from autograder.results import Status

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

DIRECTIONS = 3
"""Random unit directions checked besides the coordinates. Each is anchored
to the reference, so a gradient wrong anywhere fails (its error would have to
be orthogonal to every direction, which has probability zero)."""

ANCHORED_COORDINATES = 4
"""Coordinates, drawn after evaluation, whose values are also compared with
the reference's: caching at a fraction f of the points escapes with
probability (1 - f)^4, and the directions catch the gradient it hides."""

REPEAT_RTOL = 1e-12
"""Largest relative difference between two answers of the student's function
at the same input; the same float64 code on the same input gives the same bits."""

ANCHOR_HINT = (
    "your function does not compute its answer from its input at points close to one it has seen "
    "(the reference's answer there differs): a gradient check measures nothing then; compute every "
    "call from its arguments"
)

Loss = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Batched:
    """A loss evaluated at every point of a check in one go: ``losses(points) ->
    values``, ndarray of shape (len(points),), the points evaluated in the order
    given (the student's code, in one sandbox request: ``Session.each``)."""

    losses: Callable[[list[np.ndarray]], np.ndarray]


Anchor = Callable[[list[np.ndarray]], np.ndarray]
"""``anchor(points) -> values``: the reference's loss at each point."""


def coordinates(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every coordinate of a small array, a sample of a large one."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= FULL_SIZE else rng.choice(size, SAMPLES, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def directions(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[list[np.ndarray], list[str]]:
    """Unit vectors along the checked coordinates, then ``DIRECTIONS`` random
    unit vectors; with a label for messages."""
    units, labels = [], []
    for index in coordinates(shape, rng):
        unit = np.zeros(shape)
        unit[index] = 1.0
        units.append(unit)
        labels.append("at [" + ", ".join(str(i) for i in index) + "]")
    for k in range(DIRECTIONS):
        direction = rng.normal(size=shape)
        units.append(direction / np.linalg.norm(direction))
        labels.append(f"along random direction {k + 1}")
    return units, labels


def numerical_gradient(
    loss: Loss | Batched,
    x: np.ndarray,
    units: list[np.ndarray],
    order: np.ndarray,
    again: bool = False,
    step: float = STEP,
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Centred differences of ``loss`` at ``x`` along ``units``.

    Parameters
    ----------
    loss : callable or Batched
        ``loss(x_perturbed) -> float``, which must not keep a reference to its
        input, or the same at all the points in one go.
    x : ndarray of shape S
        The point, float64.
    units : list of ndarray of shape S
        Directions.
    order : ndarray of shape (2 * len(units),)
        The order in which the points ``x + step * u`` (even entries) and
        ``x - step * u`` (odd entries) are evaluated.
    again : bool
        Whether ``loss`` is evaluated at a copy of ``x`` too, after the others.

    Returns
    -------
    slopes : ndarray of shape (len(units),)
    values : ndarray of shape (len(units), 2)
        The loss at ``x + step * u`` and ``x - step * u``.
    at_x : float or None
        The loss at the copy of ``x`` (None unless ``again``).
    """
    wanted = [int(k) for k in order] + ([-1] if again else [])

    def at(k: int) -> np.ndarray:
        return x.copy() if k < 0 else point(x, units, k, step)

    if isinstance(loss, Batched):
        answers = np.asarray(loss.losses([at(k) for k in wanted]), dtype=np.float64)
    else:  # one point at a time: a large input's copies are never all held at once
        answers = np.array([loss(at(k)) for k in wanted], dtype=np.float64)
    values = np.empty(2 * len(units))
    values[order] = answers[: len(order)]
    values = values.reshape(-1, 2)
    return (values[:, 0] - values[:, 1]) / (2 * step), values, float(answers[-1]) if again else None


def point(x: np.ndarray, units: list[np.ndarray], k: int, step: float = STEP) -> np.ndarray:
    """Evaluation point ``k``: ``x + step * units[k // 2]``, minus for odd ``k``."""
    return x + (step if k % 2 == 0 else -step) * units[k // 2]


def relative_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise relative error, floored for zero gradients."""
    return np.abs(a - b) / np.maximum(FLOOR, np.abs(a) + np.abs(b))


def check_gradient(
    subject: str,
    analytic: np.ndarray,
    loss: Loss | Batched,
    x: np.ndarray,
    rng: np.random.Generator,
    rtol: float = RTOL,
    anchor: Anchor | None = None,
    at_x: float | None = None,
) -> float:
    """Compare an analytic gradient with centred differences of ``loss``.

    Parameters
    ----------
    anchor : callable, optional
        For a loss the student controls: the reference's values at a list of
        points. The student's values at every random direction and at
        ``ANCHORED_COORDINATES`` coordinates must agree with it.
    at_x : float, optional
        What the student's loss returned at ``x`` before; it is evaluated
        there again, and a different answer is invalid output.

    Returns
    -------
    float
        The largest relative error found (for the report).

    Raises
    ------
    CheckFailed
        Naming the worst coordinate or direction, its analytic and numerical values.
    """
    x = np.asarray(x, dtype=np.float64)
    units, labels = directions(x.shape, rng)
    order = rng.permutation(2 * len(units))
    numeric, values, again = numerical_gradient(loss, x, units, order, again=at_x is not None)
    if at_x is not None:
        require_repeatable(subject, at_x, again)
    if anchor is not None:
        require_anchored(subject, values, numeric, units, labels, x, anchor, rng, rtol)
    picked = np.array([float(np.sum(analytic * unit)) for unit in units])
    errors = relative_errors(picked, numeric)
    ranked = np.nan_to_num(errors, nan=np.inf)
    coordinate = int(np.argmax(ranked[:-DIRECTIONS]))
    # a wrong coordinate is named first: it says where the bug is
    worst = coordinate if not errors[coordinate] <= rtol else int(np.argmax(ranked))
    if not errors[worst] <= rtol:  # written so that a NaN error fails too
        raise CheckFailed(
            f"{subject} {labels[worst]} (worst of {len(units)} checked)",
            f"the numerical gradient {numeric[worst]:.8g}",
            f"{picked[worst]:.8g} (relative error {errors[worst]:.2e})",
        )
    return float(errors[worst])


def require_repeatable(subject: str, first: float, again: float) -> None:
    """The student's function gave ``first`` and then ``again`` at the same input."""
    if not abs(first - again) <= REPEAT_RTOL * max(abs(first), abs(again), FLOOR):
        raise CheckFailed(
            f"{subject}: your function called twice on the same input",
            f"the same answer twice ({first:.17g})",
            f"{again:.17g} the second time",
            hint="compute the result from the arguments only: no state kept between calls",
            status=Status.INVALID_OUTPUT,
        )


def require_anchored(
    subject: str,
    values: np.ndarray,
    numeric: np.ndarray,
    units: list[np.ndarray],
    labels: list[str],
    x: np.ndarray,
    anchor: Anchor,
    rng: np.random.Generator,
    rtol: float,
) -> None:
    """The student's values and slopes at the anchored points are the reference's."""
    count = len(units) - DIRECTIONS
    sample = rng.choice(count, min(ANCHORED_COORDINATES, count), replace=False)
    chosen = [int(k) for k in sample] + list(range(count, len(units)))
    expected = np.asarray(anchor([point(x, units, 2 * k + side) for k in chosen for side in (0, 1)]))
    expected = expected.reshape(-1, 2)
    where = f"your function near the point where {subject} is checked"
    try:
        assert_close(f"value of {where}", values[chosen], expected)
    except CheckFailed as failure:
        failure.hint = ANCHOR_HINT
        raise
    slopes = (expected[:, 0] - expected[:, 1]) / (2 * STEP)
    errors = relative_errors(numeric[chosen], slopes)
    worst = int(np.argmax(np.nan_to_num(errors, nan=np.inf)))
    if not errors[worst] <= rtol:
        raise CheckFailed(
            f"slope of {where}, {labels[chosen[worst]]}",
            f"the reference's {slopes[worst]:.8g}",
            f"{numeric[chosen[worst]]:.8g} (relative error {errors[worst]:.2e})",
            hint=ANCHOR_HINT,
        )


def loss_at_points(
    session: Session,
    function: str,
    args: tuple,
    validate: Callable[[Any], float],
    vary: int = 0,
    pick: int | None = None,
) -> Batched:
    """The loss of the student's ``function(*args)`` at many values of ``args[vary]``,
    in one sandbox request (``Session.each``). Each point's answer (its element
    ``pick`` when given) goes through ``validate``, the check's own validation of
    a single call's answer, which returns the loss: a batched answer is refused
    exactly where a call's would be."""

    def losses(points: list[np.ndarray]) -> np.ndarray:
        values = (*args[:vary], np.stack(points), *args[vary + 1 :])
        stacked = session.each(function, values, vary, pick)
        return np.array([validate(answer) for answer in per_call(function, stacked, len(points))])

    return Batched(losses)


def per_call(subject: str, stacked: Any, count: int) -> list[Any]:
    """Split what ``Session.each`` stacked into the ``count`` answers of single calls:
    the rows of an array, or tuples of the rows of each element (each row an
    ndarray, 0-d for a scalar). A reply of any other layout is invalid output."""
    parts = stacked if isinstance(stacked, tuple) else (stacked,)
    if not all(isinstance(part, np.ndarray) and part.ndim >= 1 and len(part) == count for part in parts):
        raise CheckFailed(
            subject,
            f"{count} answers, one per point",
            "a reply of another layout",
            status=Status.INVALID_OUTPUT,
        )
    rows = [tuple(part[i, ...] for part in parts) for i in range(count)]
    return rows if isinstance(stacked, tuple) else [row[0] for row in rows]


def anchored(session: Session, key: str, reference: Loss) -> Anchor:
    """An ``anchor`` computing ``reference`` at the points through ``session.expected``
    (recorded in a release's store like every expected value)."""
    return lambda points: session.expected(
        f"anchor {key}", lambda: np.array([float(reference(p)) for p in points])
    )
