"""The MLP exercise: the Deep-ML write-up's two networks, and planted bugs.

The write-up's networks are re-typed here as students write them: one with He
initialization (passes), one whose initialization divides by sqrt(2 / n)
instead of multiplying (trains, but fails the accuracy check).
"""

from __future__ import annotations

import pytest

from autograder.results import Status
from tests.conftest import checks_by_name, grade_files, reference_source, require_data
from tests.exercises.planted import Bug, assert_loses_points_where_named


@pytest.fixture(autouse=True)
def mnist(request):
    """Every test here trains on MNIST, except the one about a machine without it."""
    if request.node.name != "test_missing_dataset_is_not_graded_and_a_grader_fault":
        require_data()


DEEP_ML_NETWORK = """
import numpy as np


class NeuralNetwork:
    def __init__(self, input_size=784, hidden_size=128, output_size=10, lr=0.01):
        self.lr = lr
        self.W1 = np.random.randn(input_size, hidden_size) {op} np.sqrt(2 / input_size)
        self.b1 = np.zeros((1, hidden_size))
        self.W2 = np.random.randn(hidden_size, output_size) {op} np.sqrt(2 / hidden_size)
        self.b2 = np.zeros((1, output_size))

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


def test_deep_ml_he_initialized_network_passes(tmp_path):
    result = grade_files(tmp_path, {"mlp.py": DEEP_ML_NETWORK.format(op="*")}, only=("mlp",))
    assert result.score == result.max_score, [(c.name, c.message) for c in result.exercises[0].checks]


def test_deep_ml_network_dividing_by_the_he_factor_fails_accuracy(tmp_path):
    result = grade_files(tmp_path, {"mlp.py": DEEP_ML_NETWORK.format(op="/")}, only=("mlp",))
    checks = checks_by_name(result, "mlp")
    assert checks[ACCURACY].status is Status.FAILED
    assert "He initialization" in checks[ACCURACY].hint
    assert checks["backward: W1 update equals -lr times the numerical gradient"].status is Status.PASSED


BUGS = {
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


@pytest.mark.parametrize("name", list(BUGS))
def test_planted_bug_loses_points_where_named(name, tmp_path):
    assert_loses_points_where_named(BUGS[name], tmp_path)


def test_training_report_has_losses_and_confusion(tmp_path):
    result = grade_files(tmp_path, {"mlp.py": reference_source("mlp")}, only=("mlp",), mode="test")
    details = checks_by_name(result, "mlp")["test accuracy at least 85%"].details
    assert len(details["epoch_losses"]) == 15 and details["epoch_losses"][-1] < details["epoch_losses"][0]
    assert sum(map(sum, details["confusion"])) == details["evaluation_images"] == 10000
    assert details["evaluated_on"] == "perturbed test images"
    files = {record["filename"]: record for record in result.exercises[0].datasets["mnist"]}
    assert files["t10k-images-idx3-ubyte.gz"]["samples"] == 10000
    assert files["t10k-images-idx3-ubyte.gz"]["official"] is True
    assert files["train-images-idx3-ubyte.gz"]["official"] is False  # the 5k subset
    assert len(files["train-labels-idx1-ubyte.gz"]["sha256"]) == 64


def test_missing_dataset_is_not_graded_and_a_grader_fault(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOGRADER_OFFLINE", "1")  # holds on a machine with network too
    result = grade_files(tmp_path / "sub", {"mlp.py": reference_source("mlp")}, only=("mlp",), data_dir=None)
    check = checks_by_name(result, "mlp")[ACCURACY]
    assert check.status is Status.DATA_UNAVAILABLE
    assert "--data-dir" in check.message and not check.hint
    assert result.grader_fault
