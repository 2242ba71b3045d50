"""Hinge loss for a linear classifier: written from the lecture notes."""

import numpy as np

DELTA = 1.0


def svm_loss_naive(W, X, y, reg):
    n, _ = X.shape
    c = W.shape[1]
    total = 0.0
    gradient = np.zeros_like(W, dtype=float)
    for row, label in zip(X, y, strict=True):
        s = np.array([row @ W[:, k] for k in range(c)])
        for k in range(c):
            if k != label:
                violation = s[k] + DELTA - s[label]
                if violation > 0.0:
                    total = total + violation
                    gradient[:, k] = gradient[:, k] + row
                    gradient[:, label] = gradient[:, label] - row
    penalty = reg * (W**2).sum()
    return total / n + penalty, gradient / n + reg * 2.0 * W


def svm_loss_vectorized(W, X, y, reg):
    n = len(y)
    one_hot = np.eye(W.shape[1], dtype=bool)[y]
    s = np.dot(X, W)
    truth = s[one_hot].reshape(n, 1)
    hinge = np.where(one_hot, 0.0, np.clip(s - truth + DELTA, 0.0, None))
    active = (hinge > 0).astype(float)
    active[one_hot] = -active.sum(axis=1)
    loss = hinge.sum() / n + reg * (W**2).sum()
    return loss, np.dot(X.T, active) / n + reg * 2.0 * W
