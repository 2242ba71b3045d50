"""Planted bugs in softmax, optim and conv: each loses points in the check that names it.

Each case is a `tests.planted.Bug`: the reference with one realistic bug
planted (one textual mutation), the check that must fail and with which status, words its message
or hint must contain, and checks that must still pass (so that a bug costs
only its own points). A malformed answer (a shape no correct code returns,
NaN where no bug-free code gives one) is ``INVALID_OUTPUT``, a wrong value
``FAILED``.
"""

from __future__ import annotations

import pytest

from autograder.results import Status
from tests.exercises.planted import Bug, assert_loses_points_where_named

VECTORIZED_START = "    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n    rows"
ADAM_STATE = '    config["m"], config["v"], config["t"] = m, v, t\n'
CONV_FORWARD_PARAMS = '### BEGIN SOLUTION\n    stride, pad = conv_param["stride"], conv_param["pad"]'
CONV_BACKWARD_PARAMS = 'conv_param = cache\n    stride, pad = conv_param["stride"], conv_param["pad"]'

BUGS = {
    # -- softmax ---------------------------------------------------------------------------
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
    # -- optim -----------------------------------------------------------------------------
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
    # -- conv ------------------------------------------------------------------------------
    "conv flipped kernel": Bug(
        "conv",
        "out[n, f, i, j] = np.sum(field * w[f]) + b[f]",
        "out[n, f, i, j] = np.sum(field * w[f, :, ::-1, ::-1]) + b[f]",
        "conv forward: stride 1, pad 1",
        "the filter is flipped",
        ("conv backward: stride 1, pad 1", "conv backward: stride 2, pad 2, non-square filters"),
    ),
    "conv dx cropped with [pad:-pad]": Bug(
        "conv",
        "dx = dx_pad[:, :, pad : pad + H, pad : pad + W]",
        "dx = dx_pad[:, :, pad:-pad, pad:-pad]",
        "conv backward: stride 1, pad 0, non-square filters",
        "[pad:-pad], which is empty when pad = 0",
        ("conv backward: stride 1, pad 1", "conv forward: stride 1, pad 0, non-square filters"),
        Status.INVALID_OUTPUT,
    ),
    "conv forward pad hard-coded to 1": Bug(
        "conv",
        CONV_FORWARD_PARAMS,
        CONV_FORWARD_PARAMS.replace('conv_param["pad"]', "1"),
        "conv forward: stride 1, pad 0, non-square filters",
        "pad is hard-coded to 1",
        ("conv forward: stride 1, pad 1", "conv backward: stride 1, pad 0, non-square filters"),
        Status.INVALID_OUTPUT,
    ),
    "conv backward pad hard-coded to 1": Bug(
        "conv",
        CONV_BACKWARD_PARAMS,
        CONV_BACKWARD_PARAMS.replace('conv_param["pad"]', "1"),
        "conv backward: stride 1, pad 0, non-square filters",
        "pad is hard-coded to 1 in backward",
        ("conv backward: stride 1, pad 1", "conv forward: stride 1, pad 0, non-square filters"),
    ),
    "conv stride ignored in backward": Bug(
        "conv",
        "top, left = i * stride, j * stride\n                    rows, cols",
        "top, left = i, j\n                    rows, cols",
        "conv backward: stride 2, pad 1, non-square input",
        "stride is ignored in backward",
        ("conv backward: stride 1, pad 1", "conv forward: stride 2, pad 1, non-square input"),
    ),
    "conv output width computed from H": Bug(
        "conv",
        "W_out = 1 + (W + 2 * pad - WW) // stride",
        "W_out = 1 + (H + 2 * pad - WW) // stride",
        "conv forward: stride 1, pad 1",
        "H where W belongs",
        ("conv backward: stride 1, pad 1", "max-pool forward: 2x2 windows, stride 2"),
        Status.INVALID_OUTPUT,
    ),
    "conv db summed over the wrong axes": Bug(
        "conv",
        "db = np.sum(dout, axis=(0, 2, 3))",
        "db = np.sum(dout, axis=(1, 2, 3))",
        "conv backward: stride 1, pad 1",
        "db is summed over axes (1, 2, 3)",
        ("conv forward: stride 1, pad 1", "max-pool backward: 2x2 windows, stride 2"),
        Status.INVALID_OUTPUT,
    ),
    "max-pool backward assigns instead of accumulating": Bug(
        "conv",
        "dx[n, c, top + a, left + b] += dout[n, c, i, j]",
        "dx[n, c, top + a, left + b] = dout[n, c, i, j]",
        "max-pool backward: 3x3 windows, stride 2 (overlapping)",
        "assigned with = instead of accumulated with +=",
        ("max-pool backward: 2x2 windows, stride 2", "conv backward: stride 1, pad 1"),
    ),
    "max-pool running maximum starts at 0": Bug(
        "conv",
        "out[n, c, i, j] = np.max(window)",
        "out[n, c, i, j] = max(0.0, np.max(window))",
        "max-pool forward: 2x2 windows, stride 2",
        "the running maximum starts at 0",
        ("max-pool backward: 2x2 windows, stride 2",),
    ),
}


@pytest.mark.parametrize("name", list(BUGS))
def test_planted_bug_loses_points_where_named(name, tmp_path):
    assert_loses_points_where_named(BUGS[name], tmp_path)


def test_every_issue_hint_is_planted():
    """At least one planted bug per usual bug the issue names (the check's hint or diagnosis)."""
    named = {
        "max-subtraction": "softmax no max-subtraction",
        "no bias correction": "adam without bias correction",
        "t never incremented": "adam t never incremented, mid-run",
        "epsilon inside the square root": "adam epsilon inside the square root",
        "m/v not written back": "adam m and v not written back, chained",
        "learning rate never applied": "sgd learning rate never applied",
        "missing square root in RMSProp": "rmsprop square root missing",
        "dx cropped with [pad:-pad]": "conv dx cropped with [pad:-pad]",
        "hard-coded pad = 1": "conv forward pad hard-coded to 1",
        "stride ignored in backward": "conv stride ignored in backward",
        "H where W belongs": "conv output width computed from H",
        "= instead of += in max-pool backward": "max-pool backward assigns instead of accumulating",
        "true convolution": "conv flipped kernel",
        "db summed over the wrong axes": "conv db summed over the wrong axes",
    }
    assert set(named.values()) <= set(BUGS)
    assert len(BUGS) >= 12
