"""The SVM exercise: its reference against torch autograd and centred differences,
planted bugs, and its stub."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.exercises.oracles import assert_stub_raises, numerical_gradient, solution
from tests.exercises.planted import Bug, planted_bug_test

svm = solution("svm")


def torch_svm(W, X, y, reg):
    Wt = torch.tensor(W, requires_grad=True)
    scores = torch.tensor(X) @ Wt
    correct = scores[torch.arange(len(y)), torch.tensor(y)][:, None]
    margins = torch.clamp(scores - correct + 1, min=0)
    margins[torch.arange(len(y)), torch.tensor(y)] = 0
    loss = margins.sum() / len(y) + reg * (Wt * Wt).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy()


@pytest.mark.parametrize("function", ["svm_loss_naive", "svm_loss_vectorized"])
@pytest.mark.parametrize("shape,reg", [((5, 3, 4), 0.0), ((17, 11, 7), 0.3), ((1, 4, 2), 1.5)])
def test_svm_equals_torch_autograd(function, shape, reg):
    num, dim, classes = shape
    rng = np.random.default_rng(num)
    W, X, y = rng.normal(size=(dim, classes)), rng.normal(size=(num, dim)), rng.integers(0, classes, num)
    loss, dW = getattr(svm, function)(W, X, y, reg)
    t_loss, t_dW = torch_svm(W, X, y, reg)
    np.testing.assert_allclose(loss, t_loss, rtol=1e-12)
    np.testing.assert_allclose(dW, t_dW, rtol=1e-10, atol=1e-12)


def test_svm_gradient_equals_centred_differences():
    rng = np.random.default_rng(3)
    W, X, y = rng.normal(size=(6, 4)), rng.normal(size=(9, 6)), rng.integers(0, 4, 9)
    _, dW = svm.svm_loss_vectorized(W, X, y, 0.2)
    # Piecewise quadratic: h far below the distance of every margin to its kink keeps
    # each difference on one piece, where centred differences are exact up to rounding.
    dW_num = numerical_gradient(lambda W_: svm.svm_loss_vectorized(W_, X, y, 0.2)[0], W, h=1e-6)
    np.testing.assert_allclose(dW, dW_num, rtol=1e-7, atol=1e-8)


# -- planted bugs (tests.exercises.planted) ----------------------------------------
BUGS = {
    "svm correct class counted": Bug(
        "svm",
        "            if j == y[i]:\n                continue\n",
        "",
        "svm_loss_naive: loss, reg = 0",
        "correct class is counted",
        ("svm_loss_naive: dW, reg = 0", "svm_loss_vectorized: loss, reg = 0"),
    ),
    "svm loss not divided by N": Bug(
        "svm",
        "loss = np.sum(margins) / num_train + reg",
        "loss = np.sum(margins) + reg",
        "svm_loss_vectorized: loss, reg = 0",
        "not divided by N",
        ("svm_loss_vectorized: dW, reg = 0",),
    ),
    "svm missing correct-class column": Bug(
        "svm",
        "    coefficients[rows, y] = -np.sum(coefficients, axis=1)\n",
        "",
        "svm_loss_vectorized: dW, reg = 0",
        "correct-class column",
        ("svm_loss_vectorized: loss, reg = 0",),
    ),
    "svm reg in gradient not loss": Bug(
        "svm",
        "    loss += reg * np.sum(W * W)\n",
        "",
        "svm_loss_naive: loss, reg > 0",
        "reg is in the gradient but not in the loss",
        ("svm_loss_naive: loss, reg = 0", "svm_loss_naive: dW, reg > 0"),
    ),
    "svm reg gradient halved": Bug(
        "svm",
        "dW = X.T @ coefficients / num_train + 2 * reg * W",
        "dW = X.T @ coefficients / num_train + reg * W",
        "svm_loss_vectorized: dW, reg > 0",
        "reg * W instead of 2 * reg * W",
        ("svm_loss_vectorized: dW, reg = 0",),
    ),
    "svm vectorized calls the naive loops": Bug(
        "svm",
        "    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n",
        "    return svm_loss_naive(W, X, y, reg)\n    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n",
        "svm_loss_vectorized at least 10x faster than the naive loops",
        "faster than a loop version",
        ("svm_loss_vectorized: dW, reg > 0",),  # its no-loop check fails too: see tests/gaming
    ),
}


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


# -- the stub ----------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["svm_loss_naive", "svm_loss_vectorized"])
def test_stub_raises_not_implemented(function):
    rng = np.random.default_rng(0)
    W, X, y = rng.normal(size=(3, 2)), rng.normal(size=(4, 3)), rng.integers(0, 2, 4)
    assert_stub_raises("svm", function, (W, X, y, 0.1))
