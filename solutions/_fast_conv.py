"""Fast reference convolution and max-pooling layers (grader-internal).

This module is never released to students. It provides loop-free versions of
the layers in ``solutions/conv.py`` with the same signatures, return values,
shape contracts and conventions (cross-correlation, zero padding, max-pool
gradient accumulated over overlapping windows, ties routed to the first
maximum in row-major window order). Only the caches differ: they are meant to
be passed back to the backward functions of this module, not to the naive
ones.

The convolution is an im2col: ``_columns`` copies the windows of the padded
input, read through an ``as_strided`` view, into one array of shape
(N, C * HH * WW, H' * W'), so that forward, ``dw`` and ``dx`` are each one
(batched) matrix product, and the forward output comes out directly in the
(N, F, H', W') layout. Max pooling with windows that tile the input (pool
size equal to the stride, the common 2x2/2 case) works on a reshaped view
with a comparison mask and no argmax; other windows go through
``np.argmax`` and ``np.bincount``. ``benchmarks/bench_softmax_conv.py``
times both layers against torch.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


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


def _window_view(
    x: np.ndarray, height: int, width: int, stride: int, out_shape: tuple[int, int]
) -> np.ndarray:
    """Return the read-only view of all the windows of an image batch, kernel axes first.

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
    x_pad: np.ndarray, height: int, width: int, stride: int, out_shape: tuple[int, int]
) -> np.ndarray:
    """Copy the windows of ``x_pad`` into the im2col matrix of every image.

    Returns
    -------
    cols : ndarray of shape (N, C * height * width, H' * W')
        Row ``(c, k, l)`` of image ``n`` holds ``x_pad[n, c, i * stride + k, j * stride + l]``
        for every output position ``(i, j)`` in row-major order.
    """
    view = _window_view(x_pad, height, width, stride, out_shape)
    N, C = x_pad.shape[:2]
    return view.reshape(N, C * height * width, out_shape[0] * out_shape[1])


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
        ``(x, w, b, conv_param, cols)`` where ``cols`` is the im2col matrix of
        shape (N, C * HH * WW, H' * W') of the padded input.
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    out_shape = (1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride)
    cols = _columns(_pad(x, pad), HH, WW, stride, out_shape)
    # (F, C*HH*WW) @ (N, C*HH*WW, H'*W') -> (N, F, H'*W'): one GEMM per image, no transpose
    out = np.matmul(w.reshape(F, -1), cols)
    out += b[:, None]
    cache = (x, w, b, conv_param, cols)
    return out.reshape(N, F, *out_shape), cache


def conv_backward_fast(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the backward pass of a convolutional layer.

    ``db`` is one reduction, ``dw`` and the gradient of the im2col matrix are
    one batched matrix product each. That gradient is then added back into
    the padded input (col2im) by a loop over the HH * WW kernel offsets
    ``(kh, kw)`` only: for a fixed offset, the pixels
    ``(i * stride + kh, j * stride + kw)`` touched by the different windows
    are all distinct, so each iteration is one plain vectorized ``+=`` on a
    strided slice, while overlapping windows (stride < kernel size) are
    accumulated across iterations.

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
    x, w, _, conv_param, cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    dout_cols = np.ascontiguousarray(dout).reshape(N, F, H_out * W_out)
    db = np.sum(dout_cols, axis=(0, 2))
    # sum over n of (F, H'*W') @ (H'*W', C*HH*WW)
    dw = np.matmul(dout_cols, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    # (C*HH*WW, F) @ (N, F, H'*W') -> (N, C, HH, WW, H', W')
    dcols = np.matmul(w.reshape(F, -1).T, dout_cols).reshape(N, C, HH, WW, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=dcols.dtype)
    row_span, col_span = stride * (H_out - 1) + 1, stride * (W_out - 1) + 1
    for kh in range(HH):
        for kw in range(WW):
            rows = slice(kh, kh + row_span, stride)
            columns = slice(kw, kw + col_span, stride)
            dx_pad[:, :, rows, columns] += dcols[:, :, kh, kw]
    dx = np.ascontiguousarray(dx_pad[:, :, pad : pad + H, pad : pad + W])
    return dx, dw, db


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


def _largest(views: list[np.ndarray]) -> np.ndarray:
    """Elementwise maximum of the offset views: the max over each window.

    One ``np.maximum`` per window offset (pool_height * pool_width of them),
    each over all the windows; NaN propagates as with ``np.max``.
    """
    out = views[0].copy()
    for view in views[1:]:
        np.maximum(out, view, out=out)
    return out


def max_pool_forward_fast(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a max-pooling layer without loops over the data.

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
        ``(x, pool_param, out)``.
    """
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out_shape = (1 + (x.shape[2] - ph) // stride, 1 + (x.shape[3] - pw) // stride)
    out = _largest(_offsets(x, pool_param, out_shape))
    return out, (x, pool_param, out)


def max_pool_backward_fast(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Compute the backward pass of a max-pooling layer without loops over the data.

    Each window's upstream gradient goes to its maximum, the first one in
    row-major window order when the maximum is repeated (as
    ``max_pool_backward_naive`` does with ``np.argmax``); a NaN counts as the
    maximum of its window, as for ``np.argmax``. When the windows do not
    overlap (stride at least the pool size) and every window holds a single
    maximum, comparison masks route the gradient (``_masked``); otherwise
    ``_routed`` finds each window's argmax.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient.
    cache : tuple
        ``(x, pool_param, out)`` as returned by ``max_pool_forward_fast``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    x, pool_param, out = cache
    stride = pool_param["stride"]
    if stride >= pool_param["pool_height"] and stride >= pool_param["pool_width"]:
        dx = _masked(dout, x, pool_param, out)
        if dx is not None:
            return dx
    return _routed(dout, x, pool_param)


def _masked(dout: np.ndarray, x: np.ndarray, pool_param: dict, out: np.ndarray) -> np.ndarray | None:
    """Max-pool gradient of non-overlapping windows by comparison with the maximum.

    For each window offset, the pixels equal to their window's maximum get the
    window's upstream gradient. Returns None when some window holds its
    maximum more than once or is NaN (the masks then hit more or fewer pixels
    than there are windows): the tie rule needs ``_routed``.
    """
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))  # pixels in no window stay 0
    sources = _offsets(x, pool_param, out.shape[2:])
    targets = _offsets(dx, pool_param, out.shape[2:])
    finite = bool(np.isfinite(dout).all())  # then dout * mask is 0 off the maxima
    hits = 0
    for view, target in zip(sources, targets, strict=True):
        mask = view == out
        hits += np.count_nonzero(mask)
        if finite:
            np.multiply(dout, mask, out=target)
        else:
            np.copyto(target, dout, where=mask)
    return dx if hits == out.size and np.all(out == out) else None


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
