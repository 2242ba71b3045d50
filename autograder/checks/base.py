"""Checks as data: the records an exercise module declares.

An exercise module declares ``EXERCISE = Exercise(...)`` with a tuple of
``Check`` records (name, points, visibility, time limit, hint, the function
that runs it, a stable id and the properties it tests). A check function
receives a ``Session`` (``autograder.checks.session``): it draws inputs from
``session.rng`` (keyed by the check's id, never by its display name), calls
the student's code in the sandbox with ``session.call``, obtains expected
values with ``session.expected`` and raises ``CheckFailed`` (subject,
expected, got) when the student is wrong.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from autograder.results import Status

if TYPE_CHECKING:
    from autograder.checks.session import Session

VISIBLE = "visible"
HIDDEN = "hidden"

CHECK_SECONDS = 20.0
"""Default limit of one check's student calls: the naive loops of every
exercise finish in under 2 s on the visible inputs; 10x covers slow laptops."""

NUMPY_ONLY = frozenset({"torch", "tensorflow", "jax", "jaxlib", "scipy", "sklearn", "keras", "cupy"})
"""Packages a submission may not import: the exercises are about writing
what these libraries provide."""


@dataclass(frozen=True)
class Check:
    """One graded check.

    Attributes
    ----------
    name : str
        Unique within the exercise; shown to students.
    points : float
        Points earned when the check passes.
    run : callable
        ``run(session)``; returns normally when the student passes and
        raises ``CheckFailed`` otherwise.
    hint : str
        Where to look when it fails; shown even for hidden checks.
    visibility : str
        ``VISIBLE`` (dev and test mode, fixed inputs) or ``HIDDEN``
        (test mode only, inputs drawn from the submission's seed).
    seconds : float
        Wall-clock limit of the check's calls into student code.
    modes : tuple of str
        Modes the check runs in; a check that only makes sense in one mode
        (the MLP's validation accuracy in dev) names it.
    id : str
        Stable id within the exercise (``"vectorized/dW/reg>0/hidden"``);
        ``Exercise.check_id`` prefixes the exercise. It keys the check's
        inputs, its expected values in a release's store and its identity
        in reports, so the display ``name`` can change freely.
    properties : frozenset of str
        What the check tests (``"duplicate points"``, ``"reg > 0"``...).
        Fairness rule: every property of a hidden check is also a property
        of a visible check of the exercise (``tests/gaming/test_fairness.py``).
    """

    name: str
    points: float
    run: Callable[[Session], None]
    hint: str
    visibility: str = VISIBLE
    seconds: float = CHECK_SECONDS
    modes: tuple[str, ...] = ("dev", "test")
    id: str = field(default="", kw_only=True)
    properties: frozenset[str] = field(default=frozenset(), kw_only=True)


@dataclass(frozen=True)
class Exercise:
    """An exercise: the student module it grades and its checks.

    Attributes
    ----------
    id : str
        Exercise id, also the module name (``"svm"`` grades ``svm.py``).
    title : str
        Human title.
    checks : tuple of Check
        In the order they run and are reported.
    banned : frozenset of str
        Packages the module may not import.
    datasets : tuple of str
        Datasets its checks load (``"mnist"``): a Gradescope bundle of the
        exercise must carry them.
    """

    id: str
    title: str
    checks: tuple[Check, ...]
    banned: frozenset[str] = NUMPY_ONLY
    datasets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        ids = [check.id for check in self.checks]
        missing = [check.name for check in self.checks if not check.id]
        if missing or len(set(ids)) != len(ids):
            raise ValueError(f"{self.id}: every check needs a unique id (missing: {missing}, ids: {ids})")

    def check_id(self, check: Check) -> str:
        """The id of ``check`` across exercises: ``"svm/vectorized/dW/reg>0/hidden"``."""
        return f"{self.id}/{check.id}"

    @property
    def module(self) -> str:
        """File name of the student module."""
        return f"{self.id}.py"

    def checks_for(self, mode: str) -> tuple[Check, ...]:
        """The checks run in ``mode``: visible ones in dev, all in test."""
        return tuple(
            c for c in self.checks if mode in c.modes and (mode == "test" or c.visibility == VISIBLE)
        )


class CheckFailed(Exception):
    """The student's answer is wrong: says subject, expected, got, and a hint.

    Parameters
    ----------
    subject : str
        What was examined (``"dW of svm_loss_naive(reg=0)"``).
    expected, got : str
        What the reference says and what the student returned.
    hint : str, optional
        A hint specific to this failure; the check's own hint otherwise.
    status : Status, optional
        ``FAILED``, or ``INVALID_OUTPUT`` for a malformed answer.
    """

    def __init__(
        self, subject: str, expected: str, got: str, hint: str = "", status: Status = Status.FAILED
    ) -> None:
        self.message = f"{subject}: expected {expected}, got {got}"
        super().__init__(self.message)
        self.hint = hint
        self.status = status


class DataUnavailable(Exception):
    """A dataset the check needs is not on this machine."""


def public_generator(seed: int, stream: str) -> np.random.Generator:
    """Generator of a visible stream (a check id): fixed and public, stable
    when other checks change."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def derangement(rng: np.random.Generator, classes: int) -> np.ndarray:
    """A random permutation of ``range(classes)`` that moves every class.

    The secret relabelling of the accuracy checks: training labels ``y``
    become ``relabel[y]``, and so do the labels predictions are scored
    against. A network that learns from the data it is given is unaffected;
    one that already knows the public labels is always wrong (with a fixed
    point it would keep that class's tenth of the accuracy).

    Returns
    -------
    ndarray of shape (classes,)
    """
    while True:
        relabel = rng.permutation(classes)
        if np.all(relabel != np.arange(classes)):
            return relabel
