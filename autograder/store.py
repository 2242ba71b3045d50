"""The expected-value store: what the visible checks compare with.

With a reference installed, each value is computed from it on demand (and
recorded when a release is being built); in a student release, the values
were recorded beforehand into ``autograder/expected/<exercise>.npz`` and are
read from there. Both grading and authoring import this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograder.references import ReferenceUnavailable, solutions_dir

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"
"""Where a student release keeps the expected values of the visible checks,
one ``<exercise>.npz`` each, recorded from the references at release time."""

STRUCTURE = "__structure__"
"""Entry of a store file holding, as JSON, how its arrays nest into values."""


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
