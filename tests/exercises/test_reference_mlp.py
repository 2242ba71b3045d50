"""Check the MLP reference (solutions/mlp.py) against independent oracles, and its stub.

Oracles, in float64:

* torch autograd: the same parameters copied into torch, ``cross_entropy``,
  and the SGD update ``p - lr * grad``, to ``1e-10`` relative;
* centred finite differences on a small network and batch.

Then the reference is trained on the real MNIST 5k subset with the grader's
protocol (seeded init and shuffle, batches of 64, ``EPOCHS`` epochs; see
``benchmarks/measure_mlp_epochs.py`` for the measurements behind the numbers)
and must reach 85 % on the official 10k test set, while the faulty Deep-ML
initialisation (dividing by ``sqrt(2 / fan_in)``) must not.

The modules are loaded from their file paths, so the tests do not depend on
``solutions`` / ``assignments`` being importable packages.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf

from autograder.modules import load_module
from tests.conftest import ASSIGNMENTS, DATA_DIR, SOLUTIONS

RTOL = 1e-10
EPOCHS = 15  # measured: 10 epochs leave an honest model 1.9 points above 85 %, 15 leave 3.1
BATCH = 64
THRESHOLD = 0.85
PARAMS = ("W1", "b1", "W2", "b2")
METHODS = ("__init__", "forward", "backward", "train_step", "predict")


sol = load_module(SOLUTIONS / "mlp.py", "_test_mlp_solution")
stub = load_module(ASSIGNMENTS / "mlp.py", "_test_mlp_stub")
Net = sol.NeuralNetwork


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
    source = (SOLUTIONS / "mlp.py").read_text()
    assert source.count("### BEGIN SOLUTION") == source.count("### END SOLUTION") == len(METHODS)


def test_stub_signatures_and_docstrings_match() -> None:
    assert inspect.getdoc(stub) == inspect.getdoc(sol)
    assert inspect.getdoc(stub.NeuralNetwork) == inspect.getdoc(sol.NeuralNetwork)
    for method in METHODS:
        ours, theirs = getattr(sol.NeuralNetwork, method), getattr(stub.NeuralNetwork, method)
        assert inspect.signature(ours) == inspect.signature(theirs), method
        assert ours.__doc__ == theirs.__doc__, method
        assert ours.__annotations__ == theirs.__annotations__, method


def test_stub_raises_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        stub.NeuralNetwork()
    net = stub.NeuralNetwork.__new__(stub.NeuralNetwork)
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
    """The grader's protocol: seeded init and shuffles, batches of 64."""
    np.random.seed(seed)
    net = make()
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            net.train_step(x[idx], y[idx])
    return net


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from autograder import datasets

    if datasets.find_data_dir("mnist", DATA_DIR) is None:
        pytest.skip(f"MNIST not found in {DATA_DIR} (set AUTOGRADER_TEST_DATA to the shared datasets)")
    return datasets.load("mnist", DATA_DIR).scaled()


def test_reference_reaches_threshold_on_mnist(mnist: tuple) -> None:
    x_train, y_train, x_test, y_test = mnist
    assert len(y_train) == 5000 and len(y_test) == 10000
    net = train_like_grader(Net, x_train, y_train, EPOCHS, seed=0)
    accuracy = float(np.mean(net.predict(x_test) == y_test))
    assert accuracy >= THRESHOLD


def test_faulty_deep_ml_init_misses_threshold(mnist: tuple) -> None:
    class FaultyInit(Net):
        def __init__(self) -> None:
            super().__init__()
            self.W1 = np.random.randn(784, 128) / np.sqrt(2 / 784)
            self.W2 = np.random.randn(128, 10) / np.sqrt(2 / 128)

    x_train, y_train, x_test, y_test = mnist
    with np.errstate(all="ignore"):
        net = train_like_grader(FaultyInit, x_train, y_train, EPOCHS, seed=0)
        accuracy = float(np.mean(net.predict(x_test) == y_test))
    assert accuracy < THRESHOLD
