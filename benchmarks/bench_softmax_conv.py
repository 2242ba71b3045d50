"""Speed of the fast convolution and max-pool references and the softmax loss, as ratios to torch.

All in float64, on the same thread count: NumPy's BLAS, torch
(``torch.get_num_threads()``) and the fast references' ``threads`` (chunks of
images side by side, BLAS held to one thread inside them); the header prints
all three:

* convolution forward + backward with the grader-internal fast reference
  (``solutions/_fast_conv.py``), N = 50 images of 3 x 32 x 32, F = 32 filters
  of 3 x 3, stride 1, pad 1, against ``torch.nn.functional.conv2d`` forward +
  autograd backward (dx, dw, db); and the GEMM bound of its three products
  (forward, dw, dx: ``3 * 2 * N * F * C * HH * WW * H' * W'`` FLOPs). The naive
  reference (``solutions/conv.py``) is timed once, on N = 2, against the fast
  one on the same input;
* 2 x 2, stride 2 max-pool forward + backward (fast reference) on the
  convolution's output shape (50, 32, 32, 32) against
  ``torch.nn.functional.max_pool2d``;
* ``softmax_loss_vectorized`` (loss and gradient) of ``solutions/softmax.py``
  with N = 49,000, D = 3,073, C = 10 against ``cross_entropy`` + ``reg * sum(W * W)``
  differentiated by torch autograd, and the GEMM bound of its two products.

Run from anywhere (``BENCH_THREADS=n`` to change the thread count, default all
cores)::

    python benchmarks/bench_softmax_conv.py

Takes under a minute on two cores; needs about 2 GB of memory (the softmax
data matrix is 1.2 GB).
"""

from __future__ import annotations

import time
from types import ModuleType

import _common
import numpy as np

CONV_N, CONV_C, SIDE, CONV_F, KERNEL = 50, 3, 32, 32, 3
CONV_PARAM = {"stride": 1, "pad": 1}
NAIVE_N = 2
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
SM_N, SM_D, SM_C, REG = 49000, 3073, 10, 5e-6


def bench_conv(torch: ModuleType, gemm_flops: float, repeat: int) -> list[_common.Row]:
    """Time convolution forward + backward: fast and naive references, torch, GEMM bound.

    Parameters
    ----------
    torch : module
        torch, with the benchmark thread count, which the fast reference is given too.
    gemm_flops : float
        Measured float64 GEMM FLOP/s.
    repeat : int
        Timed runs of the fast reference and torch.

    Returns
    -------
    list of _common.Row
        Rows of the result table.
    """
    fast = _common.load_solution("_fast_conv")
    naive = _common.load_solution("conv")
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((CONV_N, CONV_C, SIDE, SIDE))
    w = rng.standard_normal((CONV_F, CONV_C, KERNEL, KERNEL)) * 0.1
    b = rng.standard_normal(CONV_F)
    dout = rng.standard_normal((CONV_N, CONV_F, SIDE, SIDE))  # pad 1, stride 1: same size

    threads = torch.get_num_threads()

    def ours(x: np.ndarray = x, dout: np.ndarray = dout) -> tuple[np.ndarray, ...]:
        out, cache = fast.conv_forward_fast(x, w, b, CONV_PARAM, threads=threads)
        return (out, *fast.conv_backward_fast(dout, cache, threads=threads))

    xt = torch.from_numpy(x).requires_grad_(True)
    wt = torch.from_numpy(w).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    dout_t = torch.from_numpy(dout)

    def theirs() -> tuple[object, ...]:
        xt.grad = wt.grad = bt.grad = None
        out = F.conv2d(xt, wt, bt, stride=CONV_PARAM["stride"], padding=CONV_PARAM["pad"])
        out.backward(dout_t)
        return out, xt.grad, wt.grad, bt.grad

    ours_s = _common.best_of(ours, repeat=repeat)
    torch_s = _common.best_of(theirs, repeat=repeat)
    error = max(_common.rel_error(a, t.detach().numpy()) for a, t in zip(ours(), theirs(), strict=True))
    flops = 3 * 2.0 * CONV_N * CONV_F * CONV_C * KERNEL * KERNEL * SIDE * SIDE
    bound = flops / gemm_flops

    x_small, dout_small = x[:NAIVE_N].copy(), dout[:NAIVE_N].copy()

    def naive_once() -> tuple[np.ndarray, ...]:
        out, cache = naive.conv_forward_naive(x_small, w, b, CONV_PARAM)
        return (out, *naive.conv_backward_naive(dout_small, cache))

    start = time.perf_counter()
    naive_result = naive_once()
    naive_s = time.perf_counter() - start
    fast_small_s = _common.best_of(lambda: ours(x_small, dout_small), repeat=repeat)
    naive_error = max(
        _common.rel_error(a, n) for a, n in zip(ours(x_small, dout_small), naive_result, strict=True)
    )
    shape = f"{CONV_N}x{CONV_C}x{SIDE}x{SIDE}, {CONV_F} {KERNEL}x{KERNEL}"
    return [
        (f"conv fwd+bwd fast ref, {shape}", ours_s, None, f"(max rel. diff to torch {error:.1e})"),
        ("  torch conv2d + autograd", torch_s, ours_s / torch_s, "ours / torch"),
        ("  GEMM bound 3 products", bound, ours_s / bound, "ours / GEMM bound"),
        (f"conv fwd+bwd NAIVE ref, N={NAIVE_N} (timed once)", naive_s, None, ""),
        (f"  fast ref, N={NAIVE_N}", fast_small_s, naive_s / fast_small_s, "naive / fast"),
        ("  (naive vs fast max rel. diff)", None, None, f"{naive_error:.1e}"),
    ]


