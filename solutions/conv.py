"""Naive convolution and max-pooling layers.

Every layer has a forward pass returning ``(out, cache)`` and a backward pass
that receives the upstream gradient ``dout`` (same shape as ``out``) and the
``cache`` and returns the gradients with respect to the forward inputs.

Images are stored as ``ndarray of shape (N, C, H, W)``: N images, C channels,
height H and width W. These implementations use explicit loops over the
output positions; they are meant to be simple and correct, not fast.

The convolution is a cross-correlation (the filter is not flipped), as in
CS231n and ``torch.nn.functional.conv2d``.
"""

import numpy as np


def conv_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict
) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a convolutional layer.

    The input has N data points, each with C channels, height H and width W.
    Each of the F filters spans all C channels and has height HH and width
    WW. The input is zero-padded by ``pad`` pixels on the four borders (along
    the height and width axes only) and the filters are moved by ``stride``
    pixels in both directions.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    w : ndarray of shape (F, C, HH, WW)
        Filter weights.
    b : ndarray of shape (F,)
        Biases, one per filter.
    conv_param : dict
        - ``'stride'`` : int, distance in pixels between adjacent receptive
          fields, in both the horizontal and vertical directions.
        - ``'pad'`` : int, number of zero pixels added on each border.

    Returns
    -------
    out : ndarray of shape (N, F, H', W')
        Output data, where::

            H' = 1 + (H + 2 * pad - HH) // stride
            W' = 1 + (W + 2 * pad - WW) // stride

        and ``out[n, f, i, j]`` is the sum over the receptive field of
        ``w[f]`` times the padded input, plus ``b[f]``.
    cache : tuple
        ``(x, w, b, conv_param)``, for the backward pass.
    """
    out = None
    ### BEGIN SOLUTION
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    field = x_pad[n, :, top : top + HH, left : left + WW]
                    out[n, f, i, j] = np.sum(field * w[f]) + b[f]
    ### END SOLUTION
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the backward pass of a convolutional layer.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H', W')
        Upstream gradient, with respect to the output of
        ``conv_forward_naive``.
    cache : tuple
        ``(x, w, b, conv_param)`` as returned by ``conv_forward_naive``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``. Padding pixels are not inputs, so
        their gradient is dropped.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    dx, dw, db = None, None, None
    ### BEGIN SOLUTION
    x, w, _, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros(x_pad.shape, dtype=np.result_type(dout, w))
    dw = np.zeros(w.shape, dtype=np.result_type(dout, x))
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    rows, cols = slice(top, top + HH), slice(left, left + WW)
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad : pad + H, pad : pad + W]
    ### END SOLUTION
    return dx, dw, db


def max_pool_forward_naive(x: np.ndarray, pool_param: dict) -> tuple[np.ndarray, tuple]:
    """Compute the forward pass of a max-pooling layer.

    There is no padding. Windows may overlap (``stride`` smaller than the
    pooling size).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input data.
    pool_param : dict
        - ``'pool_height'`` : int, height of each pooling window.
        - ``'pool_width'`` : int, width of each pooling window.
        - ``'stride'`` : int, distance between adjacent pooling windows.

    Returns
    -------
    out : ndarray of shape (N, C, H', W')
        Output data, where::

            H' = 1 + (H - pool_height) // stride
            W' = 1 + (W - pool_width) // stride

        and ``out[n, c, i, j]`` is the maximum of ``x[n, c]`` over window
        ``(i, j)``.
    cache : tuple
        ``(x, pool_param)``, for the backward pass.
    """
    out = None
    ### BEGIN SOLUTION
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, H, W = x.shape
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + ph, left : left + pw]
                    out[n, c, i, j] = np.max(window)
    ### END SOLUTION
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """Compute the backward pass of a max-pooling layer.

    The upstream gradient of each window is routed to the position of the
    window's maximum. When windows overlap, an input pixel can be the maximum
    of several windows: its gradient is the *sum* of their upstream gradients
    (accumulate with ``+=``).

    Tie rule: when a window holds its maximum value more than once, the whole
    gradient goes to the first maximum in row-major order of the window, the
    position returned by ``np.argmax`` on the flattened window.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H', W')
        Upstream gradient, with respect to the output of
        ``max_pool_forward_naive``.
    cache : tuple
        ``(x, pool_param)`` as returned by ``max_pool_forward_naive``.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    dx = None
    ### BEGIN SOLUTION
    x, pool_param = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    stride = pool_param["stride"]
    N, C, _, _ = x.shape
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + ph, left : left + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, top + a, left + b] += dout[n, c, i, j]
    ### END SOLUTION
    return dx
