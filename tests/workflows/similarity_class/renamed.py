# SVM homework -- my own version (honest!)
import numpy as np


def svm_loss_naive(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """Naive hinge loss."""
    grad = np.zeros(W.shape)
    n_cls = W.shape[1]
    n_samples = X.shape[0]
    total = 0.0
    for sample in range(n_samples):
        s = X[sample].dot(W)  # class scores of this sample
        true_s = s[y[sample]]
        for cls in range(n_cls):
            if cls == y[sample]:
                continue
            m = s[cls] - true_s + 1
            if m > 0:
                total += m
                grad[:, cls] += X[sample]
                grad[:, y[sample]] -= X[sample]
    total /= n_samples
    grad /= n_samples
    total += reg * np.sum(W * W)
    grad += 2 * reg * W
    return total, grad


def svm_loss_vectorized(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """Vectorized hinge loss."""
    total = 0.0
    grad = np.zeros(W.shape)
    n_samples = X.shape[0]
    idx = np.arange(n_samples)
    s = X @ W
    marg = np.maximum(0.0, s - s[idx, y][:, np.newaxis] + 1.0)
    marg[idx, y] = 0.0
    total = np.sum(marg) / n_samples + reg * np.sum(W * W)
    coef = (marg > 0).astype(X.dtype)
    coef[idx, y] = -np.sum(coef, axis=1)
    grad = X.T @ coef / n_samples + 2 * reg * W
    return total, grad
