"""The kNN and SVM references against independent oracles (scipy, torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from autograder.checks.compare import rel_error
from autograder.checks.gradcheck import check_gradient
from autograder.modules import load_module
from tests.conftest import SOLUTIONS


def load(name: str):
    return load_module(SOLUTIONS / f"{name}.py", f"ref_{name}")


knn, svm = load("knn"), load("svm")


@pytest.mark.parametrize("method", ["two_loops", "one_loop", "no_loops"])
def test_distances_equal_scipy_cdist(method):
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(23, 7)), rng.normal(size=(9, 7))
    test[:3] = train[:3]
    classifier = knn.KNearestNeighbor()
    classifier.train(train, np.zeros(23, dtype=int))
    dists = getattr(classifier, f"compute_distances_{method}")(test)
    assert not np.isnan(dists).any()
    np.testing.assert_allclose(dists, cdist(test, train), atol=1e-7)


def test_predict_labels_breaks_ties_toward_the_smaller_label():
    classifier = knn.KNearestNeighbor()
    classifier.train(np.zeros((4, 1)), np.array([3, 1, 3, 1]))
    dists = np.array([[0.1, 0.2, 0.3, 0.4]])
    assert classifier.predict_labels(dists, k=1)[0] == 3
    assert classifier.predict_labels(dists, k=2)[0] == 1
    assert classifier.predict_labels(dists, k=4)[0] == 1


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
