"""Exercise 1: k-nearest neighbours (``knn.py``, CS231n signatures).

Visible checks use fixed small inputs; hidden checks draw sizes and data
from the submission's keyed seed. All distance checks include test points
that duplicate training points, where the distance is exactly 0 and a
missing clip before the square root gives NaN (named in the message).

The MNIST accuracy checks train the student's classifier on secretly
relabelled training labels and score its predictions on perturbed test
images against the same relabelling: a classifier that looks the public
labels up scores nothing.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, Exercise, derangement
from autograder.checks.compare import RTOL, as_array, assert_close
from autograder.checks.session import Session
from autograder.checks.speed import check_speedup, loop_baseline, require_no_loops, values_first
from autograder.results import Status

DIST_ATOL = 1e-6
"""Absolute tolerance on distances: the expanded no-loop formula leaves the
square root of rounding error (about 1e-7 on these inputs) where the true
distance is 0."""

MNIST_MIN_ACCURACY = 0.85
"""Least accuracy of 3-NN on the MNIST slice (5,000 training images): a
correct implementation scores about 0.92; a wrong vote or distance far less."""

MNIST_TEST_IMAGES = 500
"""Test images of the MNIST slice: 500 x 5,000 distances take about 1 s."""

MNIST_NOISE = 12.0
"""Amplitude (in pixel values 0-255) of the uniform noise added to the test
images: no image equals a public one any more, while the reference's 3-NN
accuracy (classes renamed) stays put: measured on three slices of 500,
0.920 -> 0.922, 0.926 -> 0.932, 0.934 -> 0.934."""

DUPLICATES_NAN = (
    "NaN where a test point equals a training point: the expansion |x|^2 + |t|^2 - 2 x.t "
    "rounds to a tiny negative number there, and np.sqrt of it is NaN; clip with "
    "np.maximum(d2, 0) before np.sqrt"
)
"""The named bug of no-loop distances without a clip before the square root."""

LOOP_CALLS = 4
"""NumPy calls per (test, training) pair of the speed check's loop baseline:
a per-pair L2 distance takes a difference, a square, a sum and a root (the
two-loop version costs about 7 such calls per pair, measured)."""

SPEED_SIZES = (200, 1000, 10)
"""num_test, num_train, D of the speed check: few dimensions make the
reference's double loop (0.5 s) dwarf the cost of moving arrays."""

VISIBLE_SIZES = (16, 23, 30)
"""num_test, num_train, D of the visible distance checks: half the test
points (8) duplicate training points, and with 30 coordinates the unclipped
expansion rounds below 0 at some of them: on the visible input, at 3 or 4
duplicates for each of five usual spellings (sums of squares, einsum,
np.linalg.norm, either order), so the visible checks show the NaN bug that a
hidden check would catch (random draws miss it for one spelling in 10-20)."""

CLASS = "KNearestNeighbor"
METHODS = {
    "two loops": "compute_distances_two_loops",
    "one loop": "compute_distances_one_loop",
    "no loops": "compute_distances_no_loops",
}


