"""Measure the reference MLP under the grader's training protocol.

The grader trains the student's ``NeuralNetwork`` itself: ``np.random.seed(seed)``
before construction (initial weights), a ``np.random.default_rng(seed)``
permutation of the training set each epoch, batches of 64 (the last one
smaller), a fixed number of epochs, then ``predict`` on the evaluation images.
The learning rate is the lab default, 0.01: the grader cannot change it.

This script reports, over several seeds:

* MNIST (5k training subset): test accuracy (official 10k test set) after
  5, 10, 15 and 20 epochs, and validation accuracy when 500 of the 5,000
  training images are held out (training on 4,500);
* seconds per epoch on MNIST 5k and on full Fashion-MNIST;
* full Fashion-MNIST test accuracy after 10 epochs;
* the effect on the MNIST test accuracy of an honest trained model of
  perturbing the evaluation images: a seeded one-pixel shift in a random
  direction per image, additive uniform noise of amplitude 0.02 / 0.05 clipped
  to [0, 1], and the shift plus 0.02 noise;
* the faulty Deep-ML initialisation ``W = randn / sqrt(2 / fan_in)``.

Run from the repository root::

    python benchmarks/measure_mlp_epochs.py [--data-dir DIR] [--seeds 0 1 2]

The data directory defaults to ``$AUTOGRADER_TEST_DATA`` or the repository's
sibling ``../shared/datasets``. Takes about two minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64
EPOCH_CHECKPOINTS = (5, 10, 15, 20)
PERTURB_EPOCHS = (10, 15)


sys.path.insert(0, str(ROOT))
from autograder import datasets  # noqa: E402 (needs the repository on sys.path)
from autograder.modules import load_module  # noqa: E402

mlp = load_module(ROOT / "solutions" / "mlp.py", "_bench_mlp")
NeuralNetwork = mlp.NeuralNetwork


class FaultyInitNetwork(NeuralNetwork):
    """The reference with the faulty Deep-ML init: divides by sqrt(2 / fan_in)."""

    def __init__(self, *args: float, **kwargs: float) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.W1 = np.random.randn(self.input_size, self.hidden_size) / np.sqrt(2.0 / self.input_size)
        self.W2 = np.random.randn(self.hidden_size, self.output_size) / np.sqrt(2.0 / self.hidden_size)


def train(
    make: Callable[[], object],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    seed: int,
    on_epoch: Callable[[int, object], None] | None = None,
) -> tuple[object, float]:
    """Train with the grader's protocol; return the network and seconds per epoch."""
    np.random.seed(seed)
    net = make()
    rng = np.random.default_rng(seed)
    elapsed = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            net.train_step(x[idx], y[idx])  # type: ignore[attr-defined]
        elapsed += time.perf_counter() - start
        if on_epoch is not None:
            on_epoch(epoch, net)
    return net, elapsed / epochs


def accuracy(net: object, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of correct predictions."""
    return float(np.mean(net.predict(x) == y))  # type: ignore[attr-defined]


def shift_one_pixel(x: np.ndarray, seed: int) -> np.ndarray:
    """Shift each 28x28 image by one pixel up, down, left or right (seeded), zero fill."""
    rng = np.random.default_rng(seed)
    images = x.reshape(-1, 28, 28)
    out = np.zeros_like(images)
    direction = rng.integers(0, 4, size=len(images))
    out[direction == 0, :-1, :] = images[direction == 0, 1:, :]  # up
    out[direction == 1, 1:, :] = images[direction == 1, :-1, :]  # down
    out[direction == 2, :, :-1] = images[direction == 2, :, 1:]  # left
    out[direction == 3, :, 1:] = images[direction == 3, :, :-1]  # right
    return out.reshape(x.shape)


def add_noise(x: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """Add uniform noise in [-amplitude, amplitude] (seeded), clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.uniform(-amplitude, amplitude, size=x.shape), 0.0, 1.0)


def stats(values: Sequence[float]) -> str:
    """Format mean, min and max of accuracies in percent."""
    v = 100 * np.asarray(values)
    return f"{v.mean():6.2f} (min {v.min():6.2f}, max {v.max():6.2f})"


