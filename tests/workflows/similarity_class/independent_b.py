import numpy as np


def _regularize(value, gradient, W, strength):
    """Add the L2 penalty strength * ||W||^2 and its gradient."""
    return value + strength * float(np.vdot(W, W)), gradient + 2 * strength * W


def svm_loss_naive(W, X, y, reg):
    count = X.shape[0]
    classes = W.shape[1]
    all_scores = X.dot(W)
    out = 0.0
    dW = np.zeros(W.shape)
    i = 0
    while i < count:
        target = y[i]
        hits = 0
        for j in range(classes):
            gap = all_scores[i, j] - all_scores[i, target] + 1.0
            if j != target and gap > 0:
                out += gap
                dW[:, j] += X[i]
                hits += 1
        dW[:, target] -= hits * X[i]
        i += 1
    return _regularize(out / count, dW / count, W, reg)


def svm_loss_vectorized(W, X, y, reg):
    count = X.shape[0]
    scores = X.dot(W)
    correct = np.take_along_axis(scores, y[:, None], axis=1)
    gaps = scores - correct + 1.0
    gaps[np.arange(count), y] = 0.0
    positive = gaps > 0
    weights = positive.astype(np.float64)
    weights[np.arange(count), y] -= positive.sum(axis=1)
    value = gaps[positive].sum() / count
    return _regularize(value, np.einsum("nd,nc->dc", X, weights) / count, W, reg)
