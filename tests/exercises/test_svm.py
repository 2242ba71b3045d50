"""The SVM reference against independent oracles (torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.checks.compare import rel_error
from autograder.checks.gradcheck import check_gradient
from autograder.modules import load_module
from tests.conftest import SOLUTIONS
from tests.exercises.planted import Bug, assert_loses_points_where_named


def load(name: str):
    return load_module(SOLUTIONS / f"{name}.py", f"ref_{name}")


svm = load("svm")


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
    assert rel_error(loss, t_loss) < 1e-12
    assert rel_error(dW, t_dW) < 1e-10


def test_svm_gradient_equals_centred_differences():
    rng = np.random.default_rng(3)
    W, X, y = rng.normal(size=(6, 4)), rng.normal(size=(9, 6)), rng.integers(0, 4, 9)
    _, dW = svm.svm_loss_vectorized(W, X, y, 0.2)
    worst = check_gradient("dW", dW, lambda W_: svm.svm_loss_vectorized(W_, X, y, 0.2)[0], W, rng)
    assert worst < 1e-7


def test_gradient_check_names_the_worst_element():
    from autograder.checks.base import CheckFailed

    x = np.arange(6.0).reshape(2, 3)
    wrong = 2 * x
    wrong[1, 2] += 0.5
    with pytest.raises(CheckFailed, match=r"\[1, 2\].*numerical gradient 10"):
        check_gradient("grad", wrong, lambda v: float(np.sum(v**2)), x, np.random.default_rng(0))


# -- planted bugs, moved from test_planted_bugs_knn_svm.py
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


@pytest.mark.parametrize("name", list(BUGS))
def test_planted_bug_loses_points_where_named(name, tmp_path):
    assert_loses_points_where_named(BUGS[name], tmp_path)
