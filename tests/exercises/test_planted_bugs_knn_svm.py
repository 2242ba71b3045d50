"""Planted bugs in kNN and SVM: each loses points in the check that names it.

Each case is a `tests.planted.Bug`: the reference with one realistic bug
planted, the check that must fail, words its message or hint must contain,
and checks that must still pass (so a bug costs only its own points).
"""

from __future__ import annotations

import pytest

from tests.exercises.planted import Bug, assert_loses_points_where_named

BUGS = {
    "svm correct class counted": Bug(
        "svm",
        "            if j == y[i]:\n                continue\n",
        "",
        "svm_loss_naive: loss, reg = 0",
        "correct class is counted",
        ("svm_loss_naive: dW, reg = 0", "svm_loss_vectorized: loss, reg = 0"),
    ),
    "svm loss not divided by N": Bug(
        "svm",
        "loss = np.sum(margins) / num_train + reg",
        "loss = np.sum(margins) + reg",
        "svm_loss_vectorized: loss, reg = 0",
        "not divided by N",
        ("svm_loss_vectorized: dW, reg = 0",),
    ),
    "svm missing correct-class column": Bug(
        "svm",
        "    coefficients[rows, y] = -np.sum(coefficients, axis=1)\n",
        "",
        "svm_loss_vectorized: dW, reg = 0",
        "correct-class column",
        ("svm_loss_vectorized: loss, reg = 0",),
    ),
    "svm reg in gradient not loss": Bug(
        "svm",
        "    loss += reg * np.sum(W * W)\n",
        "",
        "svm_loss_naive: loss, reg > 0",
        "reg is in the gradient but not in the loss",
        ("svm_loss_naive: loss, reg = 0", "svm_loss_naive: dW, reg > 0"),
    ),
    "svm reg gradient halved": Bug(
        "svm",
        "dW = X.T @ coefficients / num_train + 2 * reg * W",
        "dW = X.T @ coefficients / num_train + reg * W",
        "svm_loss_vectorized: dW, reg > 0",
        "reg * W instead of 2 * reg * W",
        ("svm_loss_vectorized: dW, reg = 0",),
    ),
    "svm vectorized calls the naive loops": Bug(
        "svm",
        "    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n",
        "    return svm_loss_naive(W, X, y, reg)\n    ### BEGIN SOLUTION\n    num_train = X.shape[0]\n",
        "svm_loss_vectorized at least 10x faster than the naive loops",
        "faster than a loop version",
        ("svm_loss_vectorized: dW, reg > 0",),  # its no-loop check fails too: see tests/gaming
    ),
    "knn squared distances": Bug(
        "knn",
        "dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))",
        "dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)",
        "distances, two loops",
        "square root is missing",
        ("distances, one loop",),
    ),
    "knn tie broken toward the nearest": Bug(
        "knn",
        "y_pred[i] = np.argmax(np.bincount(closest_y))",
        "y_pred[i] = __import__('collections').Counter(closest_y.tolist()).most_common(1)[0][0]",
        "predict_labels, k in (1, 2, 4, 5)",
        "ties toward the smaller label",
        ("distances, no loops",),
    ),
    "knn one loop sums the wrong axis": Bug(
        "knn",
        "dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))",
        "dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2))",
        "distances, one loop",
        "distance from test point i to training point j",
        ("distances, two loops",),
    ),
    "knn folds shuffled": Bug(
        "knn",
        "    X_folds = np.array_split(X, num_folds)\n",
        "    X_folds = np.array_split(X[::-1], num_folds)\n",
        "cross-validation fold accuracies",
        "np.array_split",
        ("predict with 0, 1 and 2 loops",),
    ),
}


@pytest.mark.parametrize("name", list(BUGS))
def test_planted_bug_loses_points_where_named(name, tmp_path):
    assert_loses_points_where_named(BUGS[name], tmp_path)