def points(rng: np.random.Generator, visibility: str) -> tuple[np.ndarray, np.ndarray]:
    """Training and test points, non-square, with duplicated points.

    Returns
    -------
    X_train : ndarray of shape (num_train, D)
    X_test : ndarray of shape (num_test, D)
    """
    if visibility == VISIBLE:
        num_test, num_train, dim = VISIBLE_SIZES
    else:
        num_test, num_train, dim = (int(v) for v in rng.integers([3, 11, 2], [20, 40, 30]))
    X_train = rng.normal(scale=3.0, size=(num_train, dim))
    X_test = rng.normal(scale=3.0, size=(num_test, dim))
    X_test[: num_test // 2] = X_train[rng.choice(num_train, num_test // 2, replace=False)]
    return X_train, X_test


def trained(session: Session, X_train: np.ndarray, y_train: np.ndarray) -> str:
    """A student classifier trained on the given data; returns its handle."""
    handle = session.new(CLASS)
    session.call(f"{handle}.train", X_train, y_train)
    return handle


def reference_distances(X_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """Euclidean distances computed directly, (num_test, num_train)."""
    return np.sqrt(np.sum((X_test[:, None, :] - X_train[None, :, :]) ** 2, axis=2))


def compare_distances(session: Session, method: str, visibility: str) -> None:
    """Compare the student's ``method`` with the reference distances."""
    X_train, X_test = points(session.rng, visibility)
    y_train = np.zeros(len(X_train), dtype=np.int64)
    handle = trained(session, X_train, y_train)
    got = session.call(f"{handle}.{method}", X_test)
    dists = as_array(f"{method}(X)", got, (len(X_test), len(X_train)), kinds="f", finite=False)
    expected = session.expected("dists", lambda: reference_distances(X_train, X_test))
    require_finite(f"{method}(X)", dists, expected)
    suspects = [
        ("the square root is missing (squared distances)", lambda: expected**2),
        ("L1 distances (sum of absolute differences) instead of L2", lambda: l1_distances(X_train, X_test)),
    ]
    assert_close(
        f"{method}(X) on duplicated points", dists, expected, rtol=RTOL, atol=DIST_ATOL, suspects=suspects
    )


def require_finite(subject: str, dists: np.ndarray, expected: np.ndarray) -> None:
    """Refuse NaN and infinity; NaN only where the distance is 0 is the named bug."""
    bad = ~np.isfinite(dists)
    if not np.any(bad):
        return
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    at_duplicates = np.all(np.isnan(dists[bad])) and np.all(expected[bad] <= DIST_ATOL)
    raise CheckFailed(
        f"{subject}[{where[0]}, {where[1]}]"
        + (" (test point equal to a training point)" if at_duplicates else ""),
        f"{expected[where]:.8g}",
        f"{dists[where]} ({int(np.count_nonzero(bad))} non-finite)",
        hint=DUPLICATES_NAN if at_duplicates else "",
        status=Status.FAILED if at_duplicates else Status.INVALID_OUTPUT,
    )


def l1_distances(X_train: np.ndarray, X_test: np.ndarray) -> np.ndarray:
    """Manhattan distances, (num_test, num_train): a common slip."""
    return np.sum(np.abs(X_test[:, None, :] - X_train[None, :, :]), axis=2)


def distance_check(label: str, visibility: str) -> Check:
    """Check one distance method against the reference."""

    def run(session: Session) -> None:
        compare_distances(session, METHODS[label], visibility)

    suffix = "" if visibility == VISIBLE else ", random sizes"
    return Check(
        name=f"distances, {label}{suffix}",
        points=2 if visibility == VISIBLE else 1,
        run=run,
        visibility=visibility,
        id=f"distances/{label.replace(' ', '-')}/{visibility}",
        properties=frozenset({METHODS[label], "duplicate points", "non-square"}),
        hint=(
            "dists[i, j] is the distance from test point i to training point j (shape "
            "(num_test, num_train)); with the expansion |x|^2 + |t|^2 - 2 x.t, clip negative "
            "rounding to 0 before np.sqrt or duplicated points give NaN"
        ),
    )


def check_no_loops(session: Session) -> None:
    """compute_distances_no_loops is correct and contains no loop nor comprehension."""
    with values_first():
        compare_distances(session, "compute_distances_no_loops", VISIBLE)
    require_no_loops(session, f"{CLASS}.compute_distances_no_loops", "compute_distances_no_loops")


def check_speed(session: Session) -> None:
    """The no-loop version is correct and beats a loop over pairs by SPEEDUP_MIN."""
    num_test, num_train, dim = SPEED_SIZES
    X_train = session.rng.normal(size=(num_train, dim))
    handle = trained(session, X_train, np.zeros(num_train, dtype=np.int64))

    def draw(repetition: int) -> tuple[np.ndarray, np.ndarray]:
        X_test = session.rng.normal(size=(num_test, dim))

        def reference() -> np.ndarray:
            model = session.reference.KNearestNeighbor()
            model.train(X_train, np.zeros(num_train, dtype=np.int64))
            return model.compute_distances_no_loops(X_test)

        return X_test, session.expected(f"distances/{repetition}", reference)

    session.record(
        **check_speedup(
            "compute_distances_no_loops speed",
            draw,
            lambda X_test, sample: loop_baseline(num_test * num_train, LOOP_CALLS, X_train[0], sample),
            lambda X_test: session.call(f"{handle}.compute_distances_no_loops", X_test),
            lambda X_test, got, expected: assert_close(
                "compute_distances_no_loops(X) on the timed input",
                as_array("compute_distances_no_loops(X)", got, expected.shape, kinds="f"),
                expected,
                atol=DIST_ATOL,
            ),
            session.paused,
        )
    )


def tie_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Distinct distances whose nearest labels tie in the vote.

    In every row the four nearest training points carry labels b, a, b, a
    with a < b: k = 2 and k = 4 tie, and the nearest point has the larger
    label, so a vote that keeps the first label seen picks the wrong one.

    Returns
    -------
    dists : ndarray of shape (6, 12)
    y_train : ndarray of shape (12,)
        Labels in [0, 4), three of each.
    """
    y_train = rng.permutation(np.repeat(np.arange(4), 3))
    dists = rng.uniform(1.0, 10.0, size=(6, 12))
    for row in dists:
        a, b = np.sort(rng.choice(4, 2, replace=False))
        with_a, with_b = np.flatnonzero(y_train == a), np.flatnonzero(y_train == b)
        row[[with_b[0], with_a[0], with_b[1], with_a[1]]] = [0.1, 0.2, 0.3, 0.4]
    return dists, y_train


def predict_labels_check(ks: tuple[int, ...], visibility: str) -> Check:
    """Check predict_labels on planted label ties for several k."""

    def run(session: Session) -> None:
        dists, y_train = tie_case(session.rng)
        handle = trained(session, np.zeros((12, 1)), y_train)
        for k in ks:
            got = session.call(f"{handle}.predict_labels", dists, k=k)
            labels = as_array(f"predict_labels(dists, k={k})", got, (len(dists),), kinds="iuf")
            expected = session.expected(
                f"k{k}", lambda k=k: reference_predict(session, np.zeros((12, 1)), y_train, dists, k)
            )
            wrong = np.flatnonzero(labels != expected)
            if wrong.size:
                row = int(wrong[0])
                raise CheckFailed(
                    f"predict_labels(dists, k={k}) row {row} ({wrong.size} rows wrong)",
                    f"label {expected[row]}",
                    f"{labels[row]:g}",
                )

    return Check(
        name=f"predict_labels, k in {ks}" + ("" if visibility == VISIBLE else ", random distances"),
        points=2 if visibility == VISIBLE else 1,
        run=run,
        visibility=visibility,
        id=f"predict_labels/{visibility}",
        properties=frozenset(
            {"predict_labels", "ties toward the smaller label", "k = 1", "even k", "odd k > 1"}
        ),
        hint=(
            "take the labels of the k smallest distances in each row (np.argsort), count them "
            "(np.bincount) and break ties toward the smaller label (np.argmax returns the first)"
        ),
    )


def reference_predict(session: Session, X_train, y_train, dists, k) -> np.ndarray:
    """The reference classifier's labels for precomputed ``dists``."""
    classifier = session.reference.KNearestNeighbor()
    classifier.train(X_train, y_train)
    return classifier.predict_labels(dists, k=k)


def check_cross_validation(session: Session) -> None:
    """cross_validate_k returns the reference's fold accuracies for each k."""
    X = session.rng.normal(size=(50, 4))
    y = session.rng.integers(0, 3, size=50)
    k_choices = [1, 3, 5, 8]
    got = session.call("cross_validate_k", X, y, k_choices, num_folds=5)
    expected = session.expected("accuracies", lambda: session.reference.cross_validate_k(X, y, k_choices, 5))
    if not isinstance(got, dict) or sorted(got) != sorted(str(k) for k in k_choices):
        keys = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise CheckFailed("cross_validate_k keys", f"the k choices {k_choices}", f"{keys}")
    for k in k_choices:
        accuracies = as_array(f"k_to_accuracies[{k}]", got[str(k)], (5,), kinds="f")
        assert_close(f"fold accuracies for k={k}", accuracies, np.asarray(expected[k]))


def mnist_check(visibility: str) -> Check:
    """Accuracy of the student's 3-NN on a slice of MNIST."""

    def run(session: Session) -> None:
        data = session.dataset("mnist")
        if visibility == VISIBLE:
            chosen = np.arange(MNIST_TEST_IMAGES)
        else:
            chosen = session.rng.choice(len(data.y_test), MNIST_TEST_IMAGES, replace=False)
        relabel = derangement(session.rng, 10)
        x_train = data.x_train.reshape(len(data.x_train), -1).astype(np.float64)
        x_test = data.x_test[chosen].reshape(len(chosen), -1).astype(np.float64)
        x_test = np.clip(x_test + session.rng.uniform(-MNIST_NOISE, MNIST_NOISE, x_test.shape), 0.0, 255.0)
        handle = trained(session, x_train, relabel[data.y_train])
        got = session.call(f"{handle}.predict", x_test, k=3, num_loops=0)
        labels = as_array("predict(X_test, k=3)", got, (len(chosen),), kinds="iuf")
        accuracy = float(np.mean(labels == relabel[data.y_test[chosen]]))
        session.record(accuracy=accuracy, test_images=len(chosen))
        if accuracy < MNIST_MIN_ACCURACY:
            raise CheckFailed(
                f"3-NN accuracy on {len(chosen)} perturbed MNIST test images, with the classes renamed "
                "the same way in training and test labels",
                f"at least {MNIST_MIN_ACCURACY:.0%}",
                f"{accuracy:.1%}",
            )

    return Check(
        name="MNIST accuracy, 3-NN" + ("" if visibility == VISIBLE else ", random test images"),
        points=2,
        run=run,
        visibility=visibility,
        seconds=60.0,
        hint=(
            "predict must use the no-loop distances when num_loops=0 and vote among k=3 neighbours "
            "of the training labels given to train (the classes are renamed: knowing MNIST's labels "
            "does not help)"
        ),
        id=f"mnist-accuracy/{visibility}",
        properties=frozenset({"accuracy learned from the given labels"}),
    )


def check_predict(session: Session) -> None:
    """predict(X, k, num_loops) chains the distances and the vote."""
    X_train, X_test = points(session.rng, VISIBLE)
    y_train = session.rng.integers(0, 3, size=len(X_train))
    handle = trained(session, X_train, y_train)
    for loops in (0, 1, 2):
        got = session.call(f"{handle}.predict", X_test, k=3, num_loops=loops)
        labels = as_array(f"predict(X, k=3, num_loops={loops})", got, (len(X_test),), kinds="iuf")
        expected = session.expected(
            f"loops{loops}",
            lambda: reference_predict(session, X_train, y_train, reference_distances(X_train, X_test), 3),
        )
        assert_close(f"predict(X, k=3, num_loops={loops})", labels, expected, rtol=0, atol=0)


EXERCISE = Exercise(
    id="knn",
    title="k-nearest neighbours",
    datasets=("mnist",),
    checks=(
        *(distance_check(label, VISIBLE) for label in METHODS),
        Check(
            "no loops in compute_distances_no_loops",
            1,
            check_no_loops,
            "use one matrix product and broadcasting; no for, while or comprehension",
            id="distances/no-loops/source",
            properties=frozenset({"no loops"}),
        ),
        Check(
            "no-loop distances at least 10x faster than two loops",
            1,
            check_speed,
            "build the distance matrix with X @ X_train.T and broadcast sums of squares",
            seconds=30.0,
            id="distances/no-loops/speed",
            properties=frozenset({"speed"}),
        ),
        predict_labels_check((1, 2, 4, 5), VISIBLE),
        Check(
            "predict with 0, 1 and 2 loops",
            1,
            check_predict,
            "predict computes dists then predict_labels",
            id="predict",
            properties=frozenset({"predict"}),
        ),
        Check(
            "cross-validation fold accuracies",
            2,
            check_cross_validation,
            "split with np.array_split into num_folds folds in order; for fold i train on the "
            "others, predict fold i, append the accuracy for each k",
            id="cross-validation",
            properties=frozenset({"cross-validation"}),
        ),
        mnist_check(VISIBLE),
        *(distance_check(label, HIDDEN) for label in METHODS),
        predict_labels_check((1, 2, 3, 4, 5, 7), HIDDEN),
        mnist_check(HIDDEN),
    ),
)
