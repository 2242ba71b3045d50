"""First-order update rules used to train neural networks.

Every update rule has the same interface::

    def update(w, dw, config=None):

Parameters
----------
w : ndarray
    Current weights.
dw : ndarray of the same shape as ``w``
    Gradient of the loss with respect to ``w``.
config : dict or None
    Hyperparameters (learning rate, momentum, ...) and the state the rule
    carries from one step to the next (velocity, moving averages, ...). A
    missing key is filled with its default value through ``config.setdefault``
    and a missing ``config`` is replaced by an empty dict.

Returns
-------
next_w : ndarray of the same shape as ``w``
    Weights after the update.
config : dict
    The configuration to pass to the next call of the update rule, holding
    the updated state.

Every rule *minimizes* the loss: it moves ``w`` against ``dw``. The rules do
not apply weight decay; add the regularization gradient to ``dw`` instead.
"""

import numpy as np


def sgd_momentum(w: np.ndarray, dw: np.ndarray, config: dict | None = None) -> tuple[np.ndarray, dict]:
    """Perform stochastic gradient descent with momentum.

    The update is::

        v = momentum * v - learning_rate * dw
        next_w = w + v

    Parameters
    ----------
    w : ndarray of shape (...)
        Current weights (any shape).
    dw : ndarray of the same shape as ``w``
        Gradient of the loss with respect to ``w``.
    config : dict or None, optional
        Keys used:

        - ``learning_rate`` : float, default 1e-2.
        - ``momentum`` : float in [0, 1), default 0.9; 0 gives plain SGD.
        - ``velocity`` : ndarray of the same shape as ``w``, default zeros;
          the moving average of the updates.

    Returns
    -------
    next_w : ndarray of the same shape as ``w``
        Updated weights.
    config : dict
        ``config`` with ``velocity`` set to the new velocity ``v``.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    config.setdefault("velocity", np.zeros_like(w))

    next_w = None
    # YOUR CODE HERE
    raise NotImplementedError()
    return next_w, config


def rmsprop(w: np.ndarray, dw: np.ndarray, config: dict | None = None) -> tuple[np.ndarray, dict]:
    """Perform one RMSProp update.

    RMSProp divides the step by a moving average of the squared gradients::

        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)

    Parameters
    ----------
    w : ndarray of shape (...)
        Current weights (any shape).
    dw : ndarray of the same shape as ``w``
        Gradient of the loss with respect to ``w``.
    config : dict or None, optional
        Keys used:

        - ``learning_rate`` : float, default 1e-2.
        - ``decay_rate`` : float in [0, 1), default 0.99; decay of the moving
          average of the squared gradient.
        - ``epsilon`` : float, default 1e-8; added to the square root to
          avoid dividing by zero.
        - ``cache`` : ndarray of the same shape as ``w``, default zeros; the
          moving average of the squared gradient.

    Returns
    -------
    next_w : ndarray of the same shape as ``w``
        Updated weights.
    config : dict
        ``config`` with ``cache`` set to the new moving average.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))

    next_w = None
    # YOUR CODE HERE
    raise NotImplementedError()
    return next_w, config


def adam(w: np.ndarray, dw: np.ndarray, config: dict | None = None) -> tuple[np.ndarray, dict]:
    """Perform one Adam update with bias correction.

    The step counter is incremented *before* it is used, so the first call
    uses ``t = 1``::

        t = t + 1
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        mhat = m / (1 - beta1**t)
        vhat = v / (1 - beta2**t)
        next_w = w - learning_rate * mhat / (np.sqrt(vhat) + epsilon)

    Parameters
    ----------
    w : ndarray of shape (...)
        Current weights (any shape).
    dw : ndarray of the same shape as ``w``
        Gradient of the loss with respect to ``w``.
    config : dict or None, optional
        Keys used:

        - ``learning_rate`` : float, default 1e-3.
        - ``beta1`` : float, default 0.9; decay of the first moment.
        - ``beta2`` : float, default 0.999; decay of the second moment.
        - ``epsilon`` : float, default 1e-8; added to ``np.sqrt(vhat)``.
        - ``m`` : ndarray of the same shape as ``w``, default zeros; moving
          average of the gradient.
        - ``v`` : ndarray of the same shape as ``w``, default zeros; moving
          average of the squared gradient.
        - ``t`` : int, default 0; number of updates already performed.

    Returns
    -------
    next_w : ndarray of the same shape as ``w``
        Updated weights.
    config : dict
        ``config`` with ``m``, ``v`` and ``t`` set to their new values.
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    next_w = None
    # YOUR CODE HERE
    raise NotImplementedError()
    return next_w, config
