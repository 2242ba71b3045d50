"""The kNN exercise: its reference against an independent oracle (scipy's
``cdist`` and a plain majority vote), planted bugs, and its stub."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from tests.exercises.oracles import assert_stub_raises, solution, stub
from tests.exercises.planted import Bug, planted_bug_test

knn = solution("knn")


def vote(labels: list[int]) -> int:
    """The most frequent label; a tie goes to the smallest label (CS231n's rule)."""
    counts = Counter(labels)
    return min(label for label, count in counts.items() if count == max(counts.values()))


def oracle_predict(X_train: np.ndarray, y_train: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    """Labels of ``X`` by a majority vote of the ``k`` nearest training points (scipy's
    Euclidean ``cdist``; among equal distances the earlier training point is nearer)."""
    dists = cdist(X, X_train)
    nearest = [sorted(range(len(X_train)), key=lambda j, row=row: (row[j], j))[:k] for row in dists]
    return np.array([vote([int(y_train[j]) for j in chosen]) for chosen in nearest])


def oracle_cross_validate(X: np.ndarray, y: np.ndarray, k_choices: list[int], num_folds: int) -> dict:
    """Fold accuracies by k: folds in order, as ``np.array_split`` cuts them (CS231n)."""
    accuracies: dict[int, list[float]] = {k: [] for k in k_choices}
    for fold in np.array_split(np.arange(len(y)), num_folds):
        held_out = np.isin(np.arange(len(y)), fold)
        for k in k_choices:
            predicted = oracle_predict(X[~held_out], y[~held_out], X[held_out], k)
            accuracies[k].append(float(np.mean(predicted == y[held_out])))
    return accuracies


def grid_points(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points of small integer coordinates: many equal distances, all exact in float64,
    so that a tie is a tie for every implementation and the tie rules are exercised."""
    return rng.integers(0, 3, size=(n, 4)).astype(np.float64)


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


@pytest.mark.parametrize("num_loops", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_predict_equals_cdist_and_a_majority_vote(k, num_loops):
    rng = np.random.default_rng(k)
    X_train, y_train, X = grid_points(rng, 40), rng.integers(0, 4, 40), grid_points(rng, 25)
    classifier = knn.KNearestNeighbor()
    classifier.train(X_train, y_train)
    np.testing.assert_array_equal(
        classifier.predict(X, k=k, num_loops=num_loops), oracle_predict(X_train, y_train, X, k)
    )


@pytest.mark.parametrize("num_folds", [3, 5])
def test_cross_validate_k_equals_the_oracle(num_folds):
    rng = np.random.default_rng(num_folds)
    X, y = grid_points(rng, 37), rng.integers(0, 3, 37)  # 37: folds of unequal size
    k_choices = [1, 3, 4, 10]
    found = knn.cross_validate_k(X, y, k_choices, num_folds=num_folds)
    expected = oracle_cross_validate(X, y, k_choices, num_folds)
    assert found.keys() == expected.keys()
    for k in k_choices:
        np.testing.assert_allclose(found[k], expected[k], rtol=0, atol=1e-15, err_msg=f"k = {k}")


def test_predict_labels_breaks_ties_toward_the_smaller_label():
    classifier = knn.KNearestNeighbor()
    classifier.train(np.zeros((4, 1)), np.array([3, 1, 3, 1]))
    dists = np.array([[0.1, 0.2, 0.3, 0.4]])
    assert classifier.predict_labels(dists, k=1)[0] == 3
    assert classifier.predict_labels(dists, k=2)[0] == 1
    assert classifier.predict_labels(dists, k=4)[0] == 1


# -- planted bugs (tests.exercises.planted) ----------------------------------------
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


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


# -- the stub ----------------------------------------------------------------------------


def test_stub_raises_not_implemented():
    X, y = np.eye(3), np.arange(3)
    assert_stub_raises("knn", "cross_validate_k", (X, y, [1], 3))
    classifier = stub("knn").KNearestNeighbor()
    classifier.train(X, y)
    for method, arguments in (
        ("compute_distances_two_loops", (X,)),
        ("compute_distances_one_loop", (X,)),
        ("compute_distances_no_loops", (X,)),
        ("predict_labels", (np.ones((3, 3)), 1)),
    ):
        with pytest.raises(NotImplementedError):
            getattr(classifier, method)(*arguments)
