"""The one module-by-path loader of the grader, its tests and its benchmarks.

Trusted files only: the references (``solutions/``), the built stubs of
``assignments/``, the grader's own files and the notebook generator. A
student's module is never loaded here: only the sandbox's harness imports it,
inside the child (the harness cannot import ``autograder``, so it keeps its
own three lines).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file ``path`` as a module called ``name``.

    The module is registered in ``sys.modules`` before it runs, as an import
    would do, so that its dataclasses, pickling and ``inspect`` find it;
    loading ``name`` again runs the file again and replaces it.

    Parameters
    ----------
    path : Path
        A trusted ``.py`` file.
    name : str
        The module's name (unique per file, so that two loads do not collide).

    Returns
    -------
    ModuleType
        The freshly executed module.

    Raises
    ------
    ImportError
        When ``path`` cannot be loaded as a module.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
