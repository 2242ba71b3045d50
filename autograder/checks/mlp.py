"""Exercise 6: a NumPy-only MNIST MLP (``mlp.py``, the Deep-ML lab API).

The student writes ``NeuralNetwork`` (784 -> 128 ReLU -> 10 softmax) with
manual forward and backward passes. The grader, not the student, drives the
training: it seeds NumPy's global generator, shuffles with its own seed,
calls ``train_step`` on batches of 64 for ``EPOCHS`` epochs, then ``predict``
on evaluation images. Labels of the evaluation images never enter the child:
accuracy and the confusion matrix are computed here from the predictions.

Dev mode trains on the training split minus a validation slice and reports
validation accuracy; test mode trains on the whole training split and
evaluates on the official test images with faint noise drawn from the
submission's keyed seed (an honest model loses under a tenth of a point).

The accuracy must be learned from the data the grader provides: the ten
classes are secretly renamed (a derangement drawn from the keyed seed) in
the training labels and in the labels the predictions are scored against. A
network that learns reaches the same accuracy; one that already knows MNIST
(weights shipped in the file, a lookup of the public test set) is always
wrong. The network also predicts once before any training step: far above
chance there is a named verdict. The time limit's points need the accuracy.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from autograder import datasets
from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, Exercise, derangement
from autograder.checks.compare import as_array, as_scalar, assert_close
from autograder.checks.gradcheck import check_gradient
from autograder.checks.session import Session

MIN_ACCURACY = 0.85
"""Least accuracy on the evaluation images: the course's bar for a working
784-128-10 network; the reference reaches 88-89 % after 15 epochs on the
5,000-image training subset, and more on the full training set."""

EPOCHS = 15
"""Epochs the grader trains for. Measured on MNIST's 5,000-image training
subset over 10 seeds: at 10 epochs the worst honest run is 86.9 % (1.9
points of margin), at 15 it is 88.1 %, while the Deep-ML write-up's faulty
initialization stays at or below 81.7 %."""

NOISE = 0.05
"""Amplitude of the test-mode noise on evaluation images. Measured: it moves
an honest model's accuracy by 0.05 points (99.3 % of predictions unchanged);
a one-pixel shift cost 8 points and was rejected."""

UNTRAINED_MAX_ACCURACY = 0.3
"""Most accuracy a network may have before its first training step, against
the true or the renamed labels. Chance is 10 %; measured over 20 seeds the
reference's He-initialized network scores 7-15 % before training, while a
network that arrives knowing MNIST scores above 85 % against the true labels."""

UNTRAINED_IMAGES = 1000
"""Evaluation images predicted before training (the first ones): the standard
error of an accuracy on 1,000 images is at most 1.6 points, far from what
separates chance (7-15 %) from knowing MNIST (above 85 %) at
``UNTRAINED_MAX_ACCURACY``, and a test grading then sends 6 MB for it
instead of the 10,000 test images' 63 MB (about 30 ms of the grader's time)."""

BATCH_SIZE = 64
"""Mini-batch size of the grader's training loop (the lab's choice)."""

VALIDATION_IMAGES = 500
"""Training images held out in dev mode to measure validation accuracy."""

TRAIN_SECONDS = {"dev": 100.0, "test": 280.0}
"""Limit of the training-and-prediction run: the mode's exercise budget
(120 s / 300 s) minus 20 s for the forward and backward checks."""

CHECK_LR = 0.05
"""Learning rate of the backward checks: not the default 0.01, so that an
update that ignores ``self.lr`` is caught."""

CHECK_BATCH = 8
"""Examples in the forward and backward checks' batch."""

KINK_GAP = 1e-3
"""Hidden pre-activations are kept this far from ReLU's kink, so that the
centred differences (step 1e-5) never straddle it."""

LARGE_SCALE = 300.0
"""Weight multiplier of the stability check: logits of about 1e3, where a
softmax without max-subtraction overflows."""

PARAMETERS = ("W1", "b1", "W2", "b2")
SIZES = (784, 128, 10)


def parameters(rng: np.random.Generator, scale: float = 1.0) -> dict[str, np.ndarray]:
    """He-initialized weights and small non-zero biases, float64."""
    n_in, n_hidden, n_out = SIZES
    return {
        "W1": rng.normal(size=(n_in, n_hidden)) * np.sqrt(2.0 / n_in) * scale,
        "b1": rng.normal(scale=0.1, size=(1, n_hidden)),
        "W2": rng.normal(size=(n_hidden, n_out)) * np.sqrt(2.0 / n_hidden) * scale,
        "b2": rng.normal(scale=0.1, size=(1, n_out)),
    }


