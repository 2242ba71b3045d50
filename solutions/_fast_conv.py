"""Fast reference convolution and max-pooling layers (grader-internal).

This module is never released to students. It provides loop-free versions of
the layers in ``solutions/conv.py`` with the same signatures, return values,
shape contracts and conventions (cross-correlation, zero padding, max-pool
gradient accumulated over overlapping windows, ties routed to the first
maximum in row-major window order). Only the caches differ: they are meant to
be passed back to the backward functions of this module, not to the naive
ones.

Both layers work on views built with
``numpy.lib.stride_tricks.sliding_window_view``: for an input of shape
(N, C, H, W), ``_windows`` returns a read-only view of shape
(N, C, H', W', HH, WW) whose element ``[n, c, i, j, k, l]`` is
``x[n, c, i * stride + k, j * stride + l]``. The convolution contracts that
view with the filters through ``np.tensordot`` (an im2col followed by a
matrix product), so the heavy work is a single GEMM.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _windows(x: np.ndarray, height: int, width: int, stride: int) -> np.ndarray:
    """Return the strided view of all the windows of an image batch.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data (already padded if padding is wanted).
    height, width : int
        Window size.
    stride : int
        Distance between adjacent windows.

    Returns
    -------
    windows : ndarray of shape (N, C, H', W', height, width)
        Read-only view with ``H' = 1 + (H - height) // stride`` and
        ``W' = 1 + (W - width) // stride``.
    """
    view = sliding_window_view(x, (height, width), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def _pad(x: np.ndarray, pad: int) -> np.ndarray:
    """Zero-pad an ndarray of shape (N, C, H, W) along H and W.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    pad : int
        Number of zero pixels added on each border.

    Returns
    -------
    x_pad : ndarray of shape (N, C, H + 2 * pad, W + 2 * pad)
        Padded copy of ``x``.
    """
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")


def conv_forward_fast(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict
) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a convolutional layer without loops.

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

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
        Output data, ``H' = 1 + (H + 2 * pad - HH) // stride`` and
        ``W' = 1 + (W + 2 * pad - WW) // stride``.
    cache : tuple
        ``(x, w, b, conv_param, windows)`` where ``windows`` is the view of
        shape (N, C, H', W', HH, WW) of the padded input.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, HH, WW = w.shape
    windows = _windows(_pad(x, pad), HH, WW, stride)
    # (N, C, H', W', HH, WW) x (F, C, HH, WW) -> (N, H', W', F)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
    out = np.ascontiguousarray(out.transpose(0, 3, 1, 2)) + b[None, :, None, None]
    cache = (x, w, b, conv_param, windows)
    return out, cache


def conv_backward_fast(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the backward pass of a convolutional layer.

    ``db`` and ``dw`` are single reductions / a single GEMM. For ``dx`` the
    gradient of every window position is first computed with one GEMM, then
    added back into the padded input. That scatter loops over the HH * WW
    kernel offsets ``(kh, kw)`` only: for a fixed offset, the pixels
    ``(i * stride + kh, j * stride + kw)`` touched by the different windows are
    all distinct, so each iteration is one plain vectorized ``+=`` on a
    strided slice, while overlapping windows (stride < kernel size) are
    accumulated across iterations. A fully vectorized scatter would need
    ``np.add.at`` (unbuffered, much slower) for the same result.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient.
    cache : tuple
        As returned by ``conv_forward_fast``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    x, w, _, conv_param, windows = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    db = np.sum(dout, axis=(0, 2, 3))
    # (N, F, H', W') x (N, C, H', W', HH, WW) -> (F, C, HH, WW)
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    # (N, F, H', W') x (F, C, HH, WW) -> (HH, WW, N, C, H', W')
    dwindows = np.einsum("nfij,fckl->klncij", dout, w, optimize=True)
    dx_pad = np.zeros(
        (x.shape[0], x.shape[1], H + 2 * pad, W + 2 * pad),
        dtype=np.result_type(dout, w),
    )
    row_span, col_span = stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    for kh in range(HH):
        for kw in range(WW):
            rows = slice(kh, kh + row_span, stride)
            cols = slice(kw, kw + col_span, stride)
            dx_pad[:, :, rows, cols] += dwindows[kh, kw]
    dx = np.ascontiguousarray(dx_pad[:, :, pad : pad + H, pad : pad + W])
    return dx, dw, db


def max_pool_forward_fast(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a max-pooling layer without loops.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    pool_param : dict
        ``'pool_height'``, ``'pool_width'`` and ``'stride'`` (int), as in
        ``max_pool_forward_naive``. No padding.

    Returns
    -------
    out : ndarray of shape (N, C, H', W')
        Output data, ``H' = 1 + (H - pool_height) // stride`` and
        ``W' = 1 + (W - pool_width) // stride``.
    cache : tuple
        ``(x, pool_param)``.
    """
    windows = _windows(x, pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"])
    out = np.max(windows, axis=(4, 5))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_fast(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Compute the backward pass of a max-pooling layer without loops.

    The argmax of every window is found with ``np.argmax`` on the flattened
    window (so ties go to the first maximum in row-major window order, as in
    ``max_pool_backward_naive``). The upstream gradients are then summed into
    their target pixels with ``np.bincount``, which accumulates repeated
    indices: a pixel that is the maximum of several overlapping windows
    receives the sum of their gradients, added in the same (n, c, i, j)
    order as the naive loops.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient.
    cache : tuple
        ``(x, pool_param)`` as returned by ``max_pool_forward_fast``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    _, _, H_out, W_out = dout.shape
    windows = _windows(x, ph, pw, stride).reshape(N, C, H_out, W_out, ph * pw)
    row_off, col_off = np.divmod(np.argmax(windows, axis=-1), pw)
    rows = np.arange(H_out)[:, None] * stride + row_off
    cols = np.arange(W_out)[None, :] * stride + col_off
    planes = np.arange(N * C).reshape(N, C, 1, 1)
    flat_index = (planes * H + rows) * W + cols
    dx = np.bincount(flat_index.ravel(), weights=dout.ravel(), minlength=N * C * H * W)
    return dx.reshape(x.shape).astype(np.result_type(dout, x), copy=False)
