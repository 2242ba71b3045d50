"""Softmax (multinomial logistic regression) loss and gradient.

This module holds the softmax classifier loss in two forms:

* ``softmax_loss_naive`` and ``softmax_loss_vectorized`` compute the loss of a
  linear classifier with weights ``W`` together with its gradient ``dW``;
* ``softmax_loss`` is the layer form used at the top of a network: it takes
  class scores directly and returns the gradient with respect to them.

Conventions shared by every function:

* the data loss is the cross-entropy averaged over the ``N`` examples;
* the L2 regularization term is ``reg * np.sum(W * W)`` (no factor 1/2), so
  its gradient is ``2 * reg * W``;
* the maximum score of each example is subtracted before exponentiating, which
  leaves the loss unchanged and prevents overflow for large scores.
"""

import numpy as np


def softmax_loss_naive(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """Compute the softmax loss and its gradient with explicit loops.

    Inputs have dimension D, there are C classes and we operate on minibatches
    of N examples. The scores of example ``i`` are ``X[i] @ W``.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights of the linear classifier.
    X : ndarray of shape (N, D)
        Minibatch of data; ``X[i]`` is one example.
    y : ndarray of shape (N,)
        Integer labels; ``y[i] = c`` means that ``X[i]`` has label ``c`` with
        ``0 <= c < C``.
    reg : float
        Regularization strength.

    Returns
    -------
    loss : float
        Mean cross-entropy over the N examples plus ``reg * np.sum(W * W)``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``, including the
        regularization gradient ``2 * reg * W``.

    Notes
    -----
    Use explicit loops over the examples and the classes. Subtract the
    maximum score of each example before calling ``np.exp`` so that the
    computation stays finite for large scores.
    """
    loss = 0.0
    dW = np.zeros_like(W)
    # YOUR CODE HERE
    raise NotImplementedError()
    return loss, dW


def softmax_loss_vectorized(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """Compute the softmax loss and its gradient without Python loops.

    Same inputs, outputs and conventions as ``softmax_loss_naive``.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights of the linear classifier.
    X : ndarray of shape (N, D)
        Minibatch of data; ``X[i]`` is one example.
    y : ndarray of shape (N,)
        Integer labels; ``y[i] = c`` means that ``X[i]`` has label ``c`` with
        ``0 <= c < C``.
    reg : float
        Regularization strength.

    Returns
    -------
    loss : float
        Mean cross-entropy over the N examples plus ``reg * np.sum(W * W)``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``, including the
        regularization gradient ``2 * reg * W``.

    Notes
    -----
    Use no explicit loops (and no comprehensions). Subtract the maximum score
    of each example before calling ``np.exp``.
    """
    loss = 0.0
    dW = np.zeros_like(W)
    # YOUR CODE HERE
    raise NotImplementedError()
    return loss, dW


def softmax_loss(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Compute the softmax loss layer and its gradient.

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Class scores; ``x[i, j]`` is the score of class ``j`` for example
        ``i``.
    y : ndarray of shape (N,)
        Integer labels with ``0 <= y[i] < C``.

    Returns
    -------
    loss : float
        Mean cross-entropy over the N examples (no regularization).
    dx : ndarray of shape (N, C)
        Gradient of ``loss`` with respect to ``x``.

    Notes
    -----
    Subtract the maximum score of each row before calling ``np.exp``.
    """
    loss, dx = None, None
    # YOUR CODE HERE
    raise NotImplementedError()
    return loss, dx
