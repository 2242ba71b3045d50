"""Reference solutions and the expected values computed from them.

References are trusted code, imported in the grader's process only. They are
found in ``AUTOGRADER_SOLUTIONS``, in the installed package (``_solutions``,
mapped from ``solutions/`` by the wheel) or in the source checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder.sandbox import Child, StudentFault

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"
"""Where a student release keeps the expected values of the visible checks,
one ``<exercise>.npz`` each, recorded from the references at release time."""

STRUCTURE = "__structure__"
"""Entry of a store file holding, as JSON, how its arrays nest into values."""


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
    """Expected values of one exercise's checks, keyed ``"<check id>/<key>"``
    (the stable id, so renaming a check keeps its stored values).

    Parameters
    ----------
    stored : dict, optional
        Values recorded from the references beforehand; used first.
    recording : dict, optional
        When given, every value computed is also stored here.
    computable : bool, optional
        False when no reference is installed: a value missing from
        ``stored`` then raises ``ReferenceUnavailable`` instead of being
        computed (computing it would call whatever stands in for the reference).
    """

    def __init__(
        self,
        stored: dict[str, Any] | None = None,
        recording: dict[str, Any] | None = None,
        computable: bool = True,
    ):
        self.stored = stored or {}
        self.recording = recording
        self.computable = computable

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The stored value of ``key``, else ``compute()`` (recorded if asked)."""
        if key in self.stored:
            return self.stored[key]
        if not self.computable:
            raise ReferenceUnavailable(
                f"the expected value {key!r} is not in this release's store and no reference is installed"
            )
        value = compute()
        if self.recording is not None:
            self.recording[key] = value
        return value


def expectations_for(exercise: str, recording: dict[str, Any] | None = None) -> Expectations:
    """Computed from the installed reference, else read from the release's store.

    Parameters
    ----------
    exercise : str
        Exercise id.
    recording : dict, optional
        Filled with every value computed (building a release's store).
    """
    if solutions_dir() is not None:
        return Expectations(recording=recording)
    path = EXPECTED_DIR / f"{exercise}.npz"
    return Expectations(stored=load_expected(path) if path.is_file() else {}, computable=False)


def save_expected(values: dict[str, Any], path: Path) -> None:
    """Write ``values`` (key to float, int, bool, None, str, array, or tuples,
    lists and dicts of them) to ``path`` as an ``.npz`` without pickles.

    Every number and array becomes one array entry ``"0"``, ``"1"``...; the
    nesting, the Python types and the dict keys go to ``STRUCTURE`` as JSON.
    """
    arrays: dict[str, np.ndarray] = {}
    structure = {key: _flatten(value, arrays, key) for key, value in values.items()}
    arrays[STRUCTURE] = np.array(json.dumps(structure))
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_expected(path: Path) -> dict[str, Any]:
    """The values ``save_expected`` wrote to ``path``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    structure = json.loads(str(arrays.pop(STRUCTURE)))
    return {key: _unflatten(node, arrays) for key, node in structure.items()}


PYTHON_NUMBERS = {"bool": bool, "int": int, "float": float}


def _flatten(value: Any, arrays: dict[str, np.ndarray], key: str) -> list[Any]:
    """A JSON node for ``value``; its numbers and arrays go to ``arrays``."""
    if value is None or isinstance(value, str):
        return ["none"] if value is None else ["str", value]
    if isinstance(value, (tuple, list)):
        return [type(value).__name__, [_flatten(item, arrays, key) for item in value]]
    if isinstance(value, dict):
        if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            raise TypeError(f"expected value {key!r}: dict keys must be str or int")
        return ["dict", [[k, _flatten(item, arrays, key)] for k, item in value.items()]]
    name = str(len(arrays))
    if type(value) in PYTHON_NUMBERS.values():
        arrays[name] = np.array(value)
        return ["python", type(value).__name__, name]
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biufc":
        arrays[name] = np.asarray(value)
        return ["array" if isinstance(value, np.ndarray) else "scalar", name]
    raise TypeError(f"expected value {key!r}: cannot store a {type(value).__name__}")


def _unflatten(node: list[Any], arrays: dict[str, np.ndarray]) -> Any:
    kind = node[0]
    if kind == "none":
        return None
    if kind == "str":
        return node[1]
    if kind in ("tuple", "list"):
        items = [_unflatten(item, arrays) for item in node[1]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: _unflatten(item, arrays) for k, item in node[1]}
    if kind == "python":
        return PYTHON_NUMBERS[node[1]](arrays[node[2]][()])
    return arrays[node[1]] if kind == "array" else arrays[node[1]][()]


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