def batch(rng: np.random.Generator, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1] whose hidden pre-activations avoid ReLU's kink.

    Returns
    -------
    X : ndarray of shape (CHECK_BATCH, 784)
    y : ndarray of shape (CHECK_BATCH,)
    """
    while True:
        X = rng.uniform(size=(CHECK_BATCH, SIZES[0]))
        if np.min(np.abs(X @ params["W1"] + params["b1"])) > KINK_GAP:
            return X, rng.integers(0, SIZES[2], size=CHECK_BATCH)


def probabilities(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Softmax of the two-layer network's scores, (N, 10), computed stably."""
    hidden = np.maximum(0.0, X @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def cross_entropy(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the network on (X, y)."""
    return float(-np.mean(np.log(probabilities(params, X)[np.arange(len(y)), y])))


def student_network(session: Session, params: dict[str, np.ndarray] | None = None, **kwargs: Any) -> str:
    """Construct the student's network after seeding the child's generator;
    overwrite its parameters with ``params`` when given. Returns the handle."""
    session.seed_global_rng(int(session.rng.integers(2**31)))
    handle = session.new("NeuralNetwork", **kwargs)
    for name, value in (params or {}).items():
        session.set(handle, name, value)
    return handle


def forward_check(scale: float, key: str, name: str, hint: str) -> Check:
    """Student probabilities equal the reference's, rows summing to 1."""

    def run(session: Session) -> None:
        params = parameters(session.rng, scale)
        X, _ = batch(session.rng, params)
        handle = student_network(session, params)
        got = as_array("forward(X)", session.call(f"{handle}.forward", X), (CHECK_BATCH, SIZES[2]), kinds="f")
        sums = got.sum(axis=1)
        assert_close("row sums of forward(X)", sums, np.ones(CHECK_BATCH))
        expected = session.expected("probs", lambda: probabilities(params, X))
        assert_close("forward(X)", got, expected)

    return Check(name=name, points=2, run=run, hint=hint, id=key, properties=frozenset({f"forward {key}"}))


def student_step(session: Session) -> tuple[dict, np.ndarray, np.ndarray, float, dict]:
    """One forward and backward pass of the student's network on a fixed batch.

    Returns
    -------
    params, X, y, loss, after
        The parameters set before the step, the batch, the returned loss and
        the parameters read back after the update.
    """
    params = parameters(session.rng)
    X, y = batch(session.rng, params)
    handle = student_network(session, params, lr=CHECK_LR)
    probs = session.call(f"{handle}.forward", X)
    loss = as_scalar(
        "loss returned by backward(X, y, probs)", session.call(f"{handle}.backward", X, y, probs)
    )
    after = {
        name: as_array(f"{name} after backward", session.get(handle, name), params[name].shape, kinds="f")
        for name in PARAMETERS
    }
    return params, X, y, loss, after


def check_backward_loss(session: Session) -> None:
    """backward returns the mean cross-entropy of the batch."""
    params, X, y, loss, _ = student_step(session)
    expected = session.expected("loss", lambda: cross_entropy(params, X, y))
    assert_close("loss returned by backward(X, y, probs)", loss, expected)


def update_check(name: str) -> Check:
    """The update of one parameter equals -lr times the numerical gradient."""

    def run(session: Session) -> None:
        params, X, y, _, after = student_step(session)
        implied = (params[name] - after[name]) / CHECK_LR

        def loss_at(value: np.ndarray) -> float:
            return cross_entropy({**params, name: value}, X, y)

        worst = check_gradient(f"(old - new) / lr of {name}", implied, loss_at, params[name], session.rng)
        session.record(max_relative_error=worst)

    return Check(
        name=f"backward: {name} update equals -lr times the numerical gradient",
        points=2,
        run=run,
        hint=(
            "dscores = (probs - onehot(y)) / N; dW2 = h.T @ dscores; db2 = dscores.sum(axis=0, "
            "keepdims=True); dh = dscores @ W2.T masked where the pre-activation <= 0; then "
            "param -= self.lr * grad. Usual bugs: no division by N, bias gradient not summed over "
            "the batch, ReLU mask taken after the update, W2 updated before dh is computed"
        ),
        id=f"backward/{name}",
        properties=frozenset({f"{name} update"}),
    )


def perturbed(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Images scaled to [0, 1] plus seeded uniform noise of amplitude ``NOISE``, clipped.

    Computed in one new array (noise drawn in pixel units, the pixels added,
    then divided by 255): each fresh 63 MB array cost this grader 30-200 ms of
    page faults in a test grading, and scaling first made two.

    Parameters
    ----------
    pixels : ndarray of shape (N, 784), dtype uint8

    Returns
    -------
    ndarray of shape (N, 784), dtype float64
        No image equals a public MNIST test image any more.
    """
    noisy = rng.uniform(-NOISE * 255.0, NOISE * 255.0, size=pixels.shape)
    noisy += pixels
    noisy /= 255.0
    return np.clip(noisy, 0.0, 1.0, out=noisy)


def evaluation_split(session: Session, data: datasets.Dataset) -> tuple[np.ndarray, ...]:
    """Training data and evaluation images of the mode, and the labels kept here
    (the test images are scaled only in test mode, which uses them).

    Returns
    -------
    x_train : ndarray of shape (N, 784)
    y_train : ndarray of shape (N,)
    x_eval : ndarray of shape (M, 784)
    y_eval : ndarray of shape (M,)
        Never sent to the child.
    """
    x_train, y_train = datasets.scale(data.x_train), data.y_train
    rng = session.stream("mlp/evaluation")
    if session.mode == "dev":
        held = np.zeros(len(y_train), dtype=bool)
        held[rng.permutation(len(y_train))[:VALIDATION_IMAGES]] = True
        return x_train[~held], y_train[~held], x_train[held], y_train[held]
    return x_train, y_train, perturbed(data.x_test, rng), data.y_test


def predicted_labels(session: Session, handle: str, x_eval: np.ndarray) -> np.ndarray:
    """The student's ``predict`` on the evaluation images, validated.

    Returns
    -------
    ndarray of shape (M,)
        Integer labels (a label outside the ten classes is simply wrong).
    """
    got = session.call(f"{handle}.predict", x_eval)
    return as_array("predict(X)", got, (len(x_eval),), kinds="iuf").astype(np.int64)


def train_and_predict(session: Session) -> dict[str, Any]:
    """Train the student's network as the lab prescribes, on renamed classes,
    and predict before and after training; measure it."""
    x_train, y_train, x_eval, y_eval = evaluation_split(session, session.dataset("mnist"))
    relabel = derangement(session.stream("mlp/relabelling"), SIZES[2])
    rng = session.stream("mlp/training")
    order = np.stack([rng.permutation(len(y_train)) for _ in range(EPOCHS)])
    handle = student_network(session)
    untrained = predicted_labels(session, handle, x_eval[:UNTRAINED_IMAGES])
    started = time.monotonic()
    losses = session.loop(f"{handle}.train_step", x_train, relabel[y_train], order, BATCH_SIZE)
    labels = predicted_labels(session, handle, x_eval)
    seconds = time.monotonic() - started
    steps = -(-len(y_train) // BATCH_SIZE) * EPOCHS
    losses = as_array("losses returned by train_step", losses, (steps,), kinds="f", finite=False)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_eval, np.argsort(relabel)[np.clip(labels, 0, 9)]), 1)
    with np.errstate(invalid="ignore", over="ignore"):  # inf and -inf in one epoch: NaN, said in the plot
        epoch_losses = [float(np.mean(part)) for part in np.array_split(losses, EPOCHS)]
    y_seen = y_eval[: len(untrained)]
    return {
        "accuracy": float(np.mean(labels == relabel[y_eval])),
        "untrained_accuracy": float(max(np.mean(untrained == y_seen), np.mean(untrained == relabel[y_seen]))),
        "untrained_images": len(untrained),
        "evaluated_on": "validation slice" if session.mode == "dev" else "perturbed test images",
        "evaluation_images": len(y_eval),
        "training_images": len(y_train),
        "epochs": EPOCHS,
        "epoch_losses": epoch_losses,
        "confusion": confusion.tolist(),
        "train_and_predict_seconds": seconds,
    }


def require_learning(outcome: dict[str, Any]) -> None:
    """The named verdict of a network that knows MNIST before any training step."""
    if outcome["untrained_accuracy"] > UNTRAINED_MAX_ACCURACY:
        raise CheckFailed(
            f"accuracy of predict on {outcome['untrained_images']} {outcome['evaluated_on']} before any "
            "training step",
            f"about chance (10 %, at most {UNTRAINED_MAX_ACCURACY:.0%})",
            f"{outcome['untrained_accuracy']:.1%}: the network arrives knowing MNIST (weights shipped in "
            "the file or a lookup of public images), which earns no points",
            hint="initialize the weights randomly in __init__ and learn them in train_step from the "
            "batches the grader gives (its classes are renamed)",
        )


def timing_check(mode: str, visibility: str) -> Check:
    """Training and prediction finish within the mode's limit, by a network
    that learns (its points need the accuracy threshold)."""

    def run(session: Session) -> None:
        outcome = session.once("training", train_and_predict)
        session.record(seconds=outcome["train_and_predict_seconds"], limit_seconds=TRAIN_SECONDS[mode])
        require_learning(outcome)
        if outcome["accuracy"] < MIN_ACCURACY:
            raise CheckFailed(
                f"training and prediction in {outcome['train_and_predict_seconds']:.1f} s",
                f"a network reaching the accuracy threshold ({MIN_ACCURACY:.0%}) within the time limit",
                f"accuracy {outcome['accuracy']:.1%}: the time limit's points need the accuracy",
                hint="make the accuracy check pass first; a fast network that does not learn earns nothing",
            )

    return Check(
        name=f"train {EPOCHS} epochs and predict within {TRAIN_SECONDS[mode]:g} s",
        points=2,
        run=run,
        visibility=visibility,
        seconds=TRAIN_SECONDS[mode],
        modes=(mode,),
        hint="vectorize forward and backward over the batch: no Python loop over examples",
        id=f"train-time/{mode}",
        properties=frozenset({"learns within the time limit"}),
    )


def accuracy_check(mode: str, visibility: str) -> Check:
    """Accuracy on the evaluation images reaches MIN_ACCURACY."""

    def run(session: Session) -> None:
        outcome = session.once("training", train_and_predict)
        session.record(**outcome)
        require_learning(outcome)
        losses = ", ".join(f"{value:.3f}" for value in outcome["epoch_losses"])
        if outcome["accuracy"] < MIN_ACCURACY:
            raise CheckFailed(
                f"accuracy on {outcome['evaluation_images']} {outcome['evaluated_on']} after {EPOCHS} epochs",
                f"at least {MIN_ACCURACY:.0%}",
                f"{outcome['accuracy']:.1%} (epoch losses {losses})",
            )

    where = "validation" if mode == "dev" else "test"
    return Check(
        name=f"{where} accuracy at least {MIN_ACCURACY:.0%}",
        points=6,
        run=run,
        visibility=visibility,
        seconds=TRAIN_SECONDS[mode],
        modes=(mode,),
        hint=(
            "a loss stuck near 2.3 means the weights barely move: check He initialization "
            "(np.random.randn(n_in, n_out) * np.sqrt(2 / n_in)), the sign of the update and the "
            "gradient of softmax cross-entropy"
        ),
        id=f"accuracy/{mode}",
        properties=frozenset({"accuracy learned from the given labels"}),
    )


EXERCISE = Exercise(
    id="mlp",
    title="NumPy MLP on MNIST",
    datasets=("mnist",),
    checks=(
        forward_check(
            1.0,
            "forward",
            "forward: probabilities of shape (N, 10) equal to the reference, rows sum to 1",
            "ReLU(X @ W1 + b1) @ W2 + b2, then softmax over each row",
        ),
        forward_check(
            LARGE_SCALE,
            "forward/large-scores",
            "forward: stable for large scores",
            "subtract each row's maximum score before np.exp, or large scores overflow to inf/NaN",
        ),
        Check(
            "backward: returns the mean cross-entropy",
            2,
            check_backward_loss,
            "loss = -mean(log(probs[range(N), y])), computed before the update",
            id="backward/loss",
            properties=frozenset({"backward loss"}),
        ),
        *(update_check(name) for name in PARAMETERS),
        timing_check("dev", VISIBLE),
        accuracy_check("dev", VISIBLE),
        timing_check("test", HIDDEN),
        accuracy_check("test", HIDDEN),
    ),
)
