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

import ast
import inspect
import itertools
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf

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


# --------------------------------------------------------------------- softmax
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


# ----------------------------------------------------------------------- optim
# How the torch.optim rules relate to the CS231n ones (torch 2.x single-tensor
# code paths, foreach=False; the multi-tensor paths compute the same thing):
#
# * SGD(momentum=mu, dampening=0, nesterov=False) keeps a buffer of gradient
#   sums, buf = mu * buf + g (buf = g on the first step), and does
#   p -= lr * buf. CS231n keeps the velocity of the weights,
#   v = mu * v - lr * g, and does w += v. By induction v = -lr * buf as long as
#   lr is constant, so the weights coincide (up to rounding); with a learning
#   rate that changes between steps they differ, because CS231n's velocity
#   keeps the old learning rates baked in while torch rescales the whole buffer
#   by the current one (see test_sgd_momentum_differs_from_torch_when_lr_changes).
#   With dampening != 0 torch also differs on the first step (buf = g, undamped).
# * RMSprop(alpha=decay_rate, eps=epsilon, centered=False, momentum=0):
#   square_avg = alpha * square_avg + (1 - alpha) * g**2,
#   p -= lr * g / (sqrt(square_avg) + eps): the same formula as CS231n, eps
#   outside the square root in both. Same defaults (lr 1e-2, alpha 0.99,
#   eps 1e-8).
# * Adam(betas=(beta1, beta2), eps=epsilon, amsgrad=False): step t is
#   incremented before use, m = lerp(m, g, 1 - beta1) (= beta1 m + (1-beta1) g),
#   v = beta2 v + (1 - beta2) g**2, then
#   p -= (lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
#   sqrt(v) / sqrt(1 - beta2**t) = sqrt(vhat), so eps is added to sqrt(vhat)
#   exactly as in CS231n: the two agree up to rounding (order of operations
#   only), for any eps. What differs is the "efficient" form of Algorithm 1 in
#   Kingma & Ba (used by TF/Keras): lr_t = lr sqrt(1-beta2^t) / (1-beta1^t),
#   p -= lr_t m / (sqrt(v) + eps), i.e. eps added to the *uncorrected* sqrt(v)
#   (an effective eps of eps * sqrt(1 - beta2^t) on sqrt(vhat)). Same defaults
#   (lr 1e-3, betas (0.9, 0.999), eps 1e-8).
#
# The tests use large eps values too, so that a misplaced eps would show.
OPTIM_STEPS = 10


def gradient_sequence(shape=(4, 5), steps=OPTIM_STEPS, seed=0):
    """Fixed gradients of varied scale (1e-4 to 10) so that eps matters."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-4, 1, size=(steps, *shape))
    return scales * rng.standard_normal((steps, *shape))


def run_numpy_rule(rule, config, w0, grads):
    w, cfg, traj = w0.copy(), config, []
    for g in grads:
        w, cfg = rule(w, g, cfg)
        traj.append(w.copy())
    return np.array(traj), cfg


def run_torch_optimizer(make_optimizer, w0, grads, lrs=None):
    p = torch.nn.Parameter(to_torch(w0))
    opt = make_optimizer([p])
    traj = []
    for step, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[step]
        p.grad = to_torch(g)
        opt.step()
        traj.append(p.detach().numpy().copy())
    return np.array(traj), opt.state[p]


def assert_same_trajectory(traj, traj_t, w0):
    # Compare the displacements from w0 too: they are much smaller than w and
    # would hide errors in a comparison of the weights alone.
    assert rel_error(traj, traj_t) < RTOL
    assert rel_error(traj - w0, traj_t - w0) < RTOL


SGD_CONFIGS = [
    pytest.param(None, 1e-2, 0.9, id="defaults"),
    pytest.param({"learning_rate": 0.05, "momentum": 0.5}, 0.05, 0.5, id="lr0.05-mu0.5"),
    pytest.param({"learning_rate": 0.3, "momentum": 0.0}, 0.3, 0.0, id="lr0.3-mu0"),
]


@pytest.mark.parametrize(("config", "lr", "mu"), SGD_CONFIGS)
def test_sgd_momentum_vs_torch(config, lr, mu):
    w0, grads = np.random.default_rng(1).standard_normal((4, 5)), gradient_sequence()
    traj, cfg = run_numpy_rule(optim.sgd_momentum, config, w0, grads)
    traj_t, state = run_torch_optimizer(
        lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mu, foreach=False), w0, grads
    )
    assert_same_trajectory(traj, traj_t, w0)
    assert cfg["learning_rate"] == lr and cfg["momentum"] == mu
    if mu:  # torch keeps no buffer without momentum
        assert rel_error(cfg["velocity"], -lr * state["momentum_buffer"].numpy()) < RTOL


def test_sgd_momentum_differs_from_torch_when_lr_changes():
    w0, grads = np.ones((2, 3)), gradient_sequence((2, 3), steps=3)
    lrs = [0.1, 0.01, 0.001]
    w, cfg = w0.copy(), {"momentum": 0.9}
    for lr, g in zip(lrs, grads, strict=True):
        cfg["learning_rate"] = lr
        w, cfg = optim.sgd_momentum(w, g, cfg)
    traj_t, _ = run_torch_optimizer(
        lambda ps: torch.optim.SGD(ps, lr=lrs[0], momentum=0.9, foreach=False),
        w0,
        grads,
        lrs=lrs,
    )
    # v3 = -(0.9^2 * 0.1 g1 + 0.9 * 0.01 g2 + 0.001 g3) for CS231n but
    # -0.001 (0.9^2 g1 + 0.9 g2 + g3) for torch.
    assert rel_error(w, traj_t[-1]) > 1e-6


RMSPROP_CONFIGS = [
    pytest.param(None, 1e-2, 0.99, 1e-8, id="defaults"),
    pytest.param(
        {"learning_rate": 3e-2, "decay_rate": 0.9, "epsilon": 1e-1},
        3e-2,
        0.9,
        1e-1,
        id="lr3e-2-decay0.9-eps0.1",
    ),
]


@pytest.mark.parametrize(("config", "lr", "decay", "eps"), RMSPROP_CONFIGS)
def test_rmsprop_vs_torch(config, lr, decay, eps):
    w0, grads = np.random.default_rng(2).standard_normal((4, 5)), gradient_sequence()
    traj, cfg = run_numpy_rule(optim.rmsprop, config, w0, grads)
    traj_t, state = run_torch_optimizer(
        lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=decay, eps=eps, foreach=False),
        w0,
        grads,
    )
    assert_same_trajectory(traj, traj_t, w0)
    assert (cfg["learning_rate"], cfg["decay_rate"], cfg["epsilon"]) == (lr, decay, eps)
    assert rel_error(cfg["cache"], state["square_avg"].numpy()) < RTOL


ADAM_CONFIGS = [
    pytest.param(None, 1e-3, 0.9, 0.999, 1e-8, id="defaults"),
    pytest.param(
        {"learning_rate": 1e-2, "beta1": 0.5, "beta2": 0.9, "epsilon": 1e-1},
        1e-2,
        0.5,
        0.9,
        1e-1,
        id="lr1e-2-b0.5-0.9-eps0.1",
    ),
    pytest.param({"learning_rate": 5e-2, "epsilon": 1e-3}, 5e-2, 0.9, 0.999, 1e-3, id="eps1e-3"),
]


@pytest.mark.parametrize(("config", "lr", "beta1", "beta2", "eps"), ADAM_CONFIGS)
def test_adam_vs_torch(config, lr, beta1, beta2, eps):
    w0, grads = np.random.default_rng(3).standard_normal((4, 5)), gradient_sequence()
    traj, cfg = run_numpy_rule(optim.adam, config, w0, grads)
    traj_t, state = run_torch_optimizer(
        lambda ps: torch.optim.Adam(ps, lr=lr, betas=(beta1, beta2), eps=eps, foreach=False),
        w0,
        grads,
    )
    assert_same_trajectory(traj, traj_t, w0)
    assert cfg["t"] == OPTIM_STEPS == int(state["step"].item())
    assert rel_error(cfg["m"], state["exp_avg"].numpy()) < RTOL
    assert rel_error(cfg["v"], state["exp_avg_sq"].numpy()) < RTOL


def test_adam_first_step_uses_t_equal_one():
    w, dw = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    next_w, cfg = optim.adam(w, dw)
    # t = 1: mhat = dw and vhat = dw**2, so the step is lr * dw / (|dw| + eps).
    expected = w - 1e-3 * dw / (np.abs(dw) + 1e-8)
    assert rel_error(next_w, expected) < 1e-14
    assert cfg["t"] == 1


@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam"])
def test_update_rules_keep_inputs_and_config_object(name):
    rule = getattr(optim, name)
    w, dw = np.arange(6.0).reshape(2, 3), np.linspace(-1, 1, 6).reshape(2, 3)
    w_before, dw_before, config = w.copy(), dw.copy(), {}
    next_w, cfg = rule(w, dw, config)
    assert cfg is config and next_w.shape == w.shape
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(dw, dw_before)


# ------------------------------------------------------------------------ conv
def _conv_case(N, C, H, W, F_, HH, WW, stride, pad):
    case_id = f"N{N}-C{C}-{H}x{W}-F{F_}-{HH}x{WW}-s{stride}-p{pad}"
    return pytest.param((N, C, H, W, F_, HH, WW, stride, pad), id=case_id)


CONV_CASES = [
    _conv_case(2, 3, 7, 9, 4, HH, WW, stride, pad)
    for (HH, WW), stride, pad in itertools.product([(3, 3), (3, 2)], [1, 2], [0, 1, 2])
] + [
    _conv_case(1, 2, 7, 9, 3, 2, 3, 2, 1),
    _conv_case(1, 1, 5, 5, 2, 1, 1, 1, 0),
    _conv_case(2, 2, 8, 6, 3, 5, 5, 3, 2),
    _conv_case(1, 3, 4, 4, 2, 4, 4, 1, 0),
    _conv_case(2, 3, 6, 10, 5, 2, 4, 3, 1),
]
CONV_IMPLS = {
    "naive": (conv.conv_forward_naive, conv.conv_backward_naive),
    "fast": (FAST.conv_forward_fast, FAST.conv_backward_fast),
}


def conv_data(case, seed=0):
    N, C, H, W, F_, HH, WW, stride, pad = case
    rng = np.random.default_rng(seed + sum(case))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F_, C, HH, WW))
    b = rng.standard_normal(F_)
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    dout = rng.standard_normal((N, F_, H_out, W_out))
    return x, w, b, {"stride": stride, "pad": pad}, dout


def torch_conv(x, w, b, conv_param, dout):
    xt, wt, bt = (to_torch(a, grad=True) for a in (x, w, b))
    out = nnf.conv2d(xt, wt, bt, stride=conv_param["stride"], padding=conv_param["pad"])
    out.backward(to_torch(dout))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("impl", CONV_IMPLS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_backward_vs_torch(case, impl):
    forward, backward = CONV_IMPLS[impl]
    x, w, b, conv_param, dout = conv_data(case)
    out_t, dx_t, dw_t, db_t = torch_conv(x, w, b, conv_param, dout)
    out, cache = forward(x, w, b, conv_param)
    assert_close(out, out_t)
    dx, dw, db = backward(dout, cache)
    assert_close(dx, dx_t)
    assert_close(dw, dw_t)
    assert_close(db, db_t)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_fast_matches_naive(case):
    x, w, b, conv_param, dout = conv_data(case, seed=100)
    out_n, cache_n = conv.conv_forward_naive(x, w, b, conv_param)
    out_f, cache_f = FAST.conv_forward_fast(x, w, b, conv_param)
    assert_close(out_f, out_n, rtol=FAST_RTOL)
    grads_n = conv.conv_backward_naive(dout, cache_n)
    grads_f = FAST.conv_backward_fast(dout, cache_f)
    for g_f, g_n in zip(grads_f, grads_n, strict=True):
        assert_close(g_f, g_n, rtol=FAST_RTOL)


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[-1], CONV_CASES[-5]])
def test_conv_backward_naive_numerical_gradient(case):
    x, w, b, conv_param, dout = conv_data(case, seed=7)
    _, cache = conv.conv_forward_naive(x, w, b, conv_param)
    dx, dw, db = conv.conv_backward_naive(dout, cache)

    def objective(x_, w_, b_):
        return np.sum(conv.conv_forward_naive(x_, w_, b_, conv_param)[0] * dout)

    # The objective is linear in each of x, w and b, so centred differences
    # have no truncation error; only rounding (~1e-16 * |f| / h) remains.
    h = 1e-3
    assert_close(dx, numerical_gradient(lambda v: objective(v, w, b), x, h), 1e-8)
    assert_close(dw, numerical_gradient(lambda v: objective(x, v, b), w, h), 1e-8)
    assert_close(db, numerical_gradient(lambda v: objective(x, w, v), b, h), 1e-8)


# -------------------------------------------------------------------- max pool
def _pool_case(N, C, H, W, ph, pw, stride):
    return pytest.param((N, C, H, W, ph, pw, stride), id=f"N{N}-C{C}-{H}x{W}-pool{ph}x{pw}-s{stride}")


POOL_CASES = [
    _pool_case(2, 3, 7, 9, 3, 3, 2),  # overlapping windows
    _pool_case(2, 3, 7, 9, 2, 3, 1),  # overlapping, non-square window
    _pool_case(1, 2, 8, 6, 2, 2, 2),  # the classic non-overlapping case
    _pool_case(1, 1, 9, 7, 3, 2, 2),
    _pool_case(2, 2, 6, 6, 1, 1, 1),
    _pool_case(1, 3, 4, 5, 4, 5, 1),  # global pooling
    _pool_case(2, 2, 10, 8, 4, 3, 3),  # leftover rows / columns unused
    _pool_case(2, 3, 9, 11, 2, 2, 3),  # gaps between windows (stride > pool), leftovers
    _pool_case(2, 2, 9, 7, 2, 2, 2),  # tiling windows, leftover row and column
]
POOL_IMPLS = {
    "naive": (conv.max_pool_forward_naive, conv.max_pool_backward_naive),
    "fast": (FAST.max_pool_forward_fast, FAST.max_pool_backward_fast),
}


def pool_data(case, seed=0):
    N, C, H, W, ph, pw, stride = case
    rng = np.random.default_rng(seed + sum(case))
    x = rng.standard_normal((N, C, H, W))  # continuous values: no ties
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    dout = rng.standard_normal((N, C, 1 + (H - ph) // stride, 1 + (W - pw) // stride))
    return x, pool_param, dout


@pytest.mark.parametrize("impl", POOL_IMPLS)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_vs_torch(case, impl):
    forward, backward = POOL_IMPLS[impl]
    x, pool_param, dout = pool_data(case)
    xt = to_torch(x, grad=True)
    out_t = nnf.max_pool2d(xt, (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"])
    out_t.backward(to_torch(dout))
    out, cache = forward(x, pool_param)
    assert_close(out, out_t.detach().numpy())
    assert_close(backward(dout, cache), xt.grad.numpy())


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_fast_matches_naive(case):
    x, pool_param, dout = pool_data(case, seed=50)
    out_n, cache_n = conv.max_pool_forward_naive(x, pool_param)
    out_f, cache_f = FAST.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_f, out_n)
    # Same routing and the same order of accumulation: bit-identical.
    dx_n = conv.max_pool_backward_naive(dout, cache_n)
    np.testing.assert_array_equal(FAST.max_pool_backward_fast(dout, cache_f), dx_n)


@pytest.mark.parametrize("impl", POOL_IMPLS)
def test_max_pool_accumulates_overlapping_windows(impl):
    forward, backward = POOL_IMPLS[impl]
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0  # the maximum of all nine 3x3 stride-1 windows
    dout = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    _, cache = forward(x, {"pool_height": 3, "pool_width": 3, "stride": 1})
    expected = np.zeros_like(x)
    expected[0, 0, 2, 2] = dout.sum()
    np.testing.assert_array_equal(backward(dout, cache), expected)


@pytest.mark.parametrize("impl", POOL_IMPLS)
def test_max_pool_tie_goes_to_first_maximum_in_row_major_order(impl):
    forward, backward = POOL_IMPLS[impl]
    x = np.array([[[[0.0, 5.0, 5.0], [5.0, 5.0, 1.0], [2.0, 2.0, 2.0]]]])
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    out, cache = forward(x, pool_param)
    np.testing.assert_array_equal(out, [[[[5.0, 5.0], [5.0, 5.0]]]])
    dout = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    # window (0,0) -> x[0,1]; (0,1) -> x[0,1]; (1,0) -> x[1,0]; (1,1) -> x[1,1]
    expected = np.array([[[[0.0, 11.0, 0.0], [100.0, 1000.0, 0.0], [0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(backward(dout, cache), expected)


@pytest.mark.parametrize(
    "pool_param",
    [
        {"pool_height": 3, "pool_width": 2, "stride": 2},  # overlapping rows: argmax routing
        {"pool_height": 2, "pool_width": 2, "stride": 2},  # tiling: masks see the ties, fall back
        {"pool_height": 2, "pool_width": 1, "stride": 3},  # gaps between windows
    ],
    ids=["overlap", "tiles", "gaps"],
)
def test_max_pool_fast_matches_naive_with_many_ties(pool_param):
    rng = np.random.default_rng(9)
    x = rng.integers(0, 3, size=(2, 3, 9, 8)).astype(np.float64)
    out_n, cache_n = conv.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out_n.shape)
    out_f, cache_f = FAST.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_f, out_n)
    np.testing.assert_array_equal(
        FAST.max_pool_backward_fast(dout, cache_f),
        conv.max_pool_backward_naive(dout, cache_n),
    )


@pytest.mark.parametrize("where", [(0, 0, 0, 1), (1, 2, 5, 4)])
def test_max_pool_fast_routes_nan_like_naive(where):
    """A NaN is its window's maximum (np.argmax picks the first NaN): same in both."""
    x, pool_param, dout = pool_data((2, 3, 8, 8, 2, 2, 2), seed=7)
    x[where] = np.nan
    x[0, 1, 0, :2] = 9.0  # one window with two maxima: its extra hit offsets the NaN window's
    out_n, cache_n = conv.max_pool_forward_naive(x, pool_param)
    out_f, cache_f = FAST.max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_f, out_n)
    np.testing.assert_array_equal(
        FAST.max_pool_backward_fast(dout, cache_f), conv.max_pool_backward_naive(dout, cache_n)
    )


