"""Validate what the student returned, then compare it with the reference.

Validation comes first (type, shape, dtype kind, finiteness), so that a
comparison only ever sees a plain finite array of the right shape. Every
failure names the worst element with both values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.checks.base import CheckFailed
from autograder.results import Status

RTOL = 1e-6
"""Relative tolerance of value comparisons. Correct float64 code differs from
the reference by about 1e-12 (summation order); float32 intermediates give
about 1e-7; any formula slip on these inputs is above 1e-3."""

ATOL = 1e-9
"""Absolute tolerance, for values that are zero in the reference."""

Suspect = tuple[str, Callable[[], Any]]
"""A known bug: its description, and a function computing what it returns."""


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def _invalid(subject: str, expected: str, got: str) -> CheckFailed:
    return CheckFailed(subject, expected, got, status=Status.INVALID_OUTPUT)


def as_array(
    subject: str, value: Any, shape: tuple[int, ...], kinds: str = "fiub", finite: bool = True
) -> np.ndarray:
    """Validate a returned array before any comparison.

    Parameters
    ----------
    subject : str
        What the value is, for messages.
    value : Any
        What came back from the sandbox (ndarray, tuple, dict or None).
    shape : tuple of int
        Required shape.
    kinds : str
        Accepted dtype kinds (``"f"`` float, ``"i"``/``"u"`` integer, ``"b"`` bool).
    finite : bool
        Whether NaN and infinity are refused.

    Returns
    -------
    ndarray
        The value as float64 when ``kinds`` is numeric, unchanged otherwise.
    """
    if not isinstance(value, np.ndarray):
        got = "None" if value is None else f"a {type(value).__name__}"
        raise _invalid(subject, f"an array of shape {shape}", got)
    if value.dtype.kind not in kinds:
        raise _invalid(subject, f"an array of dtype kind {kinds!r}", f"dtype {value.dtype}")
    if value.shape != tuple(shape):
        raise _invalid(subject, f"shape {tuple(shape)}", f"shape {value.shape}")
    if finite and value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        bad = np.argwhere(~np.isfinite(value))
        where = _index(tuple(bad[0])) if bad.size else ""
        raise _invalid(
            subject, "finite numbers", f"{value[tuple(bad[0])]} at {where} ({len(bad)} non-finite)"
        )
    return value


def as_scalar(subject: str, value: Any, finite: bool = True) -> float:
    """Validate a returned scalar (a 0-d or one-element array) as a float;
    ``finite`` as for ``as_array``."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())
    return float(as_array(subject, value, (), finite=finite))


def as_tuple(subject: str, value: Any, length: int) -> tuple[Any, ...]:
    """Validate that a call returned a tuple of ``length`` items."""
    if not isinstance(value, tuple) or len(value) != length:
        got = f"{len(value)} values" if isinstance(value, tuple) else "a single value"
        raise _invalid(subject, f"a tuple of {length} values", got)
    return value


def _index(index: tuple[int, ...]) -> str:
    """``[i, j, ...]`` of an element (callers say nothing for a 0-d array's)."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def assert_close(
    subject: str,
    got: np.ndarray | float,
    expected: np.ndarray | float,
    rtol: float = RTOL,
    atol: float = ATOL,
    suspects: Sequence[Suspect] = (),
) -> None:
    """Compare a validated value with the expected one, naming the worst element.

    Raises
    ------
    CheckFailed
        Subject, expected value of the worst element, the student's value, its
        relative error and how many elements differ; when the student's value
        equals what a known bug returns, the hint names that bug.
    """
    got_a = np.asarray(got, dtype=np.float64)
    exp_a = np.asarray(expected, dtype=np.float64)
    excess = np.nan_to_num(np.abs(got_a - exp_a) - (atol + rtol * np.abs(exp_a)), nan=np.inf)
    if np.all(excess <= 0):
        return
    worst = np.unravel_index(int(np.argmax(excess)), exp_a.shape)
    wrong = int(np.count_nonzero(excess > 0))
    relative = rel_error(got_a[worst], exp_a[worst])
    where = f"{_index(worst)} " if exp_a.ndim else ""
    count = f", {wrong} of {exp_a.size} elements wrong" if exp_a.ndim else ""
    raise CheckFailed(
        subject,
        f"{where}= {exp_a[worst]:.8g}",
        f"{got_a[worst]:.8g} (relative error {relative:.2e}{count})",
        hint=_diagnose(got_a, suspects, rtol, atol),
    )


def _diagnose(got: np.ndarray, suspects: Sequence[Suspect], rtol: float, atol: float) -> str:
    for description, compute in suspects:
        value = np.asarray(compute(), dtype=np.float64)
        if value.shape == got.shape and np.allclose(got, value, rtol=rtol * 10, atol=atol * 10):
            return f"Your result is exactly what this bug gives: {description}."
    return ""
