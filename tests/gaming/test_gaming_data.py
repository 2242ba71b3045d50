"""Gaming the data-driven checks: a student who has read the grader ships
what it already knows about MNIST, or mines a seed. Each attempt is built as
a real submission, its payload is shown to work (it would have earned the
points before), and it scores no more than its honest work."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest

from autograder import datasets
from autograder.checks import EXERCISES, mlp
from autograder.checks.base import HIDDEN
from autograder.checks.svm import svm_inputs
from autograder.grading import Options, grade
from autograder.secret import SECRET_ENV, keyed_generator, submission_seed
from autograder.submission.locate import locate
from tests.conftest import DATA_DIR, checks_by_name, grade_files, reference_source

MLP_TIME = "train 15 epochs and predict within 280 s"
MLP_ACCURACY = "test accuracy at least 85%"
PROJECTION_SEED, PROJECTED = 7, 16
"""The lookup's fingerprint of an image: its projection on 16 fixed random directions."""


def blob(**arrays: np.ndarray) -> str:
    """Arrays as base64 text of an ``.npz``, to ship inside a module."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return base64.b64encode(buffer.getvalue()).decode()


LOOKUP = '''
import base64 as _base64
import io as _io

_TABLE = np.load(_io.BytesIO(_base64.b64decode("{blob}")))
_DIRECTIONS = np.random.default_rng({seed}).normal(size=(784, {projected}))


def _lookup(X):
    """Labels of the public test images nearest to X (pixels in [0, 1]), noise-tolerant."""
    keys = _TABLE["keys"].astype(np.float64)
    labels = []
    for start in range(0, len(X), 500):
        q = X[start:start + 500] @ _DIRECTIONS
        d2 = (q ** 2).sum(1)[:, None] + (keys ** 2).sum(1)[None, :] - 2 * q @ keys.T
        labels.append(_TABLE["labels"][np.argmin(d2, axis=1)])
    return np.concatenate(labels).astype(np.int64)
'''


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist", DATA_DIR)


@pytest.fixture(scope="module")
def lookup_code(mnist) -> str:
    """Module code defining ``_lookup``: the public test set, fingerprinted."""
    _, _, x_test, y_test = mnist.scaled()
    directions = np.random.default_rng(PROJECTION_SEED).normal(size=(784, PROJECTED))
    table = blob(keys=(x_test @ directions).astype(np.float16), labels=y_test.astype(np.uint8))
    return LOOKUP.format(blob=table, seed=PROJECTION_SEED, projected=PROJECTED)


def noisy(images: np.ndarray, amplitude: float, top: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(images + rng.uniform(-amplitude, amplitude, images.shape), 0.0, top)


def payload_accuracy(code: str, call: str, images: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy against the public labels of ``call`` run on ``images`` in the module ``code``."""
    namespace: dict = {}
    exec(compile(code, "<gaming submission>", "exec"), namespace)
    namespace["images"] = images
    return float(np.mean(eval(call, namespace) == labels))


def grade_mlp(tmp_path: Path, source: str):
    result = grade_files(tmp_path, {"mlp.py": source}, only=("mlp",), mode="test")
    return result, checks_by_name(result, "mlp")


def assert_no_more_than_honest_work(result, checks) -> None:
    """The accuracy and the time limit are unearned; the forward and backward
    checks (the honest part of these submissions) keep their points."""
    assert checks[MLP_ACCURACY].score == checks[MLP_TIME].score == 0
    honest = result.max_score - checks[MLP_ACCURACY].max_score - checks[MLP_TIME].max_score
    assert result.score == honest, [(c.name, c.message) for c in checks.values() if c.score == 0]