def test_max_pool_fast_keeps_zeros_off_the_maxima_for_an_infinite_upstream_gradient():
    """inf * 0 would be NaN: a non-finite dout must not leak into the non-maximal pixels."""
    x, pool_param, dout = pool_data((2, 3, 8, 8, 2, 2, 2), seed=11)
    dout[0, 0, 0, 0], dout[1, 2, 3, 3] = np.inf, -np.inf
    dx = FAST.max_pool_backward_fast(dout, FAST.max_pool_forward_fast(x, pool_param)[1])
    np.testing.assert_array_equal(
        dx, conv.max_pool_backward_naive(dout, conv.max_pool_forward_naive(x, pool_param)[1])
    )
    assert not np.isnan(dx).any()


@pytest.mark.parametrize("impl", POOL_IMPLS)
def test_max_pool_backward_numerical_gradient(impl):
    forward, backward = POOL_IMPLS[impl]
    x, pool_param, dout = pool_data((1, 2, 7, 9, 3, 3, 2), seed=3)
    dx = backward(dout, forward(x, pool_param)[1])
    # Piecewise linear and h far below the gaps between values: exact slopes.
    dx_num = numerical_gradient(lambda v: np.sum(forward(v, pool_param)[0] * dout), x, h=1e-6)
    assert_close(dx, dx_num, rtol=1e-8)


