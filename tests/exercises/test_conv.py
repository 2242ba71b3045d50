"""The conv exercise: its naive layers (and the grader's fast ones) against
torch autograd and centred differences (float64, to ``RTOL``; fast against
naive to ``FAST_RTOL``), planted bugs, and its stub."""

from __future__ import annotations

import ast
import itertools

import numpy as np
import pytest
import torch.nn.functional as nnf

from autograder.results import Status
from tests.conftest import SOLUTIONS
from tests.exercises.oracles import (
    FAST_RTOL,
    assert_close,
    assert_stub_raises,
    numerical_gradient,
    solution,
    to_torch,
    torch_conv,
)
from tests.exercises.planted import Bug, planted_bug_test

conv, FAST = solution("conv"), solution("_fast_conv")


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
    "_upsampled": ["range(width)"],  # one strided copy per window column
}
"""The only loops of the fast layers: over kernel / window offsets (one whole-array
operation per offset), never over images, channels or positions."""


def test_fast_layers_have_no_loops_except_over_kernel_offsets():
    tree = ast.parse((SOLUTIONS / "_fast_conv.py").read_text())
    for func in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        loops = [n for n in ast.walk(func) if isinstance(n, (ast.For, ast.While, ast.comprehension))]
        assert [ast.unparse(n.iter) for n in loops] == OFFSET_LOOPS.get(func.name, []), func.name


# -- planted bugs (tests.exercises.planted) ----------------------------------------
CONV_FORWARD_PARAMS = '### BEGIN SOLUTION\n    stride, pad = conv_param["stride"], conv_param["pad"]'
CONV_BACKWARD_PARAMS = 'conv_param = cache\n    stride, pad = conv_param["stride"], conv_param["pad"]'

BUGS = {
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


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


def test_every_issue_hint_is_planted():
    """At least one planted bug per usual bug the issue names (the check's hint or diagnosis)."""
    named = {
        "dx cropped with [pad:-pad]": "conv dx cropped with [pad:-pad]",
        "hard-coded pad = 1": "conv forward pad hard-coded to 1",
        "stride ignored in backward": "conv stride ignored in backward",
        "H where W belongs": "conv output width computed from H",
        "= instead of += in max-pool backward": "max-pool backward assigns instead of accumulating",
        "true convolution": "conv flipped kernel",
        "db summed over the wrong axes": "conv db summed over the wrong axes",
    }
    assert set(named.values()) <= set(BUGS)


# -- the stub ----------------------------------------------------------------------------


def test_the_fast_layers_have_no_solution_region():
    """``_fast_conv.py`` stays with the grader: nothing in it is for students to write."""
    assert "SOLUTION" not in (SOLUTIONS / "_fast_conv.py").read_text()


def stub_arguments() -> dict[str, tuple]:
    """Valid arguments of every conv function (the stubs must still raise)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5))
    w, b = rng.standard_normal((2, 2, 3, 3)), np.zeros(2)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    return {
        "conv_forward_naive": (x, w, b, conv_param),
        "conv_backward_naive": (np.ones((1, 2, 5, 5)), (x, w, b, conv_param)),
        "max_pool_forward_naive": (x, pool_param),
        "max_pool_backward_naive": (np.ones((1, 2, 4, 4)), (x, pool_param)),
    }


@pytest.mark.parametrize("function", list(stub_arguments()))
def test_stub_raises_not_implemented(function):
    assert_stub_raises("conv", function, stub_arguments()[function])