def test_shipped_pretrained_weights_with_a_no_op_train_step(tmp_path, mnist):
    x_train, y_train, x_test, y_test = mnist.scaled()
    reference = {}
    exec(compile(reference_source("mlp"), "mlp", "exec"), reference)
    np.random.seed(0)
    network = reference["NeuralNetwork"]()
    for _ in range(mlp.EPOCHS):
        for batch in np.array_split(np.random.permutation(len(y_train)), len(y_train) // mlp.BATCH_SIZE):
            network.train_step(x_train[batch], y_train[batch])
    shipped = blob(**{name: getattr(network, name).astype(np.float32) for name in mlp.PARAMETERS})
    source = (
        reference_source("mlp")
        + f'''

import base64 as _base64
import io as _io

_Honest = NeuralNetwork


class NeuralNetwork(_Honest):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weights = np.load(_io.BytesIO(_base64.b64decode("{shipped}")))
        for name in ("W1", "b1", "W2", "b2"):
            setattr(self, name, weights[name].astype(np.float64))

    def train_step(self, X, y):
        return 0.1
'''
    )
    payload = payload_accuracy(
        source, "NeuralNetwork().predict(images)", noisy(x_test, mlp.NOISE, 1.0), y_test
    )
    assert payload >= mlp.MIN_ACCURACY  # the shipped weights would have earned the accuracy
    result, checks = grade_mlp(tmp_path, source)
    assert_no_more_than_honest_work(result, checks)
    assert "arrives knowing MNIST" in checks[MLP_ACCURACY].message
    assert checks[MLP_ACCURACY].details["untrained_accuracy"] >= mlp.MIN_ACCURACY


def test_predict_that_looks_up_the_public_test_set(tmp_path, mnist, lookup_code):
    _, _, x_test, y_test = mnist.scaled()
    source = (
        reference_source("mlp")
        + lookup_code
        + """

_Honest = NeuralNetwork


class NeuralNetwork(_Honest):
    def train_step(self, X, y):
        return 0.1

    def predict(self, X):
        return _lookup(X)
"""
    )
    payload = payload_accuracy(
        source, "NeuralNetwork().predict(images)", noisy(x_test, mlp.NOISE, 1.0), y_test
    )
    assert payload >= 0.95  # noise-tolerant: it finds the public label through the noise
    result, checks = grade_mlp(tmp_path, source)
    assert_no_more_than_honest_work(result, checks)
    assert "arrives knowing MNIST" in checks[MLP_TIME].message
    assert checks[MLP_ACCURACY].details["accuracy"] < 0.05  # the lookup ran: always wrong once renamed


def test_a_network_that_does_nothing_earns_no_time_limit_points(tmp_path):
    source = (
        reference_source("mlp")
        + """

_Honest = NeuralNetwork


class NeuralNetwork(_Honest):
    def train_step(self, X, y):
        return 2.3
"""
    )
    result, checks = grade_mlp(tmp_path, source)
    assert_no_more_than_honest_work(result, checks)
    assert np.allclose(checks[MLP_ACCURACY].details["epoch_losses"], 2.3)  # the no-op ran
    assert checks[MLP_TIME].details["seconds"] < checks[MLP_TIME].details["limit_seconds"]
    assert "need the accuracy" in checks[MLP_TIME].message


def test_knn_that_looks_up_the_public_labels(tmp_path, mnist, lookup_code):
    source = (
        reference_source("knn")
        + lookup_code
        + """

_Honest = KNearestNeighbor


class KNearestNeighbor(_Honest):
    def predict(self, X, k=1, num_loops=0):
        if X.shape[1] == 784:
            return _lookup(X / 255.0)
        return super().predict(X, k=k, num_loops=num_loops)
"""
    )
    images = noisy(mnist.x_test.reshape(-1, 784).astype(np.float64), 12.0, 255.0)
    payload = payload_accuracy(source, "KNearestNeighbor().predict(images)", images, mnist.y_test)
    assert payload >= 0.95
    result = grade_files(tmp_path, {"knn.py": source}, only=("knn",), mode="test")
    accuracy_checks = [c for c in result.exercises[0].checks if c.id.startswith("knn/mnist-accuracy/")]
    assert len(accuracy_checks) == 2
    for check in accuracy_checks:
        assert check.score == 0 and check.details["accuracy"] < 0.05  # the lookup ran, and is always wrong
    assert result.score == result.max_score - sum(c.max_score for c in accuracy_checks)


ODD_N_BUG = """

_naive, _vectorized = svm_loss_naive, svm_loss_vectorized


def svm_loss_naive(W, X, y, reg):
    loss, dW = _naive(W, X, y, reg)
    return loss + X.shape[0] % 2, dW


def svm_loss_vectorized(W, X, y, reg):
    loss, dW = _vectorized(W, X, y, reg)
    return loss + X.shape[0] % 2, dW
"""
"""Wrong loss whenever N is odd: each hidden loss check passes or fails with its seed."""


def hidden_sizes(secret: bytes, folder: Path) -> dict[str, int]:
    """N of every hidden svm check, drawn as the grader draws it, under ``secret``."""
    svm = EXERCISES["svm"]
    seed = submission_seed(secret, locate(folder, ["svm"]).digest())
    ids = [svm.check_id(c) for c in svm.checks if c.visibility == HIDDEN]
    return {i: len(svm_inputs(keyed_generator(secret, seed, i), HIDDEN)[1]) for i in ids}


def test_mining_a_seed_with_comments_finds_nothing_under_the_course_secret(tmp_path, monkeypatch):
    course_secret = b"the course's secret, never in the student's hands"
    (tmp_path / "secret").write_bytes(course_secret)
    monkeypatch.setenv(SECRET_ENV, str(tmp_path / "secret"))
    folder = tmp_path / "mined"
    folder.mkdir()
    own_secret = b"the student's own secret, used to run the public grader at home"
    for attempt in range(5000):  # the miner's offline search: one comment per try
        (folder / "svm.py").write_text(reference_source("svm") + ODD_N_BUG + f"# {attempt}\n")
        if all(n % 2 == 0 for n in hidden_sizes(own_secret, folder).values()):
            break
    mined = hidden_sizes(own_secret, folder)
    assert all(n % 2 == 0 for n in mined.values())  # the mining worked at home
    actual = hidden_sizes(course_secret, folder)
    assert actual != mined
    # Graded: the hidden loss checks fail exactly where the course's inputs have an odd N.
    result = grade(folder, Options(mode="test", only=("svm",)))
    svm = EXERCISES["svm"]
    hidden = {svm.check_id(c) for c in svm.checks if c.visibility == HIDDEN}
    for check in result.exercises[0].checks:
        if check.id in hidden and "/loss/" in check.id:
            assert (check.score == 0) == (actual[check.id] % 2 == 1), check.id
    assert any(actual[i] % 2 == 1 for i in hidden if "/loss/" in i)
