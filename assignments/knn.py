"""k-nearest-neighbour classifier with an L2 (Euclidean) distance matrix.

Follows CS231n's ``k_nearest_neighbor.py`` (2019 onward): the same class,
method names and shapes, so course material works unchanged.
"""

import numpy as np


class KNearestNeighbor:
    """A kNN classifier with L2 distance."""

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        """Memorize the training data.

        Parameters
        ----------
        X : ndarray of shape (num_train, D)
            Training examples.
        y : ndarray of shape (num_train,)
            Integer labels; ``y[i]`` is the label of ``X[i]``.
        """
        self.X_train = X
        self.y_train = y

    def predict(self, X: np.ndarray, k: int = 1, num_loops: int = 0) -> np.ndarray:
        """Predict labels for test data.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples.
        k : int
            Number of nearest neighbours that vote.
        num_loops : int
            Which distance implementation to use: 0, 1 or 2 Python loops.

        Returns
        -------
        ndarray of shape (num_test,)
            Predicted integer labels.
        """
        if num_loops == 0:
            dists = self.compute_distances_no_loops(X)
        elif num_loops == 1:
            dists = self.compute_distances_one_loop(X)
        elif num_loops == 2:
            dists = self.compute_distances_two_loops(X)
        else:
            raise ValueError(f"Invalid value {num_loops} for num_loops")
        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distances with a double loop over test and training points.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples.

        Returns
        -------
        ndarray of shape (num_test, num_train)
            ``dists[i, j]`` is the Euclidean distance between ``X[i]`` and
            ``self.X_train[j]``.
        """
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            for j in range(num_train):
                # YOUR CODE HERE
                raise NotImplementedError()
        return dists

    def compute_distances_one_loop(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distances with a single loop over the test points.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples.

        Returns
        -------
        ndarray of shape (num_test, num_train)
            Same as ``compute_distances_two_loops``.
        """
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train))
        for i in range(num_test):
            # YOUR CODE HERE
            raise NotImplementedError()
        return dists

    def compute_distances_no_loops(self, X: np.ndarray) -> np.ndarray:
        """Euclidean distances with no Python loop (and no comprehension).

        Expand ``||x - t||^2 = ||x||^2 + ||t||^2 - 2 x.t``: one matrix product
        and two broadcast sums. Rounding can make the squared distance of two
        identical points slightly negative: clip at zero before the square
        root, or the result holds NaN.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples.

        Returns
        -------
        ndarray of shape (num_test, num_train)
            Same as ``compute_distances_two_loops``.
        """
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        # YOUR CODE HERE
        raise NotImplementedError()
        return dists

    def predict_labels(self, dists: np.ndarray, k: int = 1) -> np.ndarray:
        """Majority vote of the k nearest training points.

        Parameters
        ----------
        dists : ndarray of shape (num_test, num_train)
            Distances between test and training points.
        k : int
            Number of nearest neighbours that vote.

        Returns
        -------
        ndarray of shape (num_test,)
            Predicted labels. A tie between labels is broken toward the
            smaller label; which neighbours are nearest among equal
            distances follows a stable sort (the earlier training point).
        """
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test, dtype=np.int64)
        for i in range(num_test):
            # YOUR CODE HERE
            raise NotImplementedError()
        return y_pred


def cross_validate_k(X: np.ndarray, y: np.ndarray, k_choices: list[int], num_folds: int = 5) -> dict:
    """k-fold cross-validation of the kNN classifier over several k.

    The folds are ``np.array_split(X, num_folds)`` and
    ``np.array_split(y, num_folds)``, in order, without shuffling (as in
    CS231n). For each fold, train on the other folds, predict the fold with
    the no-loop distances, and record the accuracy.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Examples.
    y : ndarray of shape (N,)
        Integer labels.
    k_choices : list of int
        Values of k to evaluate.
    num_folds : int
        Number of folds.

    Returns
    -------
    dict of int to list of float
        ``k_to_accuracies[k][i]`` is the accuracy on fold ``i`` with ``k``.
    """
    k_to_accuracies = {k: [] for k in k_choices}
    # YOUR CODE HERE
    raise NotImplementedError()
    return k_to_accuracies
