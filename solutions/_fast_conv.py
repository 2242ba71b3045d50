"""Fast reference convolution and max-pooling layers (grader-internal).

This module is never released to students. It provides loop-free versions of
the layers in ``solutions/conv.py`` with the same signatures (plus a
keyword-only ``threads``), return values, shape contracts and conventions
(cross-correlation, zero padding, max-pool gradient accumulated over
overlapping windows, ties routed to the first maximum in row-major window
order). Only the max-pool cache differs (it also holds the output): it is
meant to be passed back to the backward function of this module, not to the
naive one.

The convolution is an im2col: the windows of the padded input, read through an
``as_strided`` view, are copied into an array of shape
(n, C * HH * WW + 1, H' * W') per chunk of n images, whose last row is all
ones, so that forward (bias included), ``dw`` with ``db``, and ``dx`` are each
one (batched) matrix product, and the forward output comes out directly in the
(N, F, H', W') layout. The backward pass copies the windows again rather than
keeping the whole batch's matrices from the forward pass (fresh memory costs
page faults, a chunk's copy stays in cache). Max pooling takes the maximum of
strided views, one per window offset; its backward pass, when the windows
tile the input (the common 2x2/2 case), compares the input with the window
maxima repeated over their windows, with no argmax; other windows go through
``np.argmax`` and ``np.bincount``.

Both layers split the batch into chunks of images of about ``CHUNK_VALUES``
values (``POOL_CHUNK_VALUES`` for pooling), shared out among ``threads``
threads, with NumPy's BLAS held to one thread meanwhile: NumPy's elementwise
work (the im2col copy, the col2im sums, the masks) runs on one thread per
call, so the chunks are what spreads it over the cores; the per-image matrix
products gain more from running side by side than from splitting each small
product; and a chunk's arrays stay in cache between the passes over them.
``benchmarks/bench_softmax_conv.py`` times both layers against torch on the
same thread count.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import numpy as np
import threadpoolctl
from numpy.lib.stride_tricks import as_strided

THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
"""Default ``threads`` of the layers: the cores this process may run on, the
count NumPy's BLAS and torch use by default, so that the layers are compared
with torch on equal terms and use the grader's cores as its BLAS does."""

CHUNK_VALUES = 1 << 17
"""Values (1 MiB of float64) of a chunk's im2col matrix or pooling input: small
enough that a chunk's arrays stay in a core's cache between the several passes
made over them (about a fifth less CPU time than whole-batch passes at the
benchmark's sizes), large enough that handing a chunk to a thread costs little
beside its work. A batch smaller than this is one chunk,
run on the calling thread (the grader's hidden cases all are)."""

POOL_CHUNK_VALUES = 1 << 18
"""Values (2 MiB of float64) of a chunk's pooling input. Pooling makes several
cheap passes per chunk, and each NumPy call hands Python's lock back and forth
between the threads: at the benchmark's sizes, chunks twice the size of
``CHUNK_VALUES`` take a fifth less time on 2 threads (a quarter of
``CHUNK_VALUES`` take twice as long), more than the cache misses they cost."""


