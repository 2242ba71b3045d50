"""The fast conv / max-pool layers on several threads give what they give on one, and what torch gives.

``solutions/_fast_conv.py`` splits a large enough batch into chunks of images
shared out among ``threads`` threads, with BLAS held to one thread meanwhile.
Here the chunks are made small (``CHUNK_VALUES``, ``POOL_CHUNK_VALUES``) so
that modest inputs are split into more chunks than threads (each test first
asserts it), of unequal sizes, and every path of the layers is taken: conv
with padding and strides, max-pool with tiling windows, gaps, leftovers,
overlaps, ties, NaN and an infinite upstream gradient.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest
import threadpoolctl
import torch.nn.functional as nnf

from tests.exercises.oracles import FAST_RTOL, assert_close, solution, to_torch, torch_conv

conv, FAST = solution("conv"), solution("_fast_conv")

THREADS = 3
"""More threads than this machine's two cores."""


def _split(monkeypatch, count: int, values_per_item: int) -> None:
    """Make chunks of about two images and assert that such a batch gets more chunks than THREADS.

    The chunks must cover the batch in order and not all be of the same size.
    """
    for name in ("CHUNK_VALUES", "POOL_CHUNK_VALUES"):
        monkeypatch.setattr(FAST, name, 2 * values_per_item + 1)
    chunks = FAST._chunks(count, values_per_item, FAST.CHUNK_VALUES)
    assert len(chunks) > THREADS
    assert len({chunk.stop - chunk.start for chunk in chunks}) > 1
    assert [i for chunk in chunks for i in range(count)[chunk]] == list(range(count))


@pytest.mark.parametrize(
    "stride, pad, kernel",
    [(1, 1, (3, 3)), (2, 2, (3, 2)), (3, 0, (2, 4))],
    ids=["s1-p1-3x3", "s2-p2-3x2", "s3-p0-2x4"],
)
def test_conv_on_threads_matches_torch_and_one_thread(monkeypatch, stride, pad, kernel):
    rng = np.random.default_rng(sum(kernel) + stride + pad)
    x = rng.standard_normal((11, 3, 9, 10))
    w = rng.standard_normal((5, 3, *kernel))
    b = rng.standard_normal(5)
    conv_param = {"stride": stride, "pad": pad}
    positions = (1 + (9 + 2 * pad - kernel[0]) // stride) * (1 + (10 + 2 * pad - kernel[1]) // stride)
    _split(monkeypatch, x.shape[0], (3 * kernel[0] * kernel[1] + 1) * positions)  # im2col values
    out, cache = FAST.conv_forward_fast(x, w, b, conv_param, threads=THREADS)
    dout = rng.standard_normal(out.shape)
    grads = FAST.conv_backward_fast(dout, cache, threads=THREADS)
    for got, expected in zip((out, *grads), torch_conv(x, w, b, conv_param, dout), strict=True):
        assert_close(got, expected)
    out_1, cache_1 = FAST.conv_forward_fast(x, w, b, conv_param, threads=1)
    for got, alone in zip(
        (out, *grads), (out_1, *FAST.conv_backward_fast(dout, cache_1, threads=1)), strict=True
    ):
        assert_close(got, alone, rtol=FAST_RTOL)


POOLS = {
    "tiles": ({"pool_height": 2, "pool_width": 2, "stride": 2}, (12, 12)),
    "tiles-leftovers": ({"pool_height": 3, "pool_width": 3, "stride": 3}, (12, 11)),
    "gaps": ({"pool_height": 2, "pool_width": 1, "stride": 3}, (12, 12)),
    "overlap": ({"pool_height": 3, "pool_width": 3, "stride": 2}, (13, 11)),
}


def _pool_naive(x, pool_param, dout):
    out, cache = conv.max_pool_forward_naive(x, pool_param)
    return out, conv.max_pool_backward_naive(dout, cache)


def _pool_fast(x, pool_param, dout, threads):
    out, cache = FAST.max_pool_forward_fast(x, pool_param, threads=threads)
    return out, FAST.max_pool_backward_fast(dout, cache, threads=threads)


@pytest.mark.parametrize("name", POOLS)
def test_max_pool_on_threads_matches_torch_and_naive(monkeypatch, name):
    pool_param, side = POOLS[name]
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal((11, 6, *side))
    _split(monkeypatch, x.shape[0], x[0].size)
    window = (pool_param["pool_height"], pool_param["pool_width"])
    xt = to_torch(x, grad=True)
    out_t = nnf.max_pool2d(xt, window, pool_param["stride"])
    dout = rng.standard_normal(out_t.shape)
    out_t.backward(to_torch(dout))
    out, dx = _pool_fast(x, pool_param, dout, THREADS)
    assert_close(out, out_t.detach().numpy())
    assert_close(dx, xt.grad.numpy())
    for got, naive in zip((out, dx), _pool_naive(x, pool_param, dout), strict=True):
        np.testing.assert_array_equal(got, naive)


@pytest.mark.parametrize("upstream", ["ties", "nan", "inf"])
def test_max_pool_on_threads_routes_ties_nan_and_inf_like_naive(monkeypatch, upstream):
    """Ties in one chunk only must still send the whole batch to the argmax routing."""
    pool_param = POOLS["tiles"][0]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((11, 6, 12, 12))
    dout = rng.standard_normal((11, 6, 6, 6))
    _split(monkeypatch, x.shape[0], x[0].size)
    if upstream == "ties":
        x[10, 3, 4, :2] = 9.0  # one window, in the last chunk, with two maxima
    elif upstream == "nan":
        x[10, 3, 4, 1] = np.nan
        x[0, 0, 0, :2] = 9.0  # an extra hit in the first chunk offsets the NaN window's missing one
    else:
        dout[10, 5, 5, 5], dout[0, 0, 0, 0] = np.inf, -np.inf
    for got, naive in zip(
        _pool_fast(x, pool_param, dout, THREADS), _pool_naive(x, pool_param, dout), strict=True
    ):
        np.testing.assert_array_equal(got, naive)


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]


