"""The kNN reference against independent oracles (scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from autograder.modules import load_module
from tests.conftest import SOLUTIONS
from tests.exercises.planted import Bug, assert_loses_points_where_named


def load(name: str):
    return load_module(SOLUTIONS / f"{name}.py", f"ref_{name}")


knn = load("knn")


@pytest.mark.parametrize("method", ["two_loops", "one_loop", "no_loops"])
def test_distances_equal_scipy_cdist(method):
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(23, 7)), rng.normal(size=(9, 7))
    test[:3] = train[:3]
    classifier = knn.KNearestNeighbor()
    classifier.train(train, np.zeros(23, dtype=int))
    dists = getattr(classifier, f"compute_distances_{method}")(test)
    assert not np.isnan(dists).any()
    np.testing.assert_allclose(dists, cdist(test, train), atol=1e-7)


def test_predict_labels_breaks_ties_toward_the_smaller_label():
    classifier = knn.KNearestNeighbor()
    classifier.train(np.zeros((4, 1)), np.array([3, 1, 3, 1]))
    dists = np.array([[0.1, 0.2, 0.3, 0.4]])
    assert classifier.predict_labels(dists, k=1)[0] == 3
    assert classifier.predict_labels(dists, k=2)[0] == 1
    assert classifier.predict_labels(dists, k=4)[0] == 1


# -- planted bugs, moved from test_planted_bugs_knn_svm.py
BUGS = {
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
