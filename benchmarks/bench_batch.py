"""Cost of the sandbox and throughput of batch grading, as ratios.

(a) Grader overhead per sandboxed call: ``svm_loss_vectorized`` of
``solutions/svm.py`` at the gradient-check size (W 3,073 x 10, X 50 x 3,073)
called through a sandboxed child (arrays out, ``.npy`` files back, validated)
against the bare in-process call; and the start of a child (once per exercise,
again after a child dies) against the same bare call.

(b) The reference submission (``solutions/``) graded in full, dev and test
mode (the MLP's training dominates).

(c) Batch throughput on ``COPIES`` copies of a mixed set (correct, stub,
seed-dependent bug, a module that exits at import; ``tests/workflows/test_batch.py``'s
``make_class``) plus one unsupported zip, test mode, ``--only svm`` by default:
a local process pool with 1 and 2 jobs (scaling efficiency = T1 / (2 T2)), and
a local Dask cluster of 2 workers (startup timed apart).

Run from the repository root::

    python benchmarks/bench_batch.py [--copies 20] [--only svm] [--skip-reference]

Takes about five minutes on two cores; the MLP in (b) needs the datasets
(``--data-dir``, default ``../shared/datasets``).
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

from autograder.batch import plan, run_batch
from autograder.executors import make_executor
from autograder.grading import Options, grade
from autograder.sandbox import Child, Limits
from tests.workflows.test_batch import make_class

CALLS = 50  # sandboxed calls timed in (a)
STARTS = 3  # child starts timed in (a)
GRADCHECK_SHAPE = (50, 3073, 10)  # N, D, C of the SVM gradient checks


def bench_overhead() -> list[_common.Row]:
    """Rows of (a): per-call and per-start overhead of the sandbox."""
    svm = _common.load_solution("svm")
    n, d, c = GRADCHECK_SHAPE
    rng = np.random.default_rng(0)
    W, X, y = rng.standard_normal((d, c)) * 1e-3, rng.standard_normal((n, d)), rng.integers(0, c, n)
    bare = _common.best_of(lambda: svm.svm_loss_vectorized(W, X, y, 0.1), repeat=CALLS)
    module = _common.ROOT / "solutions" / "svm.py"
    limits = Limits.for_mode("dev")

    def start() -> Child:
        return Child(module, "svm", limits, time.monotonic() + limits.wall_seconds, frozenset())

    started = time.perf_counter()
    for _ in range(STARTS):
        start().close()
    start_seconds = (time.perf_counter() - started) / STARTS
    child = start()
    try:
        child.call("svm_loss_vectorized", W, X, y, 0.1, seconds=30)
        began = time.perf_counter()
        for _ in range(CALLS):
            child.call("svm_loss_vectorized", W, X, y, 0.1, seconds=30)
        call_seconds = (time.perf_counter() - began) / CALLS
    finally:
        child.close()
    return [
        ("bare svm_loss_vectorized call", bare, None, ""),
        ("same call through the sandbox", call_seconds, call_seconds / bare, "sandboxed / bare"),
        ("start of a sandboxed child", start_seconds, start_seconds / bare, "start / bare call"),
    ]


def bench_reference(data_dir: Path) -> list[_common.Row]:
    """Rows of (b): the reference graded in full in dev and test mode."""
    times = {}
    for mode in ("dev", "test"):
        began = time.perf_counter()
        result = grade(_common.ROOT / "solutions", Options(mode=mode, data_dir=data_dir))
        times[mode] = time.perf_counter() - began
        print(f"reference, {mode} mode: {result.score:g} / {result.max_score:g}")
    return [
        ("reference, dev mode", times["dev"], None, ""),
        ("reference, test mode", times["test"], times["test"] / times["dev"], "test / dev"),
    ]


def timed_batch(batch: list, out: Path, **executor: int) -> tuple[float, float]:
    """Seconds to set the executor up, and to grade ``batch`` with it."""
    began = time.perf_counter()
    with make_executor(**executor) as pool:
        ready = time.perf_counter()
        run_batch(batch, out, pool, io.StringIO())
        done = time.perf_counter()
    return ready - began, done - ready


def bench_batch(copies: int, only: tuple[str, ...], data_dir: Path) -> list[_common.Row]:
    """Rows of (c): batch throughput with 1 and 2 jobs and on a local Dask cluster."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        jobs = plan(make_class(root / "subs", copies), "test", only, data_dir)
        _, one = timed_batch(jobs, root / "one", jobs=1)
        _, two = timed_batch(jobs, root / "two", jobs=2)
        startup, dask = timed_batch(jobs, root / "dask", dask_workers=2)
    count = len(jobs)
    print(f"batch: {count} submissions, --only {','.join(only)}, test mode")
    return [
        ("batch, --jobs 1 (per submission)", one / count, None, ""),
        ("batch, --jobs 2 (per submission)", two / count, one / (2 * two), "scaling efficiency T1 / (2 T2)"),
        ("batch, Dask 2 workers (per submission)", dask / count, dask / two, "Dask / --jobs 2"),
        ("Dask local cluster startup", startup, None, ""),
    ]


def main() -> None:
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--only", default="svm")
    parser.add_argument("--data-dir", type=Path, default=_common.data_dir())
    parser.add_argument("--skip-reference", action="store_true", help="skip (b), the full reference grading")
    args = parser.parse_args()
    with _common.run("Sandbox overhead and batch throughput"):
        rows = bench_overhead()
        if not args.skip_reference:
            rows += bench_reference(args.data_dir)
        rows += bench_batch(args.copies, tuple(args.only.split(",")), args.data_dir)
        _common.print_table(rows)


if __name__ == "__main__":
    main()
