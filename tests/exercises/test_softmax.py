"""The softmax exercise: its reference against torch autograd and centred
differences (float64, to ``RTOL``), planted bugs, and its stub."""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np
import pytest
import torch.nn.functional as nnf

from tests.exercises.oracles import (
    RTOL,
    assert_close,
    assert_stub_raises,
    numerical_gradient,
    rel_error,
    solution,
    to_torch,
)
from tests.exercises.planted import Bug, planted_bug_test

softmax = solution("softmax")

SOFTMAX_SHAPES = [(1, 5, 3), (7, 4, 10), (20, 13, 6), (3, 1, 2), (50, 30, 4)]
SOFTMAX_IDS = [f"N{n}-D{d}-C{c}" for n, d, c in SOFTMAX_SHAPES]
SOFTMAX_IMPLS = ["softmax_loss_naive", "softmax_loss_vectorized"]


def torch_softmax(W, X, y, reg):
    """Loss and dW of mean cross-entropy on X @ W plus reg * sum(W * W)."""
    Wt = to_torch(W, grad=True)
    loss = nnf.cross_entropy(to_torch(X) @ Wt, to_torch(y)) + reg * (Wt * Wt).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy()


def softmax_data(N, D, C, seed):
    rng = np.random.default_rng(seed)
    W = 0.5 * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, size=N)
    return W, X, y


@pytest.mark.parametrize("reg", [0.0, 0.37], ids=["reg0", "reg0.37"])
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES, ids=SOFTMAX_IDS)
@pytest.mark.parametrize("impl", SOFTMAX_IMPLS)
def test_softmax_classifier_vs_torch(impl, shape, reg):
    W, X, y = softmax_data(*shape, seed=sum(shape))
    W_before = W.copy()
    loss, dW = getattr(softmax, impl)(W, X, y, reg)
    loss_t, dW_t = torch_softmax(W, X, y, reg)
    assert np.ndim(loss) == 0
    assert dW.shape == W.shape
    assert rel_error(loss, loss_t) < RTOL
    assert_close(dW, dW_t)
    np.testing.assert_array_equal(W, W_before)  # inputs are not modified


@pytest.mark.parametrize("impl", SOFTMAX_IMPLS)
def test_softmax_classifier_stable_for_large_scores(impl):
    # Scores around +1000 with a spread of ~1e3: exp() of the raw scores
    # overflows, so only an implementation that subtracts the row max is finite.
    N, D, C = 8, 6, 5
    rng = np.random.default_rng(7)
    X = np.hstack([rng.standard_normal((N, D - 1)), np.ones((N, 1))])
    W = 1e3 * rng.standard_normal((D, C))
    W[-1] += 1000.0
    y = rng.integers(0, C, size=N)
    scores = X @ W
    assert scores.min() > -6000 and scores.max() > 1000 and np.ptp(scores) > 1e3
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dW = getattr(softmax, impl)(W, X, y, 1e-4)
    loss_t, dW_t = torch_softmax(W, X, y, 1e-4)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert rel_error(loss, loss_t) < RTOL
    assert_close(dW, dW_t)


def test_softmax_naive_equals_vectorized():
    W, X, y = softmax_data(40, 17, 9, seed=3)
    loss_n, dW_n = softmax.softmax_loss_naive(W, X, y, 0.1)
    loss_v, dW_v = softmax.softmax_loss_vectorized(W, X, y, 0.1)
    assert rel_error(loss_n, loss_v) < 1e-12
    assert_close(dW_n, dW_v, rtol=1e-12)


SOFTMAX_LAYER_CASES = [
    pytest.param((1, 3), 0.0, 1.0, id="N1-C3"),
    pytest.param((6, 10), 0.0, 1.0, id="N6-C10"),
    pytest.param((13, 2), 0.0, 5.0, id="N13-C2-spread5"),
    pytest.param((9, 7), 1000.0, 1e3, id="N9-C7-shift1000-spread1e3"),
]


@pytest.mark.parametrize(("shape", "shift", "spread"), SOFTMAX_LAYER_CASES)
def test_softmax_loss_layer_vs_torch(shape, shift, spread):
    rng = np.random.default_rng(shape[0] * 31 + shape[1])
    x = shift + spread * rng.standard_normal(shape)
    y = rng.integers(0, shape[1], size=shape[0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dx = softmax.softmax_loss(x, y)
    xt = to_torch(x, grad=True)
    loss_t = nnf.cross_entropy(xt, to_torch(y))
    loss_t.backward()
    assert rel_error(loss, loss_t.item()) < RTOL
    assert_close(dx, xt.grad.numpy())


def test_softmax_loss_layer_numerical_gradient():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 7))
    y = rng.integers(0, 7, size=5)
    _, dx = softmax.softmax_loss(x, y)
    dx_num = numerical_gradient(lambda v: softmax.softmax_loss(v, y)[0], x, h=1e-5)
    # Smooth function: truncation O(h^2) ~ 1e-10, rounding ~ 1e-16 / h ~ 1e-11.
    assert_close(dx, dx_num, rtol=1e-7)


