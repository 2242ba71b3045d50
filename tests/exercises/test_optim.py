"""The optim exercise: its update rules against ``torch.optim`` (float64, to
``RTOL``), planted bugs, and its stub."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.results import Status
from tests.exercises.oracles import RTOL, assert_stub_raises, rel_error, solution, to_torch
from tests.exercises.planted import Bug, planted_bug_test

optim = solution("optim")

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


# -- planted bugs (tests.exercises.planted) ----------------------------------------
ADAM_STATE = '    config["m"], config["v"], config["t"] = m, v, t\n'

BUGS = {
    "sgd learning rate never applied": Bug(
        "optim",
        'config["momentum"] * config["velocity"] - config["learning_rate"] * dw',
        'config["momentum"] * config["velocity"] - dw',
        "sgd_momentum: one step from a mid-run state",
        "the learning rate is never applied",
        ("rmsprop: one step from a mid-run state", "adam: 10 chained steps"),
    ),
    "sgd velocity never stored": Bug(
        "optim",
        '    config["velocity"] = v\n',
        "",
        "sgd_momentum: 10 chained steps",
        "config['velocity'] never stored back",
        (
            "sgd_momentum: one step from a mid-run state",
            "sgd_momentum: one step from the defaults (config=None)",
        ),
    ),
    "rmsprop square root missing": Bug(
        "optim",
        'dw / (np.sqrt(cache) + config["epsilon"])',
        'dw / (cache + config["epsilon"])',
        "rmsprop: one step from a mid-run state",
        "the square root is missing",
        ("rmsprop: new cache stored in the returned config", "adam: one step from a mid-run state"),
    ),
    "adam epsilon hard-coded": Bug(
        "optim",
        '(np.sqrt(vhat) + config["epsilon"])',
        "(np.sqrt(vhat) + 1e-8)",
        "adam: one step from a mid-run state",
        "config['epsilon'] = 0.0001 is ignored",
        ("adam: one step from the defaults (config=None)", "rmsprop: 10 chained steps"),
    ),
    "rmsprop learning rate hard-coded": Bug(
        "optim",
        'next_w = w - config["learning_rate"] * dw / (np.sqrt(cache)',
        "next_w = w - 1e-2 * dw / (np.sqrt(cache)",
        "rmsprop: 10 chained steps",
        "config['learning_rate'] = 0.02 is ignored",
        ("rmsprop: one step from the defaults (config=None)", "adam: 10 chained steps"),
    ),
    "adam without bias correction": Bug(
        "optim",
        "    mhat = m / (1 - beta1**t)\n    vhat = v / (1 - beta2**t)\n",
        "    mhat = m\n    vhat = v\n",
        "adam: one step from a mid-run state",
        "no bias correction",
        ("adam: new m, v, t stored in the returned config", "rmsprop: 10 chained steps"),
    ),
    "adam t never incremented, mid-run": Bug(
        "optim",
        't = config["t"] + 1',
        't = config["t"]',
        "adam: one step from a mid-run state",
        "t is used before it is incremented",
        ("rmsprop: 10 chained steps",),
    ),
    "adam t never incremented, first step": Bug(
        "optim",
        't = config["t"] + 1',
        't = config["t"]',
        "adam: one step from the defaults (config=None)",
        "the first step uses t = 1",
        ("sgd_momentum: one step from the defaults (config=None)",),
        Status.INVALID_OUTPUT,
    ),
    "adam epsilon inside the square root": Bug(
        "optim",
        '(np.sqrt(vhat) + config["epsilon"])',
        'np.sqrt(vhat + config["epsilon"])',
        "adam: one step from a mid-run state",
        "epsilon is inside the square root",
        ("adam: new m, v, t stored in the returned config",),
    ),
    "adam m and v not written back, chained": Bug(
        "optim",
        ADAM_STATE,
        '    config["t"] = t\n',
        "adam: 10 chained steps",
        "config['m'] and config['v'] never stored back",
        ("adam: one step from a mid-run state", "adam: one step from the defaults (config=None)"),
    ),
    "adam m and v not written back, state": Bug(
        "optim",
        ADAM_STATE,
        '    config["t"] = t\n',
        "adam: new m, v, t stored in the returned config",
        "the new m is not stored back",
        ("adam: one step from a mid-run state",),
    ),
    "adam returns a new dict": Bug(
        "optim",
        ADAM_STATE,
        '    config = {"m": m, "v": v, "t": t}\n',
        "adam: 10 chained steps",
        "a new dict holding only the state",
        ("adam: new m, v, t stored in the returned config", "adam: one step from a mid-run state"),
    ),
}


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


def test_every_issue_hint_is_planted():
    """At least one planted bug per usual bug the issue names (the check's hint or diagnosis)."""
    named = {
        "no bias correction": "adam without bias correction",
        "t never incremented": "adam t never incremented, mid-run",
        "epsilon inside the square root": "adam epsilon inside the square root",
        "m/v not written back": "adam m and v not written back, chained",
        "learning rate never applied": "sgd learning rate never applied",
        "missing square root in RMSProp": "rmsprop square root missing",
    }
    assert set(named.values()) <= set(BUGS)


# -- the stub ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["sgd_momentum", "rmsprop", "adam"])
def test_stub_raises_not_implemented(rule):
    w = np.random.default_rng(0).standard_normal((3, 2))
    assert_stub_raises("optim", rule, (w, w.copy(), None))
