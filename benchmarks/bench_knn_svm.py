"""Speed of the kNN no-loop distance matrix and the vectorized SVM loss, as ratios.

(a) ``KNearestNeighbor.compute_distances_no_loops`` of ``solutions/knn.py`` on
500 test x 5,000 training points of 3,072 dimensions (CIFAR-10 sized), float64,
against ``scipy.spatial.distance.cdist(..., "euclidean")`` on the same data and
against the GEMM bound: the FLOPs of its dominant product ``X @ X_train.T``,
``2 * 500 * 5000 * 3072``, divided by the float64 GEMM rate measured in the
same run.

(b) ``svm_loss_vectorized`` of ``solutions/svm.py`` (loss and gradient) with
N = 49,000, D = 3,073, C = 10, float64, against the same loss computed by torch
and differentiated by autograd (float64, same thread count), and against the
GEMM bound of its two products ``X @ W`` and ``X.T @ coeffs``
(``2 * 2 * N * D * C`` FLOPs).

Run from anywhere (``BENCH_THREADS=n`` to change the thread count, default all
cores)::

    python benchmarks/bench_knn_svm.py

Takes about a minute on two cores, most of it in ``cdist``; needs about 2 GB
of memory (the SVM data matrix alone is 1.2 GB).
"""

from __future__ import annotations

import _common
import numpy as np
from scipy.spatial.distance import cdist

NUM_TEST, NUM_TRAIN, DIM = 500, 5000, 3072
SVM_N, SVM_D, SVM_C, REG = 49000, 3073, 10, 2.5e4 * 1e-5


def bench_knn(gemm_flops: float, repeat: int) -> list[_common.Row]:
    """Time the no-loop distances, cdist and the GEMM bound; return the table rows.

    Parameters
    ----------
    gemm_flops : float
        Measured float64 GEMM FLOP/s.
    repeat : int
        Timed runs of the reference (cdist is timed ``max(1, repeat - 1)`` times).

    Returns
    -------
    list of _common.Row
        Rows of the result table.
    """
    knn = _common.load_solution("knn")
    rng = np.random.default_rng(0)
    # CIFAR-10-like pixel values; timings do not depend on them.
    X_train = rng.uniform(0.0, 255.0, size=(NUM_TRAIN, DIM))
    X_test = rng.uniform(0.0, 255.0, size=(NUM_TEST, DIM))
    classifier = knn.KNearestNeighbor()
    classifier.train(X_train, rng.integers(0, 10, NUM_TRAIN))

    ours = _common.best_of(lambda: classifier.compute_distances_no_loops(X_test), repeat=repeat)
    reference = cdist(X_test, X_train, "euclidean")
    scipy_s = _common.best_of(
        lambda: cdist(X_test, X_train, "euclidean"), repeat=max(1, repeat - 1), warmup=0
    )
    dists = classifier.compute_distances_no_loops(X_test)
    error = float(np.max(np.abs(dists - reference)) / np.max(reference))
    bound = 2.0 * NUM_TEST * NUM_TRAIN * DIM / gemm_flops
    label = f"kNN no-loop dists {NUM_TEST}x{NUM_TRAIN}x{DIM}"
    return [
        (label, ours, None, f"(max rel. diff to cdist {error:.1e})"),
        ("  scipy cdist euclidean", scipy_s, ours / scipy_s, "ours / cdist"),
        ("  GEMM bound 2*M*N*K", bound, ours / bound, "ours / GEMM bound"),
    ]


def bench_svm(gemm_flops: float, repeat: int) -> list[_common.Row]:
    """Time the vectorized SVM loss and gradient against torch autograd; return the table rows.

    Parameters
    ----------
    gemm_flops : float
        Measured float64 GEMM FLOP/s.
    repeat : int
        Timed runs of each implementation.

    Returns
    -------
    list of _common.Row
        Rows of the result table.
    """
    svm = _common.load_solution("svm")

    def hinge(scores, labels):  # torch tensors of shape (N, C) and (N,)
        labels = labels.unsqueeze(1)
        margins = (scores - scores.gather(1, labels) + 1.0).clamp(min=0.0)
        return margins.scatter(1, labels, 0.0).sum() / len(scores)

    return _common.linear_loss_rows(
        f"SVM loss+grad {SVM_N}x{SVM_D}, C={SVM_C}",
        svm.svm_loss_vectorized,
        hinge,
        "torch autograd float64",
        (SVM_N, SVM_D, SVM_C),
        REG,
        1,
        gemm_flops,
        repeat,
    )


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks and print the table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).
    """
    args = _common.argument_parser(__doc__, repeat=3).parse_args(argv)
    with _common.run("bench_knn_svm: kNN distances and SVM loss, float64", with_torch=True):
        flops = _common.print_gemm_rate()
        rows = bench_knn(flops, args.repeat)
        rows += bench_svm(flops, args.repeat)
        _common.print_table(rows)


if __name__ == "__main__":
    main()
