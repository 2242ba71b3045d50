"""SVM loss: the per-example margins are computed once, by one helper."""

import numpy as np


def margins_of(scores, labels):
    """Hinge margins max(0, s_j - s_y + 1) of each class, zero at the label.

    scores has shape (N, C) and labels shape (N,).
    """
    picked = scores[np.arange(scores.shape[0]), labels]
    result = np.maximum(scores - np.expand_dims(picked, 1) + 1, 0)
    result[np.arange(scores.shape[0]), labels] = 0
    return result


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    M = margins_of(X @ W, y)
    mask = np.sign(M)
    mask[range(N), y] = -mask.sum(1)
    data_loss = M.sum() / N
    reg_loss = reg * np.square(W).sum()
    dW = (X.T @ mask) / N + 2 * reg * W
    return data_loss + reg_loss, dW


def svm_loss_naive(W, X, y, reg):
    N, D = X.shape
    C = W.shape[1]
    grads = [np.zeros(D) for _ in range(C)]
    losses = []
    for n in range(N):
        m = margins_of((X[n] @ W)[None, :], y[n : n + 1])[0]
        losses.append(m.sum())
        for c in np.flatnonzero(m):
            grads[c] = grads[c] + X[n]
            grads[y[n]] = grads[y[n]] - X[n]
    dW = np.stack(grads, axis=1) / N + 2 * reg * W
    return float(np.mean(losses)) + reg * np.square(W).sum(), dW
