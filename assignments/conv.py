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
    # YOUR CODE HERE
    raise NotImplementedError()
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
    # YOUR CODE HERE
    raise NotImplementedError()
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
    # YOUR CODE HERE
    raise NotImplementedError()
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
    # YOUR CODE HERE
    raise NotImplementedError()
    return dx