def test_blas_threads_are_given_back(monkeypatch):
    x = np.random.default_rng(0).standard_normal((11, 3, 9, 10))
    _split(monkeypatch, x.shape[0], 28 * 9 * 10)  # (C * HH * WW + 1) * H' * W' values per image
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        out, cache = FAST.conv_forward_fast(x, np.ones((5, 3, 3, 3)), np.zeros(5), {"stride": 1, "pad": 1})
        FAST.conv_backward_fast(np.ones_like(out), cache, threads=THREADS)
        assert _blas_threads() == [2] * len(_blas_threads())


FORKED_CHILD_SECONDS = 60
"""Far more than the child's three tasks take, even on a loaded machine."""


def _all_together(parties: int):
    """A task that returns only once ``parties`` threads run it at the same time."""
    barrier = threading.Barrier(parties)
    return lambda chunk: barrier.wait(timeout=FORKED_CHILD_SECONDS) >= 0


def test_a_forked_child_starts_threads_of_its_own():
    """The parent's pool threads do not exist in a fork: the child must not wait for them.

    The tasks wait for one another, so the parent's pool has started all its
    threads before the fork, and the child's chunks run only if the child
    starts threads of its own.
    """
    chunks = [slice(i, i + 1) for i in range(THREADS)]
    assert FAST._run(_all_together(THREADS), chunks, THREADS) == [True] * THREADS
    pid = os.fork()
    if pid == 0:
        os._exit(0 if FAST._run(_all_together(THREADS), chunks, THREADS) == [True] * THREADS else 1)
    deadline = time.monotonic() + FORKED_CHILD_SECONDS
    while (status := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if status[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert status[0] == pid and os.waitstatus_to_exitcode(status[1]) == 0
