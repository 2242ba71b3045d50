"""The runtime of one exercise's checks: ``ExerciseRun`` and ``Session``.

``ExerciseRun`` holds what one exercise's grading needs (its sandboxed
children, the reference, the expected values, the datasets); a check sees it
only through the ``Session`` it is given, which is the checks' one way to
student code (``call``, ``new``...), references (``reference``,
``expected``) and data (``dataset``). ``autograder.grading`` makes one
``ExerciseRun`` per exercise and one ``Session`` per check.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder import datasets
from autograder.checks.base import CHECK_SECONDS, VISIBLE, Check, DataUnavailable, Exercise, public_generator
from autograder.phases import PhaseClock
from autograder.references import StudentStandIn, load_reference, solutions_dir
from autograder.results import Status
from autograder.sandbox import Child, ChildDied, Kept, Limits
from autograder.sandbox.limits import START_SECONDS
from autograder.secret import keyed_generator
from autograder.store import Expectations
from autograder.submission.inspect import SourceReport

DEV_SEED = 231
"""Seed of the visible checks' inputs, in both modes: a student's self-check
sees exactly the inputs the visible checks use when the course grades."""


def _import_verdict(failure: ChildDied, module: str, deadline: float) -> ChildDied:
    """A start that timed out, stated as what happened: the module's import did
    not finish within the limit that ran out (the import limit, or what was left
    of the exercise's budget). Every later check of the exercise reuses it."""
    if failure.status is not Status.TIMEOUT:
        return failure
    limit = START_SECONDS if time.monotonic() < deadline else None
    within = f"within {limit:g} s" if limit else "before the exercise's time budget ran out"
    return ChildDied(
        Status.TIMEOUT,
        f"{module} did not finish importing {within}: code at the top level of the module runs at "
        "import (move experiments under if __name__ == '__main__':)",
    )


class ExerciseRun:
    """One exercise being graded: its children, reference and expected values.

    A child is started when a check first needs one, and started anew after
    a child dies (timeout, crash), so one runaway check does not cost the
    others their points. A failed import is final for the exercise. Child
    starts and stops, the student's replies and dataset loads are timed on
    ``clock`` (``autograder.phases``).
    """

    def __init__(
        self,
        exercise: Exercise,
        path: Path,
        source: SourceReport,
        *,
        mode: str,
        seed: int,
        secret: bytes,
        data_dir: Path | None,
        expectations: Expectations,
        clock: PhaseClock | None = None,
    ):
        self.exercise = exercise
        self.path = path
        self.source = source
        self.mode = mode
        self.seed = seed
        self.secret = secret
        self.data_dir = data_dir
        self.limits = Limits.for_mode(mode)
        self.deadline = time.monotonic() + self.limits.wall_seconds
        self.expectations = expectations
        self._reference: ModuleType | StudentStandIn | None = None
        self.banned_attempts: set[str] = set()
        self.waited = 0.0
        self.peak_rss = 0
        self._child: Child | None = None
        self._start_failure: ChildDied | None = None
        self._once: dict[str, tuple[bool, Any]] = {}
        self.datasets: dict[str, datasets.Dataset] = {}
        self.clock = clock or PhaseClock()
        self._start_wait = 0.0

    def child(self) -> Child:
        """The live child, started if needed."""
        if self._child is not None and self._child.alive:
            return self._child
        self._retire()
        if self._start_failure is not None:
            raise self._start_failure
        if time.monotonic() >= self.deadline:
            raise ChildDied(
                Status.TIMEOUT, f"the exercise's time budget of {self.limits.wall_seconds:g} s was used up"
            )
        started = time.monotonic()
        try:
            with self.clock.timed("child_start"):
                self._child = Child(
                    self.path, self.exercise.id, self.limits, self.deadline, self.exercise.banned
                )
        except ChildDied as failure:
            self.waited += time.monotonic() - started
            self._start_failure = _import_verdict(failure, self.exercise.module, self.deadline)
            raise self._start_failure from None
        self._start_wait = self._child.waited
        return self._child

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """The value of ``compute()`` for ``key``, computed on first request."""
        if key not in self._once:
            try:
                self._once[key] = (True, compute())
            except Exception as error:
                self._once[key] = (False, error)
        ok, value = self._once[key]
        if not ok:
            raise value
        return value

    def reference(self) -> ModuleType | StudentStandIn:
        """The exercise's reference module; in a student release, the student's
        own code stands in (expected values then come from the store). Found
        once per run: checks ask for it hundreds of times."""
        if self._reference is None:
            if solutions_dir() is None:
                self._reference = StudentStandIn(self.child, CHECK_SECONDS)
            else:
                self._reference = load_reference(self.exercise.id)
        return self._reference

    def dataset(self, name: str) -> datasets.Dataset:
        """Load the dataset ``name`` once, downloading it into the user's cache
        when it is nowhere on disk; ``DataUnavailable`` if that fails too."""
        if name not in self.datasets:
            try:
                with self.clock.timed("datasets"):
                    self.datasets[name] = datasets.load(
                        name, self.data_dir, download=True, progress=sys.stderr.isatty()
                    )
            except datasets.DatasetUnavailable as error:
                raise DataUnavailable(str(error)) from None
        return self.datasets[name]

    def dataset_records(self) -> dict[str, list[dict[str, Any]]]:
        """The files of each dataset used: name, sample count, SHA-256, official."""
        return {name: [record._asdict() for record in data.files] for name, data in self.datasets.items()}

    def _retire(self) -> None:
        if self._child is not None:
            with self.clock.timed("child_stop"):
                self._child.close()
            self.clock.add("student", self._child.waited - self._start_wait)
            self.banned_attempts |= self._child.banned_attempts
            self.waited += self._child.waited
            self.peak_rss = max(self.peak_rss, self._child.peak_rss)
            self._child = None

    def close(self) -> None:
        """Stop the live child, if any."""
        self._retire()

    def paused(self) -> contextlib.AbstractContextManager[None]:
        """The live child stopped for a ``with`` block (``Child.paused``); nothing to
        stop when no child is alive."""
        if self._child is not None and self._child.alive:
            return self._child.paused()
        return contextlib.nullcontext()


class Session:
    """What one check sees while it runs.

    Attributes
    ----------
    seed : int
        The dev seed for visible checks, the submission's for hidden ones.
    id : str
        The check's id (``Exercise.check_id``).
    rng : numpy.random.Generator
        Source of the check's inputs: ``stream(id)``.
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
        self.id = run.exercise.check_id(check)
        self.rng = self.stream(self.id)
        self.mode = run.mode
        self.source: SourceReport = run.source
        self.details: dict[str, Any] = {}

    def stream(self, name: str) -> np.random.Generator:
        """A generator for ``name`` (a check id, or a stream shared by checks
        such as ``"mlp/training"``): public for a visible check, keyed by the
        course secret for a hidden one."""
        if self._check.visibility == VISIBLE:
            return public_generator(self.seed, name)
        return keyed_generator(self._run.secret, self.seed, name)

    @property
    def reference(self) -> ModuleType | StudentStandIn:
        """The exercise's reference solution (trusted, in this process); in a
        student release, where no solutions ship, the student's own code in the
        child stands in for it (expected values then come from the store)."""
        return self._run.reference()

    def grader_reference(self, name: str) -> ModuleType:
        """A grader-only reference module ``solutions/<name>.py`` (such as the
        fast conv layers of the hidden checks), trusted, in this process."""
        return load_reference(name)

    def call(self, target: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's function ``target`` (or ``"$h1.method"``)."""
        return self._run.child().call(target, *args, seconds=self._check.seconds, **kwargs)

    def call_keeping(self, index: int, target: str, *args: Any, **kwargs: Any) -> tuple[Any, Kept]:
        """Call ``target`` and keep element ``index`` of its tuple in the child.

        For layers: ``(out, _), cache = session.call_keeping(1, "conv_forward_naive", ...)``
        keeps the student's cache inside the sandbox; pass ``cache`` to the
        backward call. The returned tuple has ``None`` in its place.
        """
        return self._run.child().call_keeping(index, target, *args, seconds=self._check.seconds, **kwargs)

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> str:
        """Construct the student's ``class_name``; return its handle."""
        return self._run.child().new(class_name, *args, seconds=self._check.seconds, **kwargs)

    def get(self, handle: str, attribute: str) -> Any:
        """Read ``attribute`` of the student's object ``handle``."""
        return self._run.child().get(handle, attribute, seconds=self._check.seconds)

    def set(self, handle: str, attribute: str, value: Any) -> None:
        """Set ``attribute`` of the student's object ``handle`` to ``value``."""
        self._run.child().set(handle, attribute, value, seconds=self._check.seconds)

    def loop(self, method: str, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int) -> Any:
        """Call ``method(x[batch], y[batch])`` for consecutive batches of each row
        of ``order`` (an ndarray of shape (epochs, N)); return the losses."""
        return self._run.child().loop(method, x, y, order, batch_size, seconds=self._check.seconds)

    def each(self, target: str, args: tuple[Any, ...], vary: int, pick: int | None = None) -> Any:
        """Call the student's ``target(*args)`` once per row of ``args[vary]`` (an
        ndarray of shape (P, ...)), the row in that argument's place, in one
        request (a numerical gradient's points); return element ``pick`` of each
        result (all of it when None), stacked. Each row has the check's limit: the
        request, their sum (and the exercise's budget)."""
        rows = len(args[vary])
        return self._run.child().each(target, args, vary, pick, seconds=self._check.seconds * rows)

    def expected(self, key: str, compute: Callable[[], Any]) -> Any:
        """The expected value ``key`` of this check, from the store or ``compute()``."""
        return self._run.expectations.get(f"{self.id}/{key}", compute)

    def seed_global_rng(self, seed: int) -> None:
        """Seed NumPy's global generator in the child (``np.random.seed``)."""
        self._run.child().seed(seed, seconds=self._check.seconds)

    def once(self, key: str, compute: Callable[[Session], Any]) -> Any:
        """``compute(session)`` run once per exercise run and shared by the checks
        that ask for ``key`` (the MLP's training run); a failure is shared too."""
        return self._run.once(key, lambda: compute(self))

    def dataset(self, name: str) -> Any:
        """The dataset ``name`` (``"mnist"``), or ``DataUnavailable``."""
        return self._run.dataset(name)

    def paused(self) -> contextlib.AbstractContextManager[None]:
        """The student's processes stopped for a ``with`` block: the grader's own
        timings (a speed check's loop baseline) compete with nothing they left running."""
        return self._run.paused()

    def record(self, **details: Any) -> None:
        """Attach measurements to this check's result."""
        self.details.update(details)