@pytest.mark.parametrize("impl", SOFTMAX_IMPLS)
def test_softmax_classifier_numerical_gradient(impl):
    W, X, y = softmax_data(6, 4, 3, seed=5)
    f = getattr(softmax, impl)
    _, dW = f(W, X, y, 0.25)
    dW_num = numerical_gradient(lambda v: f(v, X, y, 0.25)[0], W, h=1e-5)
    assert_close(dW, dW_num, rtol=1e-7)


@pytest.mark.parametrize("name", ["softmax_loss_vectorized", "softmax_loss"])
def test_softmax_vectorized_has_no_python_loops(name):
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(softmax, name))))
    loops = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp)
    assert not any(isinstance(node, (*loops, ast.GeneratorExp)) for node in ast.walk(tree))


# -- planted bugs (tests.exercises.planted) ----------------------------------------
VECTORIZED_START = "    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n    rows"

BUGS = {
    "softmax no max-subtraction": Bug(
        "softmax",
        "    scores = scores - np.max(scores, axis=1, keepdims=True)\n",
        "",
        "softmax_loss_vectorized: stable for scores near 1000",
        "maximum score of each row is not subtracted",
        ("softmax_loss_vectorized: loss, reg = 0", "softmax_loss_vectorized: dW, reg > 0"),
    ),
    "softmax loss not divided by N": Bug(
        "softmax",
        "loss = loss / num_train + reg * np.sum(W * W)",
        "loss = loss + reg * np.sum(W * W)",
        "softmax_loss_naive: loss, reg = 0",
        "the loss is not divided by N",
        ("softmax_loss_naive: dW, reg = 0", "softmax_loss_vectorized: loss, reg = 0"),
    ),
    "softmax correct class not subtracted": Bug(
        "softmax",
        "    dscores[rows, y] -= 1\n",
        "",
        "softmax_loss_vectorized: dW, reg = 0",
        "1 is not subtracted from the correct class",
        ("softmax_loss_vectorized: loss, reg = 0", "softmax_loss_naive: dW, reg = 0"),
    ),
    "softmax layer dx not divided by N": Bug(
        "softmax",
        "    dx /= num_train\n",
        "",
        "softmax_loss: dx",
        "dx is not divided by N",
        ("softmax_loss: loss", "softmax_loss_vectorized: dW, reg = 0"),
    ),
    "softmax half regularization in the loss": Bug(
        "softmax",
        "loss = -np.sum(log_probs[rows, y]) / num_train + reg * np.sum(W * W)",
        "loss = -np.sum(log_probs[rows, y]) / num_train + 0.5 * reg * np.sum(W * W)",
        "softmax_loss_vectorized: loss, reg > 0",
        "0.5 * reg * sum(W * W)",
        ("softmax_loss_vectorized: loss, reg = 0", "softmax_loss_vectorized: dW, reg > 0"),
    ),
    "softmax naive loss has the wrong sign": Bug(
        "softmax",
        "loss += log_norm - scores[y[i]]",
        "loss += scores[y[i]] - log_norm",
        "softmax_loss_naive: loss close to log C for tiny random weights",
        "mind the minus sign",
        ("softmax_loss_naive: dW, reg = 0",),
    ),
    "softmax vectorized calls the naive loops": Bug(
        "softmax",
        VECTORIZED_START,
        "    return softmax_loss_naive(W, X, y, reg)\n" + VECTORIZED_START,
        "softmax_loss_vectorized at least 10x faster than the naive loops",
        "faster than a loop version",
        ("softmax_loss_vectorized: dW, reg > 0",),  # its no-loop check fails too: see tests/gaming
    ),
}


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


def test_every_issue_hint_is_planted():
    """At least one planted bug per usual bug the issue names (the check's hint or diagnosis)."""
    named = {
        "max-subtraction": "softmax no max-subtraction",
    }
    assert set(named.values()) <= set(BUGS)


# -- the stub ----------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["softmax_loss_naive", "softmax_loss_vectorized"])
def test_stub_classifier_raises_not_implemented(function):
    W, X, y = softmax_data(4, 3, 2, seed=0)
    assert_stub_raises("softmax", function, (W, X, y, 0.1))


def test_stub_layer_raises_not_implemented():
    _, X, y = softmax_data(4, 3, 2, seed=0)
    assert_stub_raises("softmax", "softmax_loss", (X, y))
