"""Reference solutions and the expected values computed from them.

References are trusted code, imported in the grader's process only. They are
found in ``AUTOGRADER_SOLUTIONS``, in the installed package (``_solutions``,
mapped from ``solutions/`` by the wheel) or in the source checkout.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any


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
    spec = importlib.util.spec_from_file_location(
        f"autograder_reference_{exercise}", folder / f"{exercise}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Expectations:
    """Expected values of one exercise's checks, keyed ``"check/key"``.

    Parameters
    ----------
    stored : dict, optional
        Values recorded from the references beforehand; used first.
    recording : dict, optional
        When given, every value computed is also stored here.
    """

    def __init__(self, stored: dict[str, Any] | None = None, recording: dict[str, Any] | None = None):
        self.stored = stored or {}
        self.recording = recording

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The stored value of ``key``, else ``compute()`` (recorded if asked)."""
        if key in self.stored:
            return self.stored[key]
        value = compute()
        if self.recording is not None:
            self.recording[key] = value
        return value
