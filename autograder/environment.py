"""What every result records of the machine that graded it: the grader's,
Python's, NumPy's and BLAS's versions and the isolation level."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from autograder import __version__
from autograder.sandbox import isolation


def environment() -> dict[str, Any]:
    """Versions and isolation level recorded with every result."""
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    return {
        "grader_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
        **isolation.report(),
    }
