"""Reference solutions, and what stands in for them in a student release.

References are trusted code, imported in the grader's process only. They are
found in ``AUTOGRADER_SOLUTIONS``, in the installed package (``_solutions``,
mapped from ``solutions/`` by the wheel) or in the source checkout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from autograder.modules import load_module
from autograder.sandbox import Child, StudentFault


class ReferenceUnavailable(Exception):
    """No reference solution is installed (a student release)."""


def solutions_dir() -> Path | None:
    """The folder holding the reference modules, if any."""
    here = Path(__file__).resolve().parent
    candidates = [os.environ.get("AUTOGRADER_SOLUTIONS"), here / "_solutions", here.parent / "solutions"]
    return next((Path(c) for c in candidates if c and (Path(c) / "knn.py").is_file()), None)


@cache
def load_reference(exercise: str) -> ModuleType:
    """Import the reference module of ``exercise`` (``solutions/<id>.py``)."""
    folder = solutions_dir()
    if folder is None or not (folder / f"{exercise}.py").is_file():
        raise ReferenceUnavailable(f"no reference solution for {exercise} is installed")
    return load_module(folder / f"{exercise}.py", f"autograder_reference_{exercise}")


class StudentStandIn:
    """What checks get as ``session.reference`` when no reference is installed.

    In a student release, expected values come from the store (and a value
    missing there is never computed, see ``Expectations``); what still needs
    "the reference" is a timing baseline (the loop version a vectorized one
    must beat) and the diagnosis of known bugs. The student's own functions
    and classes, run in the sandbox, stand in for them: ``svm_loss_naive(...)``
    calls the student's ``svm_loss_naive``; a capitalised name is a class whose
    instances forward their method calls the same way.

    Parameters
    ----------
    child : callable
        ``child() -> Child``: the exercise's live child (started if needed).
    seconds : float
        Time limit of each forwarded call.
    """

    def __init__(self, child: Callable[[], Child], seconds: float) -> None:
        self._child = child
        self._seconds = seconds

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._forward(name, args, kwargs)

    def _forward(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            if not name[0].isupper():
                return self._child().call(name, *args, seconds=self._seconds, **kwargs)
            return _StandInObject(self, self._child().new(name, *args, seconds=self._seconds, **kwargs))
        except StudentFault as fault:
            raise type(fault)(
                fault.status,
                f"no reference is installed, so your own {name.partition('.')[0]} stands in for it "
                f"(timing baseline or bug diagnosis): {fault.message}",
            ) from None


class _StandInObject:
    """An instance of the student's class inside the child, seen from the grader."""

    def __init__(self, owner: StudentStandIn, handle: str) -> None:
        self._owner = owner
        self._handle = handle

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._owner._forward(f"{self._handle}.{name}", args, kwargs)