OFFSET_LOOPS = {
    "conv_backward_fast": ["range(HH)", "range(WW)"],  # the col2im scatter
    "_offsets": ["range(pool_param['pool_height'])", "range(pool_param['pool_width'])"],
    "_largest": ["views[1:]"],
    "_masked": ["zip(sources, targets, strict=True)"],
}
"""The only loops of the fast layers: over kernel / window offsets (one whole-array
operation per offset), never over images, channels or positions."""


def test_fast_layers_have_no_loops_except_over_kernel_offsets():
    tree = ast.parse((ROOT / "solutions/_fast_conv.py").read_text())
    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        loops = [n for n in ast.walk(func) if isinstance(n, (ast.For, ast.While, ast.comprehension))]
        assert [ast.unparse(n.iter) for n in loops] == OFFSET_LOOPS.get(func.name, []), func.name


# ----------------------------------------------------------------------- stubs
def public_functions(module):
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.mark.parametrize("name", MODULES)
def test_solution_markers_are_well_formed(name):
    lines = (ROOT / f"solutions/{name}.py").read_text().splitlines()
    markers = [ln.strip() for ln in lines if "### BEGIN SOLUTION" in ln or "### END SOLUTION" in ln]
    assert markers, "no solution region"
    assert markers == ["### BEGIN SOLUTION", "### END SOLUTION"] * (len(markers) // 2)
    assert all("SOLUTION" not in ln for ln in (ROOT / "solutions/_fast_conv.py").read_text().splitlines())


STUB_FUNCTIONS = [
    pytest.param(module, func, id=f"{module}.{func}")
    for module in MODULES
    for func in public_functions(SOL[module])
]


@pytest.mark.parametrize("name", MODULES)
def test_stub_defines_the_same_functions(name):
    assert public_functions(STUB[name]).keys() == public_functions(SOL[name]).keys()
    assert STUB[name].__doc__ == SOL[name].__doc__


@pytest.mark.parametrize(("module", "func"), STUB_FUNCTIONS)
def test_stub_signature_and_docstring_match(module, func):
    solution, stub = getattr(SOL[module], func), getattr(STUB[module], func)
    assert inspect.signature(stub) == inspect.signature(solution)
    assert stub.__doc__ == solution.__doc__
    assert stub.__doc__ and "Parameters\n    ----------" in stub.__doc__
    assert "Returns\n    -------" in stub.__doc__


def _valid_arguments(module, func):
    """Valid inputs for each public function (the stubs must still raise)."""
    rng = np.random.default_rng(0)
    W, X, y = softmax_data(4, 3, 2, seed=0)
    x = rng.standard_normal((1, 2, 5, 5))
    w, b = rng.standard_normal((2, 2, 3, 3)), np.zeros(2)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    arguments = {
        "softmax_loss_naive": (W, X, y, 0.1),
        "softmax_loss_vectorized": (W, X, y, 0.1),
        "softmax_loss": (X, y),
        "sgd_momentum": (W, W.copy(), None),
        "rmsprop": (W, W.copy(), None),
        "adam": (W, W.copy(), None),
        "conv_forward_naive": (x, w, b, conv_param),
        "conv_backward_naive": (np.ones((1, 2, 5, 5)), (x, w, b, conv_param)),
        "max_pool_forward_naive": (x, pool_param),
        "max_pool_backward_naive": (np.ones((1, 2, 4, 4)), (x, pool_param)),
    }
    return arguments[func]


@pytest.mark.parametrize(("module", "func"), STUB_FUNCTIONS)
def test_stub_raises_not_implemented(module, func):
    args = _valid_arguments(module, func)
    getattr(SOL[module], func)(*args)  # the arguments are valid for the solution
    with pytest.raises(NotImplementedError):
        getattr(STUB[module], func)(*_valid_arguments(module, func))
