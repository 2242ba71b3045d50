"""Independent oracles and loaders shared by the per-exercise tests.

Every reference solution is judged by code that is not the grader's: torch
autograd and ``torch.optim`` in float64, centred finite differences written
here, ``numpy.testing.assert_allclose``, scipy. Nothing here imports
``autograder.checks``.

The modules are loaded from their file paths, so the tests do not depend on
``solutions`` / ``assignments`` being importable packages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf

from autograder.modules import load_module
from tests.conftest import ASSIGNMENTS, SOLUTIONS

RTOL = 1e-10  # float64 agreement with torch: rounding of a few hundred operations
FAST_RTOL = 1e-12  # the fast conv layers against the naive ones: the same terms summed in another order


@cache
def solution(name: str) -> ModuleType:
    """The reference ``solutions/<name>.py`` (``_fast_conv`` included), imported from its path."""
    return load_module(SOLUTIONS / f"{name}.py", f"_test_solution_{name}")


@cache
def stub(name: str) -> ModuleType:
    """The student stub ``assignments/<name>.py``, imported from its path."""
    return load_module(ASSIGNMENTS / f"{name}.py", f"_test_stub_{name}")


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


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
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


def assert_stub_raises(exercise: str, function: str, arguments: tuple) -> None:
    """The stub's ``function`` raises ``NotImplementedError`` on ``arguments``,
    which the reference accepts (so the stub does not fail on bad input instead)."""
    getattr(solution(exercise), function)(*arguments)
    with pytest.raises(NotImplementedError):
        getattr(stub(exercise), function)(*arguments)


def torch_conv(x, w, b, conv_param, dout):
    """torch's ``conv2d`` forward and autograd backward: ``(out, dx, dw, db)`` as float64 arrays."""
    xt, wt, bt = (to_torch(a, grad=True) for a in (x, w, b))
    out = nnf.conv2d(xt, wt, bt, stride=conv_param["stride"], padding=conv_param["pad"])
    out.backward(to_torch(dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()