def bench_pool(torch: ModuleType, repeat: int) -> list[_common.Row]:
    """Time 2x2 stride-2 max-pool forward + backward, fast reference against torch.

    Parameters
    ----------
    torch : module
        torch, with the benchmark thread count, which the fast reference is given too.
    repeat : int
        Timed runs of each implementation.

    Returns
    -------
    list of _common.Row
        Rows of the result table.
    """
    fast = _common.load_solution("_fast_conv")
    threads = torch.get_num_threads()
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal((CONV_N, CONV_F, SIDE, SIDE))
    dout = rng.standard_normal((CONV_N, CONV_F, SIDE // 2, SIDE // 2))

    def ours() -> tuple[np.ndarray, np.ndarray]:
        out, cache = fast.max_pool_forward_fast(x, POOL_PARAM, threads=threads)
        return out, fast.max_pool_backward_fast(dout, cache, threads=threads)

    xt = torch.from_numpy(x).requires_grad_(True)
    dout_t = torch.from_numpy(dout)

    def theirs() -> tuple[object, object]:
        xt.grad = None
        out = F.max_pool2d(xt, kernel_size=2, stride=2)
        out.backward(dout_t)
        return out, xt.grad

    ours_s = _common.best_of(ours, repeat=repeat)
    torch_s = _common.best_of(theirs, repeat=repeat)
    error = max(_common.rel_error(a, t.detach().numpy()) for a, t in zip(ours(), theirs(), strict=True))
    return [
        (
            f"max-pool 2x2/2 fwd+bwd fast ref, {CONV_N}x{CONV_F}x{SIDE}x{SIDE}",
            ours_s,
            None,
            f"(max rel. diff to torch {error:.1e})",
        ),
        ("  torch max_pool2d + autograd", torch_s, ours_s / torch_s, "ours / torch"),
    ]


def bench_softmax(torch: ModuleType, gemm_flops: float, repeat: int) -> list[_common.Row]:
    """Time the vectorized softmax loss and gradient against torch autograd and the GEMM bound.

    Parameters
    ----------
    torch : module
        torch, with the benchmark thread count.
    gemm_flops : float
        Measured float64 GEMM FLOP/s.
    repeat : int
        Timed runs of each implementation.

    Returns
    -------
    list of _common.Row
        Rows of the result table.
    """
    softmax = _common.load_solution("softmax")
    return _common.linear_loss_rows(
        f"softmax loss+grad {SM_N}x{SM_D}, C={SM_C}",
        softmax.softmax_loss_vectorized,
        torch.nn.functional.cross_entropy,
        "torch cross_entropy + autograd",
        (SM_N, SM_D, SM_C),
        REG,
        2,
        gemm_flops,
        repeat,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the three benchmarks and print the table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).
    """
    parser = _common.argument_parser(__doc__, repeat=5)
    parser.add_argument(
        "--skip-softmax", action="store_true", help="conv and max-pool only (no 1.2 GB matrix)"
    )
    args = parser.parse_args(argv)
    with _common.run(
        "bench_softmax_conv: conv, max-pool and softmax loss, float64", with_torch=True
    ) as torch:
        print(f"fast conv/pool references: threads={torch.get_num_threads()} (BLAS 1 inside each)")
        flops = _common.print_gemm_rate()
        rows = bench_conv(torch, flops, args.repeat)
        rows += bench_pool(torch, args.repeat)
        if not args.skip_softmax:
            rows += bench_softmax(torch, flops, args.repeat)
        _common.print_table(rows)


if __name__ == "__main__":
    main()