def main(argv: Sequence[str] | None = None) -> None:
    """Run every measurement and print the table."""
    default_dir = os.environ.get("AUTOGRADER_TEST_DATA") or str(ROOT.parent / "shared" / "datasets")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default_dir)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--fashion-epochs", type=int, default=10)
    args = parser.parse_args(argv)
    seeds: list[int] = args.seeds
    total_start = time.perf_counter()

    mnist = datasets.load("mnist", data_dir=args.data_dir)
    x_train, y_train, x_test, y_test = mnist.scaled()
    print(f"MNIST from {mnist.data_dir}: train {len(y_train)}, test {len(y_test)}")

    # 1. Epoch sweep: test accuracy (train 5k) and validation accuracy (train 4.5k).
    test_acc: dict[int, list[float]] = {e: [] for e in EPOCH_CHECKPOINTS}
    val_acc: dict[int, list[float]] = {e: [] for e in EPOCH_CHECKPOINTS}
    holdout_test_acc: dict[int, list[float]] = {e: [] for e in EPOCH_CHECKPOINTS}
    mnist_epoch_seconds: list[float] = []
    honest: dict[tuple[int, int], object] = {}  # (epochs, seed) -> trained model
    for seed in seeds:

        def record_test(epoch: int, net: object, seed: int = seed) -> None:
            if epoch in test_acc:
                test_acc[epoch].append(accuracy(net, x_test, y_test))
            if epoch in PERTURB_EPOCHS:
                honest[epoch, seed] = _snapshot(net)

        _, seconds = train(NeuralNetwork, x_train, y_train, max(EPOCH_CHECKPOINTS), seed, record_test)
        mnist_epoch_seconds.append(seconds)

        order = np.random.default_rng(1000 + seed).permutation(len(y_train))
        val, fit = order[:500], order[500:]

        def record_val(epoch: int, net: object, val: np.ndarray = val) -> None:
            if epoch in val_acc:
                val_acc[epoch].append(accuracy(net, x_train[val], y_train[val]))
                holdout_test_acc[epoch].append(accuracy(net, x_test, y_test))

        train(
            NeuralNetwork,
            x_train[fit],
            y_train[fit],
            max(EPOCH_CHECKPOINTS),
            seed,
            record_val,
        )

    # 2. Perturbations of the evaluation images, on honest models.
    perturbations: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
        "clean": lambda x, s: x,
        "one-pixel shift": shift_one_pixel,
        "uniform noise 0.02": lambda x, s: add_noise(x, 0.02, s),
        "uniform noise 0.05": lambda x, s: add_noise(x, 0.05, s),
        "shift + noise 0.02": lambda x, s: add_noise(shift_one_pixel(x, s), 0.02, s + 1),
    }
    perturbed_acc = {(e, k): [] for e in PERTURB_EPOCHS for k in perturbations}
    agreement = {(e, k): [] for e in PERTURB_EPOCHS for k in perturbations}
    for (epochs, seed), net in honest.items():
        clean_pred = net.predict(x_test)  # type: ignore[attr-defined]
        for label, perturb in perturbations.items():
            pred = net.predict(perturb(x_test, 12345 + seed))  # type: ignore[attr-defined]
            perturbed_acc[epochs, label].append(float(np.mean(pred == y_test)))
            agreement[epochs, label].append(float(np.mean(pred == clean_pred)))

    # 3. Faulty initialisation, same protocol.
    faulty_acc: dict[int, list[float]] = {e: [] for e in EPOCH_CHECKPOINTS}
    faulty_loss: dict[int, list[float]] = {e: [] for e in EPOCH_CHECKPOINTS}
    for seed in seeds:

        def record_faulty(epoch: int, net: object) -> None:
            if epoch in faulty_acc:
                faulty_acc[epoch].append(accuracy(net, x_test, y_test))
                probs = net.forward(x_test)  # type: ignore[attr-defined]
                picked = np.maximum(probs[np.arange(len(y_test)), y_test], 1e-300)
                faulty_loss[epoch].append(float(-np.mean(np.log(picked))))

        with np.errstate(all="ignore"):
            train(
                FaultyInitNetwork,
                x_train,
                y_train,
                max(EPOCH_CHECKPOINTS),
                seed,
                record_faulty,
            )

    # 4. Fashion-MNIST, full.
    fashion = datasets.load("fashion-mnist", data_dir=args.data_dir)
    fx_train, fy_train, fx_test, fy_test = fashion.scaled()
    fashion_acc: list[float] = []
    fashion_epoch_seconds: list[float] = []
    for seed in seeds:
        net, seconds = train(NeuralNetwork, fx_train, fy_train, args.fashion_epochs, seed)
        fashion_acc.append(accuracy(net, fx_test, fy_test))
        fashion_epoch_seconds.append(seconds)

    print()
    print(f"Reference MLP 784-128-10, SGD lr 0.01, batch {BATCH}, seeds {seeds}")
    print("accuracy in %: mean (min, max) over seeds")
    print()
    print("MNIST, 5k training subset, official 10k test set")
    columns = (
        ("test, trained on 5k", test_acc),
        ("val 500, trained on 4.5k", val_acc),
        ("test, trained on 4.5k", holdout_test_acc),
        ("test, faulty init, 5k", faulty_acc),
    )
    print(f"{'epochs':>6}  " + "  ".join(f"{name:<31}" for name, _ in columns))
    for e in EPOCH_CHECKPOINTS:
        print(f"{e:>6}  " + "  ".join(f"{stats(v[e]):<31}" for _, v in columns))
    losses = ", ".join(f"{e}: {np.mean(faulty_loss[e]):.3g}" for e in EPOCH_CHECKPOINTS)
    print(f"faulty init (W = randn / sqrt(2/fan_in)) test loss by epoch: {losses}")
    print()
    print("MNIST test, models trained on 5k, perturbed evaluation images")
    print(f"  {'epochs':>6}  {'perturbation':<22}{'accuracy':<33}agreement with clean predictions")
    for epochs in PERTURB_EPOCHS:
        for label in perturbations:
            print(
                f"  {epochs:>6}  {label:<22}{stats(perturbed_acc[epochs, label]):<33}"
                f"{stats(agreement[epochs, label])}"
            )
    print()
    print(f"Fashion-MNIST full (60k train, 10k test), {args.fashion_epochs} epochs: {stats(fashion_acc)}")
    print()
    print("seconds per epoch (training only, mean over seeds):")
    print(
        f"  MNIST 5k        {np.mean(mnist_epoch_seconds):.3f} s "
        f"({len(y_train)} images, {-(-len(y_train) // BATCH)} steps)"
    )
    print(
        f"  Fashion-MNIST   {np.mean(fashion_epoch_seconds):.3f} s "
        f"({len(fy_train)} images, {-(-len(fy_train) // BATCH)} steps)"
    )
    print(f"total wall time {time.perf_counter() - total_start:.0f} s")


def _snapshot(net: object) -> object:
    """Copy a network's parameters into a fresh, frozen-for-evaluation instance."""
    copy = NeuralNetwork.__new__(NeuralNetwork)
    copy.__dict__.update({k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(net).items()})
    return copy


if __name__ == "__main__":
    main()
