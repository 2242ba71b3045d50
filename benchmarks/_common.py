"""Shared helpers of the speed benchmarks: threads, timing, GEMM rate, references, data, tables.

Import this module before NumPy: at import time it fixes the BLAS thread count
through the thread-pool environment variables (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), which OpenBLAS reads once, when
NumPy loads it. The count is ``$BENCH_THREADS`` if set, else every core this
process may run on. `import_torch` gives torch the same count, so every ratio
compares NumPy and torch on the same number of threads.

Every benchmark prints ratios, never bare pass/fail timings: against torch on
the same thread count, against SciPy, or against the *GEMM bound*, the time the
FLOPs of an operation's matrix products would take at the float GEMM rate this
machine achieves in the same run (`gemm_rate`).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

#: One line of a result table: what, seconds, ratio, which times the ratio divides.
Row = tuple[str, float | None, float | None, str]


def _thread_count() -> int:
    """Threads to use: ``$BENCH_THREADS``, else the cores available to this process."""
    wanted = os.environ.get("BENCH_THREADS")
    if wanted:
        return max(1, int(wanted))
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Thread count shared by NumPy's BLAS and torch.
THREADS = _thread_count()
if "numpy" in sys.modules:
    print(
        "warning: NumPy was imported before benchmarks/_common.py; its BLAS thread count is not controlled",
        file=sys.stderr,
    )
for _var in _THREAD_VARS:
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402  (must follow the thread-count environment variables)

#: Repository root (the folder holding ``solutions/`` and ``autograder/``), put first on
#: ``sys.path`` so that ``python benchmarks/bench_*.py`` measures this checkout's package
#: (and its ``tests`` helpers) without installing it.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def import_torch() -> Any:
    """Import torch and give it the benchmark thread count.

    Returns
    -------
    module
        The ``torch`` module, with ``torch.set_num_threads(THREADS)`` applied.
    """
    import torch

    torch.set_num_threads(THREADS)
    return torch


def load_solution(name: str) -> ModuleType:
    """Import ``solutions/<name>.py`` by path, so the benchmarks work from a checkout.

    Parameters
    ----------
    name : str
        File name without ``.py``, e.g. ``"knn"`` or ``"_fast_conv"``.

    Returns
    -------
    ModuleType
        The freshly executed module.
    """
    from autograder.modules import load_module

    return load_module(ROOT / "solutions" / f"{name}.py", f"bench_solution_{name.lstrip('_')}")


def best_of(fn: Callable[[], object], repeat: int = 3, warmup: int = 1) -> float:
    """Best wall-clock time of ``fn()`` over several runs.

    The minimum is the least disturbed run: other processes, page faults and
    frequency changes only ever add time.

    Parameters
    ----------
    fn : callable
        The work to time, called without arguments.
    repeat : int, default 3
        Number of timed calls.
    warmup : int, default 1
        Untimed calls made first (allocator, caches, lazy initialisation).

    Returns
    -------
    float
        Seconds of the fastest timed call.
    """
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_rate(
    dtype: type[np.floating] | np.dtype = np.float64,
    shape: tuple[int, int, int] = (3072, 3072, 3072),
    repeat: int = 5,
) -> float:
    """Floating-point operations per second NumPy's BLAS achieves on one large GEMM.

    Parameters
    ----------
    dtype : NumPy float type, default float64
        Element type of the product.
    shape : (M, K, N), default (3072, 3072, 3072)
        The product timed is ``(M, K) @ (K, N)``, counted as ``2 * M * K * N``
        FLOPs.
    repeat : int, default 5
        Timed products; the fastest one is used.

    Returns
    -------
    float
        Achieved FLOP/s.
    """
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(dtype)
    b = rng.standard_normal((K, N)).astype(dtype)
    seconds = best_of(lambda: a @ b, repeat=repeat)
    return 2.0 * M * K * N / seconds


def blas_threads() -> int | None:
    """Thread count reported by the OpenBLAS library NumPy loaded, if it can be asked.

    Returns
    -------
    int or None
        ``openblas_get_num_threads()`` of the loaded library (looked up in
        ``/proc/self/maps``), or None when that is not possible (not Linux,
        another BLAS, symbol not found).
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    names = (
        "scipy_openblas_get_num_threads64_",
        "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_",
        "openblas_get_num_threads",
    )
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            getter = getattr(lib, name, None)
            if getter is not None:
                return int(getter())
    return None


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


class CpuMonitor:
    """How many cores *other* processes keep busy, between construction and `other_cores`.

    The busy CPU time of the whole machine (``/proc/stat``) minus this
    process's own CPU time (all threads), divided by the wall time. Other work
    on the cores distorts multi-threaded timings, most of all for small
    products whose threads meet at a barrier many times per second.
    """

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.busy = _busy_cpu_seconds()
        times = os.times()
        self.own = times.user + times.system

    def other_cores(self) -> float | None:
        """Average number of cores kept busy by other processes since construction, or None."""
        busy = _busy_cpu_seconds()
        if busy is None or self.busy is None:
            return None
        times = os.times()
        own = times.user + times.system - self.own
        wall = time.perf_counter() - self.wall
        return max(0.0, (busy - self.busy - own) / wall)


#: Started when this module is imported; read by `print_footer`.
RUN_MONITOR = CpuMonitor()


def _load_line(other: float | None, when: str) -> str:
    """Say how many cores other processes used, with a warning when that is not negligible."""
    if other is None:
        return ""
    line = f"other processes kept {other:.2f} of {os.cpu_count()} cores busy {when}"
    if other > 0.2:
        line += (
            "\nWARNING: the machine is not idle; multi-threaded timings (small matrix products above all)"
            " can be several times slower than on an idle machine. Rerun when idle, or with BENCH_THREADS=1."
        )
    return line


def print_footer(start: float) -> None:
    """Print the total wall time and how busy other processes kept the cores during the run.

    Parameters
    ----------
    start : float
        ``time.perf_counter()`` at the start of the run.
    """
    print()
    line = _load_line(RUN_MONITOR.other_cores(), "during the run")
    if line:
        print(line)
    print(f"total {time.perf_counter() - start:.0f} s")


def print_header(title: str, torch: Any | None = None) -> None:
    """Print what was measured and on which setup: versions, threads, load.

    Parameters
    ----------
    title : str
        First line.
    torch : module, optional
        The torch module, to print its version and thread count.
    """
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    print(title)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, python {platform.python_version()}, numpy {np.__version__} "
        f"({blas.get('name')} {blas.get('version')}), {platform.machine()}, {os.cpu_count()} cores"
    )
    probe = CpuMonitor()
    time.sleep(0.5)
    line = _load_line(probe.other_cores(), "in the 0.5 s before the start")
    if line:
        print(line)
    line = f"threads: {THREADS} (env {_THREAD_VARS[0]}={os.environ[_THREAD_VARS[0]]}"
    reported = blas_threads()
    if reported is not None:
        line += f", OpenBLAS reports {reported}"
    line += ")"
    if torch is not None:
        line += f"; torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}"
    print(line)


def argument_parser(doc: str, repeat: int | None = None, timed: str = "runs") -> argparse.ArgumentParser:
    """The command line of a benchmark, described by the first line of its docstring.

    Parameters
    ----------
    doc : str
        The benchmark module's docstring.
    repeat : int, optional
        Default of a ``--repeat`` option (timed runs, the best is kept); no
        such option when None.
    timed : str, default "runs"
        What ``--repeat`` counts, for its help text (e.g. ``"epochs"``).

    Returns
    -------
    argparse.ArgumentParser
        The parser, to which a benchmark adds its own options.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if repeat is not None:
        parser.add_argument(
            "--repeat", type=int, default=repeat, help=f"timed {timed} per measurement (best is kept)"
        )
    return parser


@contextmanager
def run(title: str, with_torch: bool = False) -> Iterator[Any]:
    """Frame a benchmark's output: the header first, the total time and the load last.

    Parameters
    ----------
    title : str
        First line of the header.
    with_torch : bool, default False
        Import torch with the benchmark thread count (`import_torch`) and name
        its version and threads in the header.

    Yields
    ------
    module or None
        The torch module when ``with_torch``, else None.
    """
    start = time.perf_counter()
    torch = import_torch() if with_torch else None
    print_header(title, torch)
    yield torch
    print_footer(start)


def print_gemm_rate() -> float:
    """Measure and print the float64 GEMM rate (`gemm_rate` with its defaults).

    Returns
    -------
    float
        Achieved float64 FLOP/s.
    """
    flops = gemm_rate(np.float64)
    print(f"float64 GEMM rate: {flops / 1e9:.1f} GFLOP/s ((3072, 3072) @ (3072, 3072), best of 5)")
    return flops


def print_table(rows: Sequence[Row]) -> None:
    """Print the result table.

    Parameters
    ----------
    rows : sequence of (what, seconds, ratio, meaning)
        ``seconds`` and ``ratio`` may be None (printed as a dash); ``meaning``
        says which times the ratio divides, e.g. ``"ours / torch"``.
    """
    width = max(len("what"), *(len(row[0]) for row in rows))
    print()
    print(f"{'what':<{width}}  {'seconds':>9}  {'ratio':>8}  ratio of")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 8}  {'-' * 24}")
    for what, seconds, ratio, meaning in rows:
        sec = f"{seconds:9.4f}" if seconds is not None else f"{'-':>9}"
        rat = f"{ratio:8.2f}" if ratio is not None else f"{'-':>8}"
        print(f"{what:<{width}}  {sec}  {rat}  {meaning}".rstrip())


def data_dir() -> Path:
    """Data directory: ``$AUTOGRADER_DATA``, else ``../shared/datasets`` next to the repository."""
    return Path(os.environ.get("AUTOGRADER_DATA") or ROOT.parent / "shared" / "datasets")


def load_fashion_mnist_train() -> tuple[np.ndarray, np.ndarray, str] | None:
    """The Fashion-MNIST training set, read by ``autograder.datasets``, if found.

    Returns
    -------
    (images, labels, source) or None
        ``images`` uint8 of shape (N, 784), ``labels`` int64 of shape (N,),
        and a short description of where they came from; None when the files
        are not found.
    """
    from autograder import datasets

    try:
        loaded = datasets.load("fashion-mnist", data_dir=data_dir())
    except datasets.DatasetUnavailable:
        return None
    official = "official files" if loaded.official else "files differ from the published ones"
    return loaded.x_train, loaded.y_train, f"{loaded.data_dir} (autograder.datasets, {official})"


def rel_error(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest absolute difference relative to the largest magnitude of ``theirs``."""
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def linear_loss_rows(
    label: str,
    ours: Callable[[np.ndarray, np.ndarray, np.ndarray, float], tuple[float, np.ndarray]],
    data_loss: Callable[[Any, Any], Any],
    theirs_label: str,
    sizes: tuple[int, int, int],
    reg: float,
    seed: int,
    gemm_flops: float,
    repeat: int,
) -> list[Row]:
    """Rows timing a linear classifier's ``(loss, dW)`` against its torch twin and a GEMM bound.

    Draws X (standard normal), y and W (standard normal times 1e-4), in that
    order, from ``np.random.default_rng(seed)``. The torch twin is
    ``data_loss(X @ W, y) + reg * sum(W * W)`` on the same arrays (shared
    memory, no copy but W's), differentiated by autograd. Both sides are run
    once more untimed to report their largest relative difference.

    Parameters
    ----------
    label : str
        First column of the first row.
    ours : callable
        ``ours(W, X, y, reg) -> (loss, dW)``: the NumPy loss timed.
    data_loss : callable
        ``data_loss(scores, labels)``: the torch loss without its penalty, on
        tensors of shape (N, C) and (N,).
    theirs_label : str
        What the torch row is called.
    sizes : (N, D, C)
        Examples, dimensions and classes.
    reg : float
        Regularization strength.
    seed : int
        Seed of the drawn arrays.
    gemm_flops : float
        Measured float64 GEMM FLOP/s; the bound is that of the two products
        ``X @ W`` and ``X.T @ dscores`` (``2 * 2 * N * D * C`` FLOPs).
    repeat : int
        Timed runs of each implementation.

    Returns
    -------
    list of Row
        Rows of the result table.
    """
    torch = import_torch()
    num, dim, classes = sizes
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num, dim))
    y = rng.integers(0, classes, num)
    W = rng.standard_normal((dim, classes)) * 1e-4
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)  # shared memory, no copy
    Wt = torch.from_numpy(W.copy()).requires_grad_(True)

    def theirs() -> tuple[float, Any]:
        Wt.grad = None
        loss = data_loss(Xt @ Wt, yt) + reg * (Wt * Wt).sum()
        loss.backward()
        return loss.item(), Wt.grad

    ours_s = best_of(lambda: ours(W, X, y, reg), repeat=repeat)
    theirs_s = best_of(theirs, repeat=repeat)
    bound_seconds = 2 * 2.0 * num * dim * classes / gemm_flops
    loss, grad = ours(W, X, y, reg)
    loss_t, grad_t = theirs()
    error = max(abs(loss - loss_t) / abs(loss_t), rel_error(grad, grad_t.numpy()))
    return [
        (label, ours_s, None, f"(max rel. diff to torch {error:.1e})"),
        (f"  {theirs_label}", theirs_s, ours_s / theirs_s, "ours / torch"),
        ("  GEMM bound 2 products", bound_seconds, ours_s / bound_seconds, "ours / GEMM bound"),
    ]
