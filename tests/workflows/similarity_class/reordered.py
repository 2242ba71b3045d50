"""Multiclass SVM (hinge) loss and its gradient, as in CS231n's linear_svm.py.

Conventions of both functions: margin delta = 1; the data loss is averaged
over the N examples; regularization adds ``reg * np.sum(W * W)`` to the loss
and therefore ``2 * reg * W`` to the gradient.
"""

import numpy as np


def svm_loss_vectorized(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """Structured SVM loss, vectorized implementation (no Python loops).

    Parameters and returns are those of ``svm_loss_naive``.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights.
    X : ndarray of shape (N, D)
        A minibatch of data.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    reg : float
        Regularization strength.

    Returns
    -------
    loss : float
        The same value as ``svm_loss_naive``.
    dW : ndarray of shape (D, C)
        The same gradient as ``svm_loss_naive``.
    """
    loss = 0.0
    dW = np.zeros(W.shape)
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[rows, y][:, np.newaxis] + 1.0)
    margins[rows, y] = 0.0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    coefficients = (margins > 0).astype(X.dtype)
    coefficients[rows, y] = -np.sum(coefficients, axis=1)
    dW = X.T @ coefficients / num_train + 2 * reg * W
    return loss, dW


def svm_loss_naive(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """Structured SVM loss, naive implementation (with loops).

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights.
    X : ndarray of shape (N, D)
        A minibatch of data.
    y : ndarray of shape (N,)
        Training labels; ``y[i] = c`` means that ``X[i]`` has label ``c``,
        where ``0 <= c < C``.
    reg : float
        Regularization strength.

    Returns
    -------
    loss : float
        ``mean_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W * W)``.
    dW : ndarray of shape (D, C)
        Gradient of the loss with respect to W, including ``2 * reg * W``.
    """
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW
