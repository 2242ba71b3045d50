"""The MLP exercise: its reference against independent oracles, planted bugs
(the Deep-ML write-up's network among them), and its stub.

Oracles, in float64:

* torch autograd: the same parameters copied into torch, ``cross_entropy``,
  and the SGD update ``p - lr * grad``, to ``1e-10`` relative;
* centred finite differences on a small network and batch.

Then the reference is trained on the real MNIST 5k subset with the grader's
protocol (seeded init and shuffle, batches of 64, ``EPOCHS`` epochs; see
``benchmarks/measure_mlp_epochs.py`` for the measurements behind the numbers)
and must reach 85 % on the official 10k test set. The faulty Deep-ML
initialisation (dividing by ``sqrt(2 / fan_in)``) is a planted bug, graded.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf
from threadpoolctl import threadpool_limits

from autograder import datasets
from autograder.results import Status
from tests.conftest import DATA_DIR, checks_by_name, grade_files, reference_source, require_data
from tests.exercises.oracles import solution, stub
from tests.exercises.planted import Bug, planted_bug_test

RTOL = 1e-10
EPOCHS = 15  # measured: 10 epochs leave an honest model 1.9 points above 85 %, 15 leave 3.1
BATCH = 64
THRESHOLD = 0.85
PARAMS = ("W1", "b1", "W2", "b2")
METHODS = ("__init__", "forward", "backward", "train_step", "predict")


Net = solution("mlp").NeuralNetwork


def make_net(seed: int = 0, randomize_biases: bool = True, **sizes: int) -> object:
    np.random.seed(seed)
    net = Net(**sizes)
    if randomize_biases:  # exercise the bias paths with non-zero values
        rng = np.random.default_rng(seed + 100)
        net.b1 = rng.normal(0, 0.1, net.b1.shape)
        net.b2 = rng.normal(0, 0.1, net.b2.shape)
    return net


def batch(n: int, features: int = 784, classes: int = 10, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, features)), rng.integers(0, classes, n)


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


# --------------------------------------------------------------------------- initialisation


def test_init_shapes_he_scale_and_zero_biases() -> None:
    np.random.seed(0)
    net = Net()
    assert (net.input_size, net.hidden_size, net.output_size, net.lr) == (784, 128, 10, 0.01)
    shapes = {name: getattr(net, name).shape for name in PARAMS}
    assert shapes == {"W1": (784, 128), "b1": (1, 128), "W2": (128, 10), "b2": (1, 10)}
    assert all(getattr(net, name).dtype == np.float64 for name in PARAMS)
    assert not net.b1.any() and not net.b2.any()
    # He: std sqrt(2 / fan_in); the sample std of n normals is within a few 1/sqrt(2n).
    assert net.W1.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert net.W2.std() == pytest.approx(np.sqrt(2 / 128), rel=0.08)
    assert abs(net.W1.mean()) < 0.01 * np.sqrt(2 / 784) * 10


def test_init_uses_the_global_seed_and_custom_sizes() -> None:
    np.random.seed(7)
    first = Net(input_size=5, hidden_size=4, output_size=3, lr=0.5)
    np.random.seed(7)
    second = Net(input_size=5, hidden_size=4, output_size=3, lr=0.5)
    np.random.seed(7)
    expected_w1 = np.random.randn(5, 4) * np.sqrt(2 / 5)
    np.testing.assert_array_equal(first.W1, second.W1)
    np.testing.assert_array_equal(first.W1, expected_w1)
    assert first.W2.shape == (4, 3) and first.b2.shape == (1, 3) and first.lr == 0.5


# --------------------------------------------------------------------------- torch oracle


@pytest.mark.parametrize(
    ("sizes", "n", "lr"),
    [({}, 64, 0.01), ({}, 7, 0.3), ({"input_size": 20, "hidden_size": 16, "output_size": 5}, 33, 0.1)],
)
def test_forward_backward_match_torch(sizes: dict, n: int, lr: float) -> None:
    net = make_net(**sizes)
    net.lr = lr
    X, y = batch(n, net.input_size, net.output_size)
    before = {name: getattr(net, name).copy() for name in PARAMS}

    probs = net.forward(X)
    probs_copy = probs.copy()
    loss = net.backward(X, y, probs)

    t = {name: torch.tensor(before[name], dtype=torch.float64, requires_grad=True) for name in PARAMS}
    tx = torch.tensor(X, dtype=torch.float64)
    logits = torch.relu(tx @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    t_loss = nnf.cross_entropy(logits, torch.tensor(y))
    t_loss.backward()

    assert probs.shape == (n, net.output_size)
    np.testing.assert_allclose(probs, torch.softmax(logits, 1).detach().numpy(), rtol=RTOL, atol=1e-15)
    np.testing.assert_array_equal(probs, probs_copy)  # backward must not modify probs
    assert np.isscalar(loss) or np.ndim(loss) == 0
    assert float(loss) == pytest.approx(t_loss.item(), rel=RTOL)
    for name in PARAMS:
        expected = (t[name] - lr * t[name].grad).detach().numpy()
        np.testing.assert_allclose(getattr(net, name), expected, rtol=RTOL, atol=1e-14, err_msg=name)
        assert getattr(net, name).shape == before[name].shape


def test_forward_is_stable_for_large_logits() -> None:
    net = make_net()
    net.W2 *= 1e4  # logits of order 1e4: a naive softmax overflows
    X, _ = batch(16)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        probs = net.forward(X)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


def test_train_step_is_forward_then_backward() -> None:
    X, y = batch(32)
    a, b = make_net(), make_net()
    loss_a = a.train_step(X, y)
    loss_b = b.backward(X, y, b.forward(X))
    assert loss_a == loss_b
    for name in PARAMS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_predict_is_argmax_of_forward() -> None:
    net = make_net()
    X, _ = batch(50)
    labels = net.predict(X)
    assert labels.shape == (50,) and np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, net.forward(X).argmax(axis=1))


# --------------------------------------------------------------------------- finite differences


def test_gradients_match_centred_differences() -> None:
    sizes = {"input_size": 12, "hidden_size": 10, "output_size": 4}
    net = make_net(seed=3, **sizes)
    X, y = batch(6, 12, 4, seed=4)
    start = copy.deepcopy(net)

    def loss_at(name: str, index: tuple[int, ...], delta: float) -> float:
        probe = copy.deepcopy(start)
        getattr(probe, name)[index] += delta
        return cross_entropy(probe.forward(X), y)

    net.lr = 1.0  # the update is then exactly -grad
    loss = net.backward(X, y, net.forward(X))
    assert loss == pytest.approx(cross_entropy(start.forward(X), y), rel=1e-12)
    h = 1e-6
    for name in PARAMS:
        analytic = getattr(start, name) - getattr(net, name)
        numeric = np.zeros_like(analytic)
        for index in np.ndindex(analytic.shape):
            numeric[index] = (loss_at(name, index, h) - loss_at(name, index, -h)) / (2 * h)
        scale = np.abs(analytic).max() + np.abs(numeric).max()
        assert np.abs(analytic - numeric).max() / scale < 1e-7, name


# --------------------------------------------------------------------------- the stub


def test_every_method_has_one_solution_region() -> None:
    source = reference_source("mlp")
    assert source.count("### BEGIN SOLUTION") == source.count("### END SOLUTION") == len(METHODS)


def test_stub_raises_not_implemented() -> None:
    Stub = stub("mlp").NeuralNetwork
    with pytest.raises(NotImplementedError):
        Stub()
    net = Stub.__new__(Stub)
    X, y = batch(4)
    for call in (
        lambda: net.forward(X),
        lambda: net.backward(X, y, np.full((4, 10), 0.1)),
        lambda: net.train_step(X, y),
        lambda: net.predict(X),
    ):
        with pytest.raises(NotImplementedError):
            call()


# --------------------------------------------------------------------------- real data


def train_like_grader(make: type, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> object:
    """The grader's protocol: seeded init and shuffles, batches of 64, one BLAS thread
    (as in the grader's child; on a shared machine more threads spin on small products:
    measured 110 s of wall time against 19 s with one)."""
    np.random.seed(seed)
    net = make()
    rng = np.random.default_rng(seed)
    with threadpool_limits(limits=1):
        for _ in range(epochs):
            order = rng.permutation(len(x))
            for i in range(0, len(x), BATCH):
                idx = order[i : i + BATCH]
                net.train_step(x[idx], y[idx])
    return net


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    require_data()
    return datasets.load("mnist", DATA_DIR).scaled()


def test_reference_reaches_threshold_on_mnist(mnist: tuple) -> None:
    x_train, y_train, x_test, y_test = mnist
    assert len(y_train) == 5000 and len(y_test) == 10000
    net = train_like_grader(Net, x_train, y_train, EPOCHS, seed=0)
    accuracy = float(np.mean(net.predict(x_test) == y_test))
    assert accuracy >= THRESHOLD


# -- the Deep-ML write-up's network, and planted bugs (tests.exercises.planted) ------------


DEEP_ML_HE_INIT = """\
        self.W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2 / input_size)
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2 / hidden_size)
"""
REFERENCE_HE_INIT = """\
        self.W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2.0 / input_size)
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2.0 / hidden_size)
"""
DEEP_ML_NETWORK = f"""
import numpy as np


class NeuralNetwork:
    def __init__(self, input_size=784, hidden_size=128, output_size=10, lr=0.01):
        self.lr = lr
{DEEP_ML_HE_INIT}        self.b2 = np.zeros((1, output_size))

    def relu(self, z):
        return np.maximum(0, z)

    def softmax(self, z):
        e = np.exp(z - np.max(z, axis=1, keepdims=True))
        return e / np.sum(e, axis=1, keepdims=True)

    def forward(self, X):
        self.z1 = X @ self.W1 + self.b1
        self.a1 = self.relu(self.z1)
        self.z2 = self.a1 @ self.W2 + self.b2
        self.probs = self.softmax(self.z2)
        return self.probs

    def backward(self, X, y, probs):
        m = X.shape[0]
        loss = -np.mean(np.log(probs[np.arange(m), y] + 1e-12))
        d2 = probs.copy()
        d2[np.arange(m), y] -= 1
        d2 /= m
        dW2 = self.a1.T @ d2
        db2 = np.sum(d2, axis=0, keepdims=True)
        d1 = d2 @ self.W2.T * (self.z1 > 0)
        dW1 = X.T @ d1
        db1 = np.sum(d1, axis=0, keepdims=True)
        self.W2 -= self.lr * dW2
        self.b2 -= self.lr * db2
        self.W1 -= self.lr * dW1
        self.b1 -= self.lr * db1
        return loss

    def train_step(self, X, y):
        return self.backward(X, y, self.forward(X))

    def predict(self, X):
        return np.argmax(self.forward(X), axis=1)
"""

ACCURACY = "validation accuracy at least 85%"


def divided_by_the_he_factor(init: str) -> str:
    """``init`` with each He factor ``* np.sqrt(2...`` turned into ``/ np.sqrt(2...``."""
    assert init.count(") * np.sqrt(2") == 2
    return init.replace(") * np.sqrt(2", ") / np.sqrt(2")


def test_deep_ml_he_initialized_network_passes(tmp_path):
    require_data()
    result = grade_files(tmp_path, {"mlp.py": DEEP_ML_NETWORK}, only=("mlp",))
    assert result.score == result.max_score, [(c.name, c.message) for c in result.exercises[0].checks]


BUGS = {
    "Deep-ML network dividing by the He factor": Bug(
        "mlp",
        DEEP_ML_HE_INIT,
        divided_by_the_he_factor(DEEP_ML_HE_INIT),
        ACCURACY,
        "He initialization",
        ("backward: W1 update equals -lr times the numerical gradient",),
        into=DEEP_ML_NETWORK,
    ),
    "reference dividing by the He factor": Bug(
        "mlp",
        REFERENCE_HE_INIT,
        divided_by_the_he_factor(REFERENCE_HE_INIT),
        ACCURACY,
        "He initialization",
        ("backward: W1 update equals -lr times the numerical gradient", "forward: stable for large scores"),
    ),
    "no division by N": Bug(
        "mlp",
        "        dz2 /= n\n",
        "",
        "backward: W2 update equals -lr times the numerical gradient",
        "no division by N",
    ),
    "bias gradient not summed over the batch": Bug(
        "mlp",
        "db2 = dz2.sum(axis=0, keepdims=True)",
        "db2 = dz2[:1]",
        "backward: b2 update equals -lr times the numerical gradient",
        "bias gradient not summed",
    ),
    "learning rate ignored": Bug(
        "mlp",
        "self.W1 -= self.lr * dW1",
        "self.W1 -= 0.01 * dW1",
        "backward: W1 update equals -lr times the numerical gradient",
        "self.lr",
    ),
    "softmax without the max subtraction": Bug(
        "mlp",
        "shifted = self.z2 - self.z2.max(axis=1, keepdims=True)",
        "shifted = self.z2",
        "forward: stable for large scores",
        "subtract each row's maximum",
        status=Status.INVALID_OUTPUT,
    ),
    "loss summed, not averaged": Bug(
        "mlp",
        "loss = float(-np.mean(np.log(picked)))",
        "loss = float(-np.sum(np.log(picked)))",
        "backward: returns the mean cross-entropy",
        "-mean(log(probs",
    ),
}


test_planted_bug_loses_points_where_named = planted_bug_test(BUGS)


def test_training_report_has_losses_and_confusion(tmp_path):
    require_data()
    result = grade_files(tmp_path, {"mlp.py": reference_source("mlp")}, only=("mlp",), mode="test")
    details = checks_by_name(result, "mlp")["test accuracy at least 85%"].details
    assert len(details["epoch_losses"]) == 15 and details["epoch_losses"][-1] < details["epoch_losses"][0]
    assert sum(map(sum, details["confusion"])) == details["evaluation_images"] == 10000
    assert details["evaluated_on"] == "perturbed test images"
    assert details["untrained_images"] == 1000 and details["untrained_accuracy"] <= 0.3  # the first 1,000
    files = {record["filename"]: record for record in result.exercises[0].datasets["mnist"]}
    assert files["t10k-images-idx3-ubyte.gz"]["samples"] == 10000
    assert files["t10k-images-idx3-ubyte.gz"]["official"] is True
    assert files["train-images-idx3-ubyte.gz"]["official"] is False  # the 5k subset
    assert len(files["train-labels-idx1-ubyte.gz"]["sha256"]) == 64


def test_missing_dataset_is_not_graded_and_a_grader_fault(no_data, tmp_path):
    result = grade_files(tmp_path / "sub", {"mlp.py": reference_source("mlp")}, only=("mlp",), data_dir=None)
    check = checks_by_name(result, "mlp")[ACCURACY]
    assert check.status is Status.DATA_UNAVAILABLE
    assert "--data-dir" in check.message and not check.hint
    assert result.grader_fault


def test_test_mode_evaluation_images_are_the_scaled_pixels_within_the_noise():
    """``perturbed``: every value moves, by at most ``NOISE``, stays in [0, 1], and
    the same generator state gives the same images."""
    from autograder.checks.mlp import NOISE, perturbed

    pixels = np.random.default_rng(1).integers(13, 243, size=(50, 784), dtype=np.uint8)  # 12.75 from the ends
    pixels[0] = 0  # clipped below
    pixels[1] = 255  # clipped above
    got = perturbed(pixels, np.random.default_rng(7))
    scaled = datasets.scale(pixels)
    assert got.dtype == np.float64 and got.shape == pixels.shape
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert np.abs(got - scaled).max() <= NOISE + 1e-12
    moved = np.abs(got - scaled)[2:]  # rows never clipped: uniform noise, mean about NOISE / 2
    assert np.all(moved > 0) and abs(moved.mean() - NOISE / 2) < 0.05 * NOISE
    np.testing.assert_array_equal(got, perturbed(pixels, np.random.default_rng(7)))
