"""Epoch time of the reference NumPy MLP against the same model in torch and the GEMM bound.

The reference ``NeuralNetwork`` of ``solutions/mlp.py`` (784-128-10, ReLU,
softmax cross-entropy, plain SGD with lr 0.01) is trained for whole epochs over
the 60,000 Fashion-MNIST training images in batches of 64 (938 steps, the last
one of 32), each step ``net.train_step(x[idx], y[idx])`` on a fixed shuffled
order, in float32 and in float64: the images are scaled to [0, 1] in that
dtype and the parameters are cast to it after construction.

It is compared with

* the same model in torch on the CPU with the same thread count:
  ``nn.Linear(784, 128) -> ReLU -> nn.Linear(128, 10)``, ``cross_entropy``,
  ``torch.optim.SGD(lr=0.01)``, same batches in the same order, the same
  initial weights, ``loss.item()`` every step as ``train_step`` returns the
  loss;
* the GEMM bound of one epoch: ``3 * 2 * N * (784 * 128 + 128 * 10)`` FLOPs
  (forward, weight-gradient and input-gradient products of both layers)
  divided by the GEMM rate of that dtype measured in the same run.

The data are read from ``$AUTOGRADER_DATA`` or ``../shared/datasets`` next to
the repository (``fashion-mnist/train-*-ubyte.gz``); when they are missing,
random images of the same shape are used and the output says so.

Run from anywhere (``BENCH_THREADS=n`` to change the thread count, default all
cores)::

    python benchmarks/bench_mlp.py

Takes about a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import _common
import numpy as np

BATCH, HIDDEN, CLASSES, LR = 64, 128, 10, 0.01
PARAMS = ("W1", "b1", "W2", "b2")


def numpy_epoch(net: Any, x: np.ndarray, y: np.ndarray, order: np.ndarray) -> float:
    """Train the reference network for one epoch; return the mean batch loss.

    Parameters
    ----------
    net : NeuralNetwork
        The reference network, trained in place.
    x : ndarray of shape (N, 784)
        Images in [0, 1].
    y : ndarray of shape (N,)
        Labels.
    order : ndarray of shape (N,)
        Order in which the examples are visited.

    Returns
    -------
    float
        Mean of the losses returned by ``train_step``.
    """
    total = 0.0
    for start in range(0, len(order), BATCH):
        idx = order[start : start + BATCH]
        total += net.train_step(x[idx], y[idx])
    return total / -(-len(order) // BATCH)


def make_torch_epoch(
    torch: ModuleType, net: Any, x: np.ndarray, y: np.ndarray, order: np.ndarray
) -> Callable[[], float]:
    """Build the torch model (initial weights copied from ``net``) and its epoch function.

    Parameters
    ----------
    torch : module
        torch, with the benchmark thread count.
    net : NeuralNetwork
        Reference network whose (untrained) parameters and dtype are copied.
    x, y, order : ndarray
        As in `numpy_epoch`; shared with torch without copies.

    Returns
    -------
    callable
        ``epoch() -> float``, one epoch of SGD returning the mean batch loss.
    """
    nn, F = torch.nn, torch.nn.functional
    dtype = torch.from_numpy(net.W1).dtype
    model = nn.Sequential(nn.Linear(x.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES)).to(dtype)
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(net.W1.T))
        model[0].bias.copy_(torch.from_numpy(net.b1[0]))
        model[2].weight.copy_(torch.from_numpy(net.W2.T))
        model[2].bias.copy_(torch.from_numpy(net.b2[0]))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt, order_t = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(order)

    def epoch() -> float:
        total = 0.0
        for start in range(0, len(order_t), BATCH):
            idx = order_t[start : start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / -(-len(order_t) // BATCH)

    return epoch


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    """Fashion-MNIST training images (uint8, N x 784) and labels, or random stand-ins.

    Returns
    -------
    images : ndarray of shape (60000, 784), dtype uint8
    labels : ndarray of shape (60000,), dtype int64
    source : str
        Where the data came from.
    """
    found = _common.load_fashion_mnist_train()
    if found is not None:
        images, labels, source = found
        return images, np.array(labels), source  # writable labels: torch.from_numpy warns otherwise
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(60000, 784), dtype=np.uint8)
    labels = rng.integers(0, CLASSES, size=60000)
    return images, labels, f"RANDOM data (Fashion-MNIST not found under {_common.data_dir()})"


def bench_dtype(
    torch: ModuleType,
    mlp: ModuleType,
    images: np.ndarray,
    labels: np.ndarray,
    dtype: type[np.floating],
    repeat: int,
) -> tuple[list[_common.Row], str]:
    """Time epochs of the reference and of torch in one dtype; return the rows and a dtype note.

    Parameters
    ----------
    torch : module
        torch, with the benchmark thread count.
    mlp : module
        ``solutions/mlp.py``.
    images, labels : ndarray
        Training set, images as uint8.
    dtype : NumPy float type
        float32 or float64.
    repeat : int
        Timed epochs of each implementation (the fastest is kept).

    Returns
    -------
    rows : list of _common.Row
        Rows of the result table.
    note : str
        Which arrays of the reference end up in which dtype.
    """
    name = np.dtype(dtype).name
    x = images.astype(dtype) / dtype(255)
    order = np.random.default_rng(0).permutation(len(x))
    np.random.seed(0)
    net = mlp.NeuralNetwork(input_size=x.shape[1], hidden_size=HIDDEN, output_size=CLASSES, lr=LR)
    init_dtypes = {p: getattr(net, p).dtype.name for p in PARAMS}
    for p in PARAMS:
        setattr(net, p, getattr(net, p).astype(dtype))
    torch_epoch = make_torch_epoch(torch, net, x, labels, order)

    first_loss = {"ours": numpy_epoch(net, x, labels, order), "torch": torch_epoch()}
    ours_s = _common.best_of(lambda: numpy_epoch(net, x, labels, order), repeat=repeat, warmup=0)
    torch_s = _common.best_of(torch_epoch, repeat=repeat, warmup=0)

    arrays = {k: v.dtype.name for k, v in vars(net).items() if isinstance(v, np.ndarray)}
    drifted = sorted(k for k, v in arrays.items() if v != name)
    note = (
        f"{name}: constructor made {sorted(set(init_dtypes.values()))} parameters (cast to {name}); "
        f"after training, arrays on the network not in {name}: {drifted or 'none'}"
    )
    rate = _common.gemm_rate(dtype)
    flops = 3 * 2.0 * len(x) * (x.shape[1] * HIDDEN + HIDDEN * CLASSES)
    bound = flops / rate
    loss_note = f"(epoch-1 mean loss ours {first_loss['ours']:.4f}, torch {first_loss['torch']:.4f})"
    rows: list[_common.Row] = [
        (f"reference MLP epoch, {name}", ours_s, None, loss_note),
        (f"  torch nn.Linear + SGD, {name}", torch_s, ours_s / torch_s, "ours / torch"),
        (f"  GEMM bound ({rate / 1e9:.0f} GFLOP/s)", bound, ours_s / bound, "ours / GEMM bound"),
    ]
    return rows, note


def main(argv: list[str] | None = None) -> None:
    """Run the float32 and float64 measurements and print the table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``).
    """
    args = _common.argument_parser(__doc__, repeat=3, timed="epochs").parse_args(argv)
    with _common.run("bench_mlp: reference MLP 784-128-10, one epoch, batch 64", with_torch=True) as torch:
        images, labels, source = load_data()
        steps = -(-len(images) // BATCH)
        print(f"data: {len(images)} images x {images.shape[1]}, {steps} steps per epoch; {source}")
        mlp = _common.load_solution("mlp")
        rows: list[_common.Row] = []
        notes: list[str] = []
        for dtype in (np.float32, np.float64):
            dtype_rows, note = bench_dtype(torch, mlp, images, labels, dtype, args.repeat)
            rows += dtype_rows
            notes.append(note)
        _common.print_table(rows)
        print()
        for note in notes:
            print(note)
        print("lines of solutions/mlp.py that name float64 (they upcast whatever they touch):")
        for number, line in enumerate((_common.ROOT / "solutions" / "mlp.py").read_text().splitlines(), 1):
            if "np.float64" in line:
                print(f"  {number}: {line.strip()}")


if __name__ == "__main__":
    main()
