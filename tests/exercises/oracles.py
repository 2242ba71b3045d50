"""Check the softmax, optim and conv reference solutions against independent oracles.

Oracles, all in float64:

* torch autograd (``torch.nn.functional.cross_entropy``, ``conv2d``,
  ``max_pool2d``) and ``torch.optim`` (SGD, RMSprop, Adam);
* centred finite differences, a second oracle independent of torch.

The solutions must agree with torch to ``RTOL = 1e-10`` relative and the fast
grader-internal conv/pool layers with the naive ones to ``1e-12``. The tests
also check that the student stubs in ``assignments/`` are exactly what
nbgrader's ``generate_assignment`` makes of the solutions: same signatures and
docstrings, every marked region replaced by ``raise NotImplementedError()``.

The modules are loaded from their file paths, so the tests do not depend on
``solutions`` / ``assignments`` being importable packages.
"""

from pathlib import Path

import numpy as np
import torch

from autograder.modules import load_module

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-10
FAST_RTOL = 1e-12
MODULES = ("softmax", "optim", "conv")


def _load(relpath: str):
    """Import a module from a path relative to the repository root."""
    name = "_ref_test_" + relpath.replace("/", "_").removesuffix(".py")
    return load_module(ROOT / relpath, name)


SOL = {name: _load(f"solutions/{name}.py") for name in MODULES}
STUB = {name: _load(f"assignments/{name}.py") for name in MODULES}
FAST = _load("solutions/_fast_conv.py")
softmax, optim, conv = SOL["softmax"], SOL["optim"], SOL["conv"]


# --------------------------------------------------------------------- helpers
def rel_error(a, b) -> float:
    """Return max |a - b| / max(1e-300, |a| + |b|), elementwise (CS231n style)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-300, np.abs(a) + np.abs(b))))


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    """Assert elementwise |actual - expected| <= rtol * (|expected| + max|expected|).

    The absolute part ``rtol * max|expected|`` only matters for entries that
    are tiny compared with the rest of the array (sums that cancel, such as a
    convolution output near 0): their rounding error is relative to the size
    of the summed terms, not to the result, so a purely elementwise relative
    test would be meaningless there.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.all(np.isfinite(actual))
    scale = float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def numerical_gradient(f, x: np.ndarray, h: float) -> np.ndarray:
    """Centred differences (f(x + h e_i) - f(x - h e_i)) / 2h of a scalar f."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def to_torch(a: np.ndarray, grad: bool = False) -> torch.Tensor:
    """Copy an ndarray into a float64 (or int64) torch tensor."""
    return torch.tensor(a, requires_grad=grad)
