"""Checks as data, and the session through which a check reaches student code.

An exercise module declares ``EXERCISE = Exercise(...)`` with a tuple of
``Check`` records (name, points, visibility, time limit, hint, and the
function that runs it). A check function receives a ``Session``: it draws
inputs from ``session.rng``, calls the student's code in the sandbox with
``session.call``, obtains expected values with ``session.expected`` and
raises ``CheckFailed`` (subject, expected, got) when the student is wrong.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.results import Status
from autograder.sandbox import Kept

if TYPE_CHECKING:
    from autograder.grading import ExerciseRun
    from autograder.submission.inspect import SourceReport

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
    """

    name: str
    points: float
    run: Callable[[Session], None]
    hint: str
    visibility: str = VISIBLE
    seconds: float = CHECK_SECONDS
    modes: tuple[str, ...] = ("dev", "test")


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


def check_seed(seed: int, exercise: str, check: str) -> np.random.Generator:
    """Generator of one check's inputs, stable when other checks change."""
    return np.random.default_rng([seed, zlib.crc32(f"{exercise}/{check}".encode())])


class Session:
    """What one check sees while it runs.

    Attributes
    ----------
    seed : int
        The dev seed for visible checks, the submission's for hidden ones.
    rng : numpy.random.Generator
        Source of the check's inputs, drawn from ``seed`` and the check's name.
    mode : str
        ``"dev"`` or ``"test"``.
    source : SourceReport
        Static facts about the student's module (for loop checks).
    details : dict
        Measurements the check records for reports and plots.
    """

    def __init__(self, run: ExerciseRun, check: Check, seed: int) -> None:
        self._run = run
        self._check = check
        self.seed = seed
        self.rng = check_seed(seed, run.exercise.id, check.name)
        self.mode = run.mode
        self.source: SourceReport = run.source
        self.details: dict[str, Any] = {}
        self._handles = 0

    @property
    def reference(self) -> ModuleType:
        """The reference solution module (trusted, in this process)."""
        return self._run.reference()

    def call(self, target: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function ``target`` (or ``"$h1.method"``)."""
        return self._run.child().call(target, *args, seconds=self._check.seconds, **kwargs)

    def call_keeping(self, index: int, target: str, *args: Any, **kwargs: Any) -> tuple[Any, Kept]:
        """Call ``target`` and keep element ``index`` of its tuple in the child.

        For layers: ``(out, _), cache = session.call_keeping(1, "conv_forward_naive", ...)``
        keeps the student's cache inside the sandbox; pass ``cache`` to the
        backward call. The returned tuple has ``None`` in its place.
        """
        self._handles += 1
        kept = Kept(f"kept#{self._handles}")
        request = {"op": "call", "target": target, "args": args, "kwargs": kwargs, "keep": [index, str(kept)]}
        return self._run.child().request(request, self._check.seconds), kept

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> str:
        """Construct the student's ``class_name``; return its handle."""
        self._handles += 1
        handle = f"{class_name}#{self._handles}"
        request = {"op": "new", "target": class_name, "args": args, "kwargs": kwargs, "handle": handle}
        self._run.child().request(request, self._check.seconds)
        return f"${handle}"

    def get(self, handle: str, attribute: str) -> Any:
        """Read ``attribute`` of the student's object ``handle``."""
        return self._run.child().request(
            {"op": "get", "target": f"{handle}.{attribute}"}, self._check.seconds
        )

    def set(self, handle: str, attribute: str, value: Any) -> None:
        """Set ``attribute`` of the student's object ``handle`` to ``value``."""
        request = {"op": "set", "target": f"{handle}.{attribute}", "args": [value]}
        self._run.child().request(request, self._check.seconds)

    def loop(self, method: str, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int) -> Any:
        """Call ``method(x[batch], y[batch])`` for consecutive batches of each row
        of ``order`` (an ndarray of shape (epochs, N)); return the losses."""
        request = {"op": "loop", "target": method, "args": [x, y, order, batch_size]}
        return self._run.child().request(request, self._check.seconds)

    def expected(self, key: str, compute: Callable[[], Any]) -> Any:
        """The expected value ``key`` of this check, from the store or ``compute()``."""
        return self._run.expectations.get(f"{self._check.name}/{key}", compute)

    def seed_global_rng(self, seed: int) -> None:
        """Seed NumPy's global generator in the child (``np.random.seed``)."""
        self._run.child().request(
            {"op": "seed", "target": "numpy.random", "args": [seed]}, self._check.seconds
        )

    def once(self, key: str, compute: Callable[[Session], Any]) -> Any:
        """``compute(session)`` run once per exercise run and shared by the checks
        that ask for ``key`` (the MLP's training run); a failure is shared too."""
        return self._run.once(key, lambda: compute(self))

    def dataset(self, name: str) -> Any:
        """The dataset ``name`` (``"mnist"``), or ``DataUnavailable``."""
        return self._run.dataset(name)

    def record(self, **details: Any) -> None:
        """Attach measurements to this check's result."""
        self.details.update(details)