def _chunks(count: int, values_per_item: int, values_per_chunk: int) -> list[slice]:
    """Split ``range(count)`` into contiguous chunks of about ``values_per_chunk`` values.

    Parameters
    ----------
    count : int
        Number of items (images).
    values_per_item : int
        Values one item brings to the largest array of the work.
    values_per_chunk : int
        Values wanted in a chunk (``CHUNK_VALUES`` or ``POOL_CHUNK_VALUES``).

    Returns
    -------
    chunks : list of slice
        At least one, of nearly equal sizes, in order; each of at least
        ``values_per_chunk`` values when there are several.
    """
    parts = max(1, min(count, count * values_per_item // values_per_chunk))
    bounds = np.linspace(0, count, parts + 1).astype(int)
    return list(map(slice, bounds[:-1], bounds[1:]))


@cache
def _blas() -> threadpoolctl.ThreadpoolController:
    """The BLAS libraries loaded in this process (found once: the search takes milliseconds)."""
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


@cache
def _executor(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads, kept for the next call (starting threads takes time)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fast_conv")


# A forked child has none of the pools' threads: it would wait for them forever.
os.register_at_fork(after_in_child=_executor.cache_clear)


def _run(task: Callable[[slice], Any], chunks: list[slice], threads: int) -> list[Any]:
    """Return ``[task(chunk) for chunk in chunks]``, the chunks shared out among ``threads`` threads.

    A single chunk runs on the calling thread, BLAS untouched. Several run on
    up to ``threads`` threads of `_executor` (on the calling thread for
    ``threads=1``), each taking the next chunk when done with one, with BLAS
    held to one thread until all are done, so that the threads share the cores
    instead of each starting BLAS threads of its own.
    """
    if len(chunks) == 1:
        return [task(chunks[0])]
    workers = min(threads, len(chunks))
    with _blas().limit(limits=1):
        if workers == 1:
            return list(map(task, chunks))
        return list(_executor(workers).map(task, chunks))


def _window_view(
    x: np.ndarray,
    height: int,
    width: int,
    stride: int,
    out_shape: tuple[int, int],
) -> np.ndarray:
    """Return the view of all the windows of an image batch, kernel axes first.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data (already padded if padding is wanted).
    height, width : int
        Window size.
    stride : int
        Distance between adjacent windows.
    out_shape : (int, int)
        ``(H', W')``, the number of window positions along H and W.

    Returns
    -------
    windows : ndarray of shape (N, C, height, width, H', W')
        Element ``[n, c, k, l, i, j]`` is ``x[n, c, i * stride + k, j * stride + l]``.
    """
    sn, sc, sh, sw = x.strides
    shape = (*x.shape[:2], height, width, *out_shape)
    strides = (sn, sc, sh, sw, sh * stride, sw * stride)
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def _columns(
    x: np.ndarray, kernel: tuple[int, int], conv_param: dict, out_shape: tuple[int, int]
) -> np.ndarray:
    """Copy the windows of the zero-padded images into their im2col matrices, with a row of ones.

    Parameters
    ----------
    x : ndarray of shape (n, C, H, W)
        Images (a chunk of the batch).
    kernel : (int, int)
        ``(HH, WW)``, the filter size.
    conv_param : dict
        ``'stride'`` and ``'pad'`` (int).
    out_shape : (int, int)
        ``(H', W')``, the number of filter positions along H and W.

    Returns
    -------
    cols : ndarray of shape (n, C * HH * WW + 1, H' * W')
        Row ``(c, k, l)`` of image ``m`` holds ``x_pad[m, c, i * stride + k, j * stride + l]``
        for every output position ``(i, j)`` in row-major order; the last row is all ones,
        the factor of the bias.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, C, H, W = x.shape
    rows = C * kernel[0] * kernel[1]
    x_pad = np.zeros((n, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    x_pad[:, :, pad : pad + H, pad : pad + W] = x
    windows = _window_view(x_pad, *kernel, stride, out_shape)
    cols = np.empty((n, rows + 1, out_shape[0] * out_shape[1]), dtype=x.dtype)
    np.copyto(cols[:, :rows].reshape(windows.shape), windows)
    cols[:, rows] = 1
    return cols


def _geometry(x: np.ndarray, w: np.ndarray, conv_param: dict) -> tuple[tuple[int, int], int]:
    """``((H', W'), values)``: the output size and the values of one image's im2col matrix."""
    _, C, H, W = x.shape
    _, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    out_shape = (1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride)
    return out_shape, (C * HH * WW + 1) * out_shape[0] * out_shape[1]


def conv_forward_fast(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict, *, threads: int = THREADS
) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a convolutional layer without loops.

    Each chunk of images is copied into its im2col matrix (`_columns`) and
    multiplied by the filters, bias included: one GEMM per image.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    w : ndarray of shape (F, C, HH, WW)
        Filter weights.
    b : ndarray of shape (F,)
        Biases, one per filter.
    conv_param : dict
        ``'stride'`` and ``'pad'`` (int), as in ``conv_forward_naive``.
    threads : int, default THREADS
        Most threads to use (for chunks of images, see `_run`).

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
        Output data, ``H' = 1 + (H + 2 * pad - HH) // stride`` and
        ``W' = 1 + (W + 2 * pad - WW) // stride``.
    cache : tuple
        ``(x, w, b, conv_param)``, as ``conv_forward_naive``'s: the backward
        pass copies the im2col matrices again, a chunk at a time, rather than
        keeping them all in memory.
    """
    N, F = x.shape[0], w.shape[0]
    out_shape, values = _geometry(x, w, conv_param)
    weights = np.concatenate((w.reshape(F, -1), b[:, None]), axis=1)  # bias times the row of ones
    out = np.empty((N, F, out_shape[0] * out_shape[1]), dtype=np.result_type(x, w, b))

    def task(chunk: slice) -> None:
        cols = _columns(x[chunk], w.shape[2:], conv_param, out_shape)
        # (F, C*HH*WW+1) @ (n, C*HH*WW+1, H'*W') -> (n, F, H'*W'): no transpose
        np.matmul(weights, cols, out=out[chunk])

    _run(task, _chunks(N, values, CHUNK_VALUES), threads)
    return out.reshape(N, F, *out_shape), (x, w, b, conv_param)


def _overlap(offset: int, pad: int, stride: int, size: int, out_size: int) -> tuple[slice, slice]:
    """Where the windows' pixel ``offset`` lands inside the unpadded input, along one axis.

    Window ``i`` covers input position ``i * stride + offset - pad``.

    Returns
    -------
    inside : slice
        Those positions that fall inside ``range(size)`` (not in the padding).
    windows : slice
        The windows ``i`` (in ``range(out_size)``) they belong to, same length.
    """
    first = max(0, -((offset - pad) // stride))  # smallest i with i * stride + offset - pad >= 0
    stop = min(out_size, (size - 1 + pad - offset) // stride + 1)
    if stop <= first:
        return slice(0, 0), slice(0, 0)
    start = first * stride + offset - pad
    return slice(start, start + (stop - 1 - first) * stride + 1, stride), slice(first, stop)


def conv_backward_fast(
    dout: np.ndarray, cache: tuple, *, threads: int = THREADS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the backward pass of a convolutional layer.

    Each chunk of images is copied into its im2col matrix again
    (`_columns`); ``dw`` and ``db`` come out of one batched matrix product
    with it (``db`` from its row of ones), the gradient of the im2col matrix
    out of another. That gradient is then added back into the input
    (col2im) by a loop over the HH * WW kernel offsets ``(kh, kw)`` only: for
    a fixed offset, the pixels ``(i * stride + kh - pad, j * stride + kw - pad)``
    touched by the different windows are all distinct, so each iteration is
    one plain vectorized ``+=`` on a strided slice (the part inside the
    unpadded input, `_overlap`), while overlapping windows (stride < kernel
    size) are accumulated across iterations.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : tuple
        As returned by ``conv_forward_fast``.
    threads : int, default THREADS
        Most threads to use (for chunks of images, see `_run`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    out_shape, values = _geometry(x, w, conv_param)
    rows = C * HH * WW
    dout_cols = dout.reshape(N, F, H_out * W_out)
    w_cols = w.reshape(F, rows).T
    per_image = np.empty((N, F, rows + 1), dtype=np.result_type(dout, x))
    dx = np.zeros(x.shape, dtype=np.result_type(dout, w))

    def task(chunk: slice) -> None:
        cols = _columns(x[chunk], (HH, WW), conv_param, out_shape)
        # (n, F, H'*W') @ (n, H'*W', C*HH*WW+1): dw and db of each image
        np.matmul(dout_cols[chunk], cols.transpose(0, 2, 1), out=per_image[chunk])
        # (C*HH*WW, F) @ (n, F, H'*W') -> (n, C, HH, WW, H', W')
        dcols = np.matmul(w_cols, dout_cols[chunk]).reshape(-1, C, HH, WW, H_out, W_out)
        for kh in range(HH):
            rows_in, rows_out = _overlap(kh, pad, stride, H, H_out)
            for kw in range(WW):
                cols_in, cols_out = _overlap(kw, pad, stride, W, W_out)
                dx[chunk, :, rows_in, cols_in] += dcols[:, :, kh, kw, rows_out, cols_out]

    _run(task, _chunks(N, values, CHUNK_VALUES), threads)
    total = per_image.sum(axis=0)
    return dx, total[:, :rows].reshape(w.shape), total[:, rows]


def _offsets(x: np.ndarray, pool_param: dict, out_shape: tuple[int, int]) -> list[np.ndarray]:
    """Strided views of ``x``, one per window offset ``(kh, kw)`` in row-major order.

    View ``kh * pool_width + kw`` has shape (N, C, H', W'); its element
    ``[n, c, i, j]`` is ``x[n, c, i * stride + kh, j * stride + kw]``. For a
    fixed offset the windows touch distinct pixels, so a whole-array operation
    on one view handles one pixel of every window at once.
    """
    stride = pool_param["stride"]
    row_span, col_span = stride * (out_shape[0] - 1) + 1, stride * (out_shape[1] - 1) + 1
    return [
        x[:, :, kh : kh + row_span : stride, kw : kw + col_span : stride]
        for kh in range(pool_param["pool_height"])
        for kw in range(pool_param["pool_width"])
    ]


def _largest(views: list[np.ndarray], out: np.ndarray) -> None:
    """Write the elementwise maximum of the offset views, the max over each window, into ``out``.

    One ``np.maximum`` per window offset (pool_height * pool_width of them),
    each over all the windows; NaN propagates as with ``np.max``.
    """
    np.copyto(out, views[0])
    for view in views[1:]:
        np.maximum(out, view, out=out)


def max_pool_forward_fast(
    x: np.ndarray, pool_param: dict, *, threads: int = THREADS
) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a max-pooling layer without loops over the data.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'`` (int), as in
        ``max_pool_forward_naive``. No padding.
    threads : int, default THREADS
        Most threads to use (for chunks of images, see `_run`).

    Returns
    -------
    out : ndarray of shape (N, C, H', W')
        Output data, ``H' = 1 + (H - pool_height) // stride`` and
        ``W' = 1 + (W - pool_width) // stride``.
    cache : tuple
        ``(x, pool_param, out)``.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.empty((N, C, 1 + (H - ph) // stride, 1 + (W - pw) // stride), dtype=x.dtype)

    def task(chunk: slice) -> None:
        _largest(_offsets(x[chunk], pool_param, out.shape[2:]), out[chunk])

    _run(task, _chunks(N, x[0].size, POOL_CHUNK_VALUES), threads)
    return out, (x, pool_param, out)


def max_pool_backward_fast(dout: np.ndarray, cache: tuple, *, threads: int = THREADS) -> np.ndarray:
    """Compute the backward pass of a max-pooling layer without loops over the data.

    Each window's upstream gradient goes to its maximum, the first one in
    row-major window order when the maximum is repeated (as
    ``max_pool_backward_naive`` does with ``np.argmax``); a NaN counts as the
    maximum of its window, as for ``np.argmax``. When the windows tile the
    input (square windows, stride equal to their side, the common 2x2/2 case)
    and every window holds a single maximum, a comparison mask routes the
    gradient (``_masked``); otherwise ``_routed`` finds each window's argmax.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient.
    cache : tuple
        ``(x, pool_param, out)`` as returned by ``max_pool_forward_fast``.
    threads : int, default THREADS
        Most threads the comparison masks use (for chunks of images, see `_run`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    x, pool_param, out = cache
    stride = pool_param["stride"]
    if stride == pool_param["pool_height"] == pool_param["pool_width"]:
        dx = _masked(dout, x, pool_param, out, threads)
        if dx is not None:
            return dx
    return _routed(dout, x, pool_param)


def _upsampled(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """Each value of ``a`` repeated over a block of ``height`` x ``width``.

    Parameters
    ----------
    a : ndarray of shape (n, C, h, w)
    height, width : int
        Block size.

    Returns
    -------
    blocks : ndarray of shape (n, C, height * h, width * w)
        ``blocks[n, c, i, j] = a[n, c, i // height, j // width]``, C-contiguous.
    """
    n, C, h, w = a.shape
    wide = np.empty((n, C, h, w, width), dtype=a.dtype)
    for k in range(width):  # a few strided copies: np.repeat on the last axis is twice as slow
        wide[..., k] = a
    return np.repeat(wide.reshape(n, C, h, w * width), height, axis=2)


def _masked(
    dout: np.ndarray, x: np.ndarray, pool_param: dict, out: np.ndarray, threads: int
) -> np.ndarray | None:
    """Max-pool gradient of windows that tile ``x`` by comparison with the maximum.

    The windows' maxima and upstream gradients are repeated over their windows
    (`_upsampled`), so that the pixels equal to their window's maximum, which
    get the gradient, are found by whole-array passes over the tiled part of
    ``x``, read in order (strided views of every other pixel are about three
    times slower to compare). Pixels of the right and bottom edges that no
    window covers stay 0. Returns None when some window holds its maximum more
    than once or is NaN (the mask then hits more or fewer pixels than there
    are windows): the tie rule needs ``_routed``.
    """
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    N, _, H_out, W_out = out.shape
    rows, cols = ph * H_out, pw * W_out
    # Without edges every pixel is written below: no zero-filling needed.
    fill = np.empty if x.shape[2:] == (rows, cols) else np.zeros
    dx = fill(x.shape, dtype=np.result_type(dout, x))

    def task(chunk: slice) -> bool:
        """Route the chunk's gradient; say whether each of its windows had one maximum."""
        mask = np.equal(x[chunk, :, :rows, :cols], _upsampled(out[chunk], ph, pw))
        upstream = _upsampled(dout[chunk], ph, pw)
        target = dx[chunk, :, :rows, :cols]
        if np.isfinite(dout[chunk]).all():  # then upstream * mask is 0 off the maxima
            np.multiply(upstream, mask, out=target)
        else:
            target[...] = np.where(mask, upstream, 0)  # inf * 0 would be NaN
        # Without NaN every window has a pixel equal to its maximum: one hit each, or a tie.
        return np.count_nonzero(mask) == out[chunk].size and not np.isnan(out[chunk]).any()

    return dx if all(_run(task, _chunks(N, x[0].size, POOL_CHUNK_VALUES), threads)) else None


def _routed(dout: np.ndarray, x: np.ndarray, pool_param: dict) -> np.ndarray:
    """Max-pool gradient for any windows: argmax of each window, then ``np.bincount``.

    The argmax of every window is found with ``np.argmax`` on the flattened
    window (so ties go to the first maximum in row-major window order). The
    upstream gradients are then summed into their target pixels with
    ``np.bincount``, which accumulates repeated indices: a pixel that is the
    maximum of several overlapping windows receives the sum of their
    gradients, added in the same (n, c, i, j) order as the naive loops.
    """
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    _, _, H_out, W_out = dout.shape
    windows = _window_view(x, ph, pw, stride, (H_out, W_out))  # (N, C, ph, pw, H', W')
    flat = windows.reshape(N, C, ph * pw, H_out, W_out)
    row_off, col_off = np.divmod(np.argmax(flat, axis=2), pw)
    rows = np.arange(H_out)[:, None] * stride + row_off
    cols = np.arange(W_out)[None, :] * stride + col_off
    planes = np.arange(N * C).reshape(N, C, 1, 1)
    flat_index = (planes * H + rows) * W + cols
    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=N * C * H * W)
    return dx.reshape(x.shape).astype(np.result_type(dout, x), copy=False)
