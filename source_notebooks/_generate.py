"""Write the nbgrader source notebooks, ``source_notebooks/<id>/<id>.ipynb``.

This script is the reviewable source of the notebooks' cells: run it after a
change (``python source_notebooks/_generate.py``) and commit the notebooks it
writes (without outputs). A test checks that the committed notebooks are its
output.

Cells carry nbgrader's cell metadata (schema version 3):

- solution cells: code the student writes, between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``;
- grade cells: autograded tests (locked), some with a region between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that the student
  version does not contain;
- locked cells: setup and helpers the student reads but does not edit.

Cells without metadata (explanations, experiments, plots) are ordinary cells.
"""

from __future__ import annotations

import sys
from pathlib import Path
from textwrap import dedent

import nbformat

HERE = Path(__file__).resolve().parent
EXERCISES = ("knn", "svm", "softmax", "optim", "conv", "mlp")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _source(text: str) -> str:
    return dedent(text).strip("\n")


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell."""
    return nbformat.v4.new_markdown_cell(_source(text))


def code(text: str) -> nbformat.NotebookNode:
    """An ordinary code cell (no nbgrader role)."""
    return nbformat.v4.new_code_cell(_source(text))


def _nbgrader(
    grade_id: str, text: str, *, solution: bool, grade: bool, locked: bool, points: int = 0
) -> nbformat.NotebookNode:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    cell = code(text)
    cell.metadata["nbgrader"] = meta
    return cell


def locked(grade_id: str, text: str) -> nbformat.NotebookNode:
    """A read-only code cell (setup, helpers)."""
    return _nbgrader(grade_id, text, solution=False, grade=False, locked=True)


def solution(grade_id: str, text: str) -> nbformat.NotebookNode:
    """A code cell whose ``### BEGIN SOLUTION`` regions the student writes."""
    return _nbgrader(grade_id, text, solution=True, grade=False, locked=False)


def tests(grade_id: str, points: int, text: str) -> nbformat.NotebookNode:
    """An autograded, locked test cell worth ``points``."""
    return _nbgrader(grade_id, text, solution=False, grade=True, locked=True, points=points)


def setup(module: str, extra_imports: str = "") -> nbformat.NotebookNode:
    """The first code cell: imports, and the student's module from this folder or the one above."""
    return locked(
        "setup",
        f"""
        import importlib
        import subprocess
        import sys
        import time
        from pathlib import Path

        import matplotlib.pyplot as plt
        import numpy as np{extra_imports}

        # The grader (its autograder/ folder) is in this folder or one above: the course
        # repository or your release folder. Nothing to install besides NumPy and matplotlib.
        HERE = Path.cwd()
        ROOT = next((d for d in (HERE, *HERE.parents) if (d / "autograder" / "__init__.py").is_file()), None)
        if ROOT is not None and str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        load = importlib.import_module("autograder.datasets").load

        # Your {module}.py sits beside this notebook, or one folder up (assignments/{module}.py
        # beside assignments/{module}/{module}.ipynb).
        MODULE_DIR = next(d for d in (Path.cwd(), Path.cwd().parent) if (d / "{module}.py").is_file())
        sys.path.insert(0, str(MODULE_DIR))
        %load_ext autoreload
        %autoreload 2
        {module} = importlib.import_module("{module}")
        plt.rcParams["figure.figsize"] = (10.0, 4.0)
        """,
    )


def self_check(module: str) -> list[nbformat.NotebookNode]:
    """The last cells: the autograder's visible checks of the student's module."""
    return [
        md(
            f"""
            ## Self-check

            The autograder runs your `{module}.py` in its sandbox and applies the visible checks
            (`autograder grade FOLDER --only {module}`). The hidden checks of the final grade use
            other inputs: passing here is necessary, not sufficient.
            """
        ),
        locked(
            "self_check",
            f"""
            command = [sys.executable, "-m", "autograder", "grade", str(MODULE_DIR), "--only", "{module}"]
            report = subprocess.run(command, capture_output=True, text=True)
            print(report.stdout or report.stderr)
            """,
        ),
    ]


#: Locked helper of the gradient-check tables (svm, softmax, conv).
GRADIENT_CHECK = """
def gradient_check(f, x, analytic, num_checks=8, h=1e-5, seed=0):
    \"\"\"Print a table comparing ``analytic`` with centred differences of ``f`` at random entries of ``x``.

    Returns the relative errors |numerical - analytic| / (|numerical| + |analytic|).
    \"\"\"
    rng = np.random.default_rng(seed)
    errors = []
    print(f"{'entry':>18} {'numerical':>13} {'analytic':>13} {'rel. error':>11}")
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        saved = x[ix]
        x[ix] = saved + h
        plus = f(x)
        x[ix] = saved - h
        minus = f(x)
        x[ix] = saved
        numerical = (plus - minus) / (2 * h)
        error = abs(numerical - analytic[ix]) / max(abs(numerical) + abs(analytic[ix]), 1e-12)
        errors.append(error)
        print(f"{ix!s:>18} {numerical:13.6g} {analytic[ix]:13.6g} {error:11.2e}")
    return np.array(errors)
"""

#: Locked cell of the linear classifiers (svm, softmax): MNIST, mean image subtracted, bias column.
LINEAR_DATA = """
NUM_TRAIN, NUM_VAL, NUM_TEST = 4000, 1000, 1000  # fits a reduced copy of MNIST too (5,000 images)
x_all, y_all, x_test_all, y_test_all = load("mnist").scaled()
order = np.random.default_rng(0).permutation(len(x_all))  # shuffled: a reduced copy may be sorted by class
train, val = order[:NUM_TRAIN], order[NUM_TRAIN : NUM_TRAIN + NUM_VAL]
mean_image = x_all[train].mean(axis=0)


def prepare(x):
    \"\"\"Subtract the mean training image and append a constant 1 (the bias trick): shape (N, 785).\"\"\"
    return np.hstack([x - mean_image, np.ones((len(x), 1))])


X_train, y_train = prepare(x_all[train]), y_all[train]
X_val, y_val = prepare(x_all[val]), y_all[val]
X_test, y_test = prepare(x_test_all[:NUM_TEST]), y_test_all[:NUM_TEST]
X_dev, y_dev = X_train[:500], y_train[:500]
print("train", X_train.shape, "val", X_val.shape, "test", X_test.shape)
"""

#: Plot of learned weight templates (svm, softmax).
TEMPLATES = """
fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for digit, ax in enumerate(axes):
    ax.imshow(W[:-1, digit].reshape(28, 28), cmap="coolwarm")
    ax.set_title(str(digit))
    ax.axis("off")
fig.suptitle("learned weight templates, one per class")
plt.show()
"""


def knn_notebook() -> list[nbformat.NotebookNode]:
    """kNN: distances, cross-validation of k, accuracy against training-set size."""
    return [
        md(
            """
            # k-nearest neighbours on MNIST

            A kNN classifier memorises the training images and labels a test image by a vote of
            the k training images nearest to it (L2 distance). You write the classifier in
            `knn.py`: the distance matrix with two loops, one loop and no loop, the vote, and
            k-fold cross-validation. This notebook runs your module, chooses k by
            cross-validation and looks at how accuracy grows with the training set.

            The course material uses CIFAR-10; it is not available offline, so this notebook
            uses MNIST (28x28 grey digits), loaded by `autograder.datasets.load` from
            `$AUTOGRADER_DATA` or the user cache.
            """
        ),
        setup("knn"),
        code(
            """
            NUM_TRAIN, NUM_TEST = 4000, 500
            x_all, y_all, x_test_all, y_test_all = load("mnist").scaled()
            order = np.random.default_rng(0).permutation(len(x_all))[:NUM_TRAIN]  # subsets may be sorted
            X_train, y_train = x_all[order], y_all[order]
            X_test, y_test = x_test_all[:NUM_TEST], y_test_all[:NUM_TEST]

            fig, axes = plt.subplots(5, 10, figsize=(10, 5))
            for digit in range(10):
                for row, index in enumerate(np.flatnonzero(y_train == digit)[:5]):
                    axes[row, digit].imshow(X_train[index].reshape(28, 28), cmap="gray")
                    axes[row, digit].axis("off")
            fig.suptitle("five training images per class")
            plt.show()
            """
        ),
        md(
            """
            ## Distances

            `compute_distances_two_loops` fills `dists[i, j]` one pair at a time; the one-loop and
            no-loop versions must give the same matrix. Bright rows are test images far from most
            training images; bright columns, training images far from most test images.
            """
        ),
        code(
            """
            classifier = knn.KNearestNeighbor()
            classifier.train(X_train, y_train)
            few = X_test[:50]
            timings = {}
            for name in ("two_loops", "one_loop", "no_loops"):
                start = time.perf_counter()
                dists = getattr(classifier, f"compute_distances_{name}")(few)
                timings[name] = (dists, time.perf_counter() - start)
            for name, (_, seconds) in timings.items():
                print(f"{name:>10}: {seconds:8.4f} s")
            dists = timings["two_loops"][0]
            plt.imshow(dists, aspect="auto", interpolation="none")
            plt.xlabel("training image")
            plt.ylabel("test image")
            plt.colorbar(label="L2 distance")
            plt.show()
            """
        ),
        tests(
            "distances_agree",
            2,
            """
            for name in ("one_loop", "no_loops"):
                np.testing.assert_allclose(timings[name][0], dists, rtol=1e-7, atol=1e-7, err_msg=name)
            ### BEGIN HIDDEN TESTS
            rng = np.random.default_rng(1)
            a, b = rng.normal(size=(7, 5)), rng.normal(size=(9, 5))
            probe = knn.KNearestNeighbor()
            probe.train(b, np.zeros(9, dtype=np.int64))
            expected = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))
            np.testing.assert_allclose(probe.compute_distances_no_loops(a), expected, rtol=1e-7, atol=1e-9)
            ### END HIDDEN TESTS
            """,
        ),
        md(
            """
            ## Choosing k by cross-validation

            `cross_validate_k` splits the training set into 5 folds; each fold is predicted by a
            classifier trained on the other four. The error bars are the standard deviation over
            the folds. Choose `best_k`, the k with the highest mean fold accuracy.
            """
        ),
        code(
            """
            k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50]
            k_to_accuracies = knn.cross_validate_k(X_train, y_train, k_choices, num_folds=5)
            for k in k_choices:
                plt.scatter([k] * len(k_to_accuracies[k]), k_to_accuracies[k], color="gray", s=10)
            means = [np.mean(k_to_accuracies[k]) for k in k_choices]
            stds = [np.std(k_to_accuracies[k]) for k in k_choices]
            plt.errorbar(k_choices, means, yerr=stds, capsize=3)
            plt.xlabel("k")
            plt.ylabel("fold accuracy")
            plt.title("5-fold cross-validation of k")
            plt.show()
            """
        ),
        solution(
            "choose_k",
            """
            best_k = None
            ### BEGIN SOLUTION
            best_k = max(k_choices, key=lambda k: np.mean(k_to_accuracies[k]))
            ### END SOLUTION
            print("best k:", best_k)
            """,
        ),
        tests(
            "best_k",
            1,
            """
            assert best_k in k_choices
            assert np.mean(k_to_accuracies[best_k]) == max(np.mean(v) for v in k_to_accuracies.values())
            ### BEGIN HIDDEN TESTS
            MIN_TEST_ACCURACY = 0.85  # kNN with 4,000 MNIST images reaches about 0.91 for the best k
            classifier.train(X_train, y_train)
            assert np.mean(classifier.predict(X_test, k=best_k) == y_test) >= MIN_TEST_ACCURACY
            ### END HIDDEN TESTS
            """,
        ),
        md(
            """
            ## Accuracy against training-set size

            kNN has no training: more data can only help by putting a similar image nearer to
            each test image. Fill `size_accuracies` with the test accuracy (with `best_k`) of a
            classifier trained on the first `size` training images, for each size.
            """
        ),
        solution(
            "training_size",
            """
            train_sizes = [100, 250, 500, 1000, 2000, 4000]
            size_accuracies = []
            ### BEGIN SOLUTION
            for size in train_sizes:
                classifier.train(X_train[:size], y_train[:size])
                size_accuracies.append(float(np.mean(classifier.predict(X_test, k=best_k) == y_test)))
            ### END SOLUTION
            print(dict(zip(train_sizes, size_accuracies, strict=True)))
            plt.semilogx(train_sizes, size_accuracies, marker="o")
            plt.xlabel("training images")
            plt.ylabel("test accuracy")
            plt.title(f"{best_k}-NN accuracy against training-set size")
            plt.show()
            """,
        ),
        tests(
            "training_size_curve",
            1,
            """
            assert len(size_accuracies) == len(train_sizes)
            assert size_accuracies[-1] > size_accuracies[0]
            ### BEGIN HIDDEN TESTS
            classifier.train(X_train[:250], y_train[:250])
            assert size_accuracies[1] == np.mean(classifier.predict(X_test, k=best_k) == y_test)
            ### END HIDDEN TESTS
            """,
        ),
        *self_check("knn"),
    ]


def _linear_loss_cells(module: str, naive: str, vectorized: str, sanity: str) -> list[nbformat.NotebookNode]:
    """Loss sanity check, gradient-check tables and naive against vectorized (svm, softmax)."""
    return [
        locked("data", LINEAR_DATA),
        locked("gradient_check_helper", GRADIENT_CHECK),
        md(
            f"""
            ## Loss and gradient

            With small random weights every score is near 0: {sanity}. The tables compare your
            analytic gradient with centred differences at random entries, without and with
            regularization; relative errors around 1e-7 or below mean the gradient is right.
            """
        ),
        code(
            f"""
            W = np.random.default_rng(0).normal(size=(785, 10)) * 1e-4
            print("loss", {module}.{naive}(W, X_dev, y_dev, 0.0)[0])
            errors = {{}}
            for reg in (0.0, 5.0):
                print(f"\\nreg = {{reg}}")
                _, grad = {module}.{naive}(W, X_dev, y_dev, reg)

                def loss_of(w, reg=reg):
                    return {module}.{naive}(w, X_dev, y_dev, reg)[0]

                errors[reg] = gradient_check(loss_of, W, grad)
            """
        ),
        md("The vectorized version must give the same loss and gradient, much faster."),
        code(
            f"""
            start = time.perf_counter()
            loss_naive, grad_naive = {module}.{naive}(W, X_dev, y_dev, 5.0)
            naive_seconds = time.perf_counter() - start
            start = time.perf_counter()
            loss_vec, grad_vec = {module}.{vectorized}(W, X_dev, y_dev, 5.0)
            vec_seconds = time.perf_counter() - start
            print(f"naive: loss {{loss_naive:.6f}} in {{naive_seconds:.4f}} s")
            print(f"vectorized: loss {{loss_vec:.6f}} in {{vec_seconds:.4f}} s")
            print("largest gradient difference", np.abs(grad_naive - grad_vec).max())
            """
        ),
        tests(
            "loss_and_gradient",
            2,
            f"""
            # Entries of about 1e-6 (border pixels) lose digits to rounding: up to about 5e-5 here.
            MAX_RELATIVE_ERROR = 1e-4
            assert max(errors[0.0].max(), errors[5.0].max()) < MAX_RELATIVE_ERROR
            np.testing.assert_allclose(loss_vec, loss_naive, rtol=1e-9)
            np.testing.assert_allclose(grad_vec, grad_naive, rtol=1e-7, atol=1e-10)
            ### BEGIN HIDDEN TESTS
            rng = np.random.default_rng(2)
            W_probe, X_probe = rng.normal(size=(6, 4)), rng.normal(size=(9, 6))
            y_probe = rng.integers(4, size=9)
            loss_a, grad_a = {module}.{naive}(W_probe, X_probe, y_probe, 0.3)
            loss_b, grad_b = {module}.{vectorized}(W_probe, X_probe, y_probe, 0.3)
            np.testing.assert_allclose(loss_b, loss_a, rtol=1e-9)
            np.testing.assert_allclose(grad_b, grad_a, rtol=1e-7, atol=1e-10)
            ### END HIDDEN TESTS
            """,
        ),
    ]


#: The minibatch SGD loop of the linear classifiers (written by the student in svm, given in softmax).
SGD_LOOP = """
    rng = np.random.default_rng(seed)
    W = 1e-3 * rng.normal(size=(X.shape[1], int(y.max()) + 1))
    loss_history = []
    for _ in range(num_iters):
        batch = rng.choice(len(X), size=batch_size, replace=True)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        W -= learning_rate * dW
        loss_history.append(float(loss))
    return W, loss_history
"""

SGD_SIGNATURE = '''
def train_linear(loss_fn, X, y, learning_rate, reg, num_iters=1000, batch_size=200, seed=0):
    """Minibatch SGD on a linear classifier; return the weights (D, C) and the loss of each step."""
'''


def accuracy_cell(name: str) -> str:
    """Code that defines ``accuracy(W, X, y)`` and prints the accuracies of ``W``."""
    return f"""
    def accuracy(W, X, y):
        return float(np.mean(np.argmax(X @ W, axis=1) == y))


    print(f"{name}: train {{accuracy(W, X_train, y_train):.3f}}, val {{accuracy(W, X_val, y_val):.3f}}")
    """


def svm_notebook() -> list[nbformat.NotebookNode]:
    """SVM: loss and gradient checks, SGD training curve, weight templates."""
    return [
        md(
            """
            # Multiclass SVM on MNIST

            A linear classifier scores class `c` of image `x` as `x @ W[:, c]`; the multiclass
            SVM (hinge) loss wants the correct score above every other by a margin of 1. You
            write `svm_loss_naive` and `svm_loss_vectorized` in `svm.py`; here you check their
            gradients numerically, write the minibatch SGD loop that trains `W`, and look at what
            the classifier learned. (MNIST replaces the course's CIFAR-10, not available offline.)
            """
        ),
        setup("svm"),
        *_linear_loss_cells("svm", "svm_loss_naive", "svm_loss_vectorized", "the loss is about C - 1 = 9"),
        md(
            """
            ## Stochastic gradient descent

            Write `train_linear`: start from small random weights, and at each step draw a
            minibatch of `batch_size` rows (with replacement), compute the loss and gradient with
            `loss_fn`, and step against the gradient. Keep the loss of every step.
            """
        ),
        solution(
            "train_linear",
            dedent(SGD_SIGNATURE) + "    ### BEGIN SOLUTION" + SGD_LOOP.rstrip() + "\n    ### END SOLUTION\n",
        ),
        code(
            """
            start = time.perf_counter()
            W, loss_history = train_linear(svm.svm_loss_vectorized, X_train, y_train, 1e-3, 1e-2, 800)
            print(f"800 steps in {time.perf_counter() - start:.1f} s")
            plt.plot(loss_history)
            plt.xlabel("SGD step")
            plt.ylabel("minibatch hinge loss")
            plt.title("SGD training curve")
            plt.show()
            """
        ),
        code(accuracy_cell("svm")),
        tests(
            "sgd_training",
            2,
            """
            MIN_VAL_ACCURACY = 0.80  # a linear SVM on 4,000 MNIST images reaches about 0.86
            assert len(loss_history) == 800
            assert np.mean(loss_history[-100:]) < np.mean(loss_history[:100])
            assert accuracy(W, X_val, y_val) >= MIN_VAL_ACCURACY
            ### BEGIN HIDDEN TESTS
            W_again, again = train_linear(svm.svm_loss_vectorized, X_train, y_train, 1e-3, 1e-2, 50, 20, 7)
            assert W_again.shape == (785, 10) and len(again) == 50
            ### END HIDDEN TESTS
            """,
        ),
        md("Each column of `W` (without the bias row) is a template the classifier matches images against."),
        code(TEMPLATES),
        *self_check("svm"),
    ]


def softmax_notebook() -> list[nbformat.NotebookNode]:
    """Softmax: checks, the layer form, hyperparameter search, templates."""
    return [
        md(
            """
            # Softmax classifier on MNIST

            The softmax classifier turns the scores `x @ W` into class probabilities and
            minimises their cross-entropy. You write `softmax_loss_naive`,
            `softmax_loss_vectorized` and the layer form `softmax_loss(x, y)` in `softmax.py`;
            here you check gradients numerically, search the learning rate and regularization on
            a validation set, and look at the learned templates. (MNIST replaces the course's
            CIFAR-10, not available offline.)
            """
        ),
        setup("softmax"),
        *_linear_loss_cells(
            "softmax",
            "softmax_loss_naive",
            "softmax_loss_vectorized",
            "each class gets probability about 0.1 and the loss is about -log(0.1) = 2.303",
        ),
        md(
            """
            ## The layer form

            `softmax_loss(x, y)` takes the scores themselves; on `X @ W` it gives the data loss of
            the linear classifier, and the gradient with respect to the scores.
            """
        ),
        tests(
            "softmax_layer",
            1,
            """
            layer_loss, dscores = softmax.softmax_loss(X_dev @ W, y_dev)
            linear_loss, linear_grad = softmax.softmax_loss_vectorized(W, X_dev, y_dev, 0.0)
            np.testing.assert_allclose(layer_loss, linear_loss, rtol=1e-9)
            np.testing.assert_allclose(X_dev.T @ dscores, linear_grad, rtol=1e-7, atol=1e-12)
            ### BEGIN HIDDEN TESTS
            big = np.array([[1000.0, 0.0, -1000.0]])
            big_loss, big_grad = softmax.softmax_loss(big, np.array([1]))
            assert np.isclose(big_loss, 1000.0) and np.all(np.isfinite(big_grad))
            ### END HIDDEN TESTS
            """,
        ),
        md(
            """
            ## Training, and choosing the hyperparameters

            The minibatch SGD loop is the one you wrote for the SVM. Train one classifier per
            pair of learning rate and regularization strength, and keep in `results` the pair's
            validation accuracy; `best_weights` is the weights of the best pair.
            """
        ),
        locked("train_linear", dedent(SGD_SIGNATURE) + SGD_LOOP),
        solution(
            "hyperparameter_search",
            """
            learning_rates = [1e-2, 1e-1, 5e-1]
            regularization_strengths = [1e-4, 1e-2]
            results = {}  # (learning_rate, reg) -> validation accuracy
            best_weights, best_val = None, -1.0
            ### BEGIN SOLUTION
            for learning_rate in learning_rates:
                for reg in regularization_strengths:
                    loss_fn = softmax.softmax_loss_vectorized
                    W, _ = train_linear(loss_fn, X_train, y_train, learning_rate, reg, 200)
                    results[learning_rate, reg] = float(np.mean(np.argmax(X_val @ W, axis=1) == y_val))
                    if results[learning_rate, reg] > best_val:
                        best_weights, best_val = W, results[learning_rate, reg]
            ### END SOLUTION
            print(f"best validation accuracy {best_val:.3f}")
            grid = [[results[lr, reg] for reg in regularization_strengths] for lr in learning_rates]
            plt.imshow(grid, cmap="viridis")
            plt.xticks(range(len(regularization_strengths)), regularization_strengths)
            plt.yticks(range(len(learning_rates)), learning_rates)
            plt.xlabel("regularization")
            plt.ylabel("learning rate")
            plt.colorbar(label="validation accuracy")
            plt.show()
            """,
        ),
        tests(
            "best_hyperparameters",
            2,
            """
            MIN_VAL_ACCURACY = 0.83  # softmax on 4,000 MNIST images reaches about 0.89
            assert set(results) == {(lr, reg) for lr in learning_rates for reg in regularization_strengths}
            assert best_val == max(results.values()) >= MIN_VAL_ACCURACY
            ### BEGIN HIDDEN TESTS
            assert np.mean(np.argmax(X_val @ best_weights, axis=1) == y_val) == best_val
            ### END HIDDEN TESTS
            """,
        ),
        code(
            """
            W = best_weights
            _, loss_history = train_linear(softmax.softmax_loss_vectorized, X_train, y_train, 1e-1, 1e-4, 300)
            plt.plot(loss_history)
            plt.xlabel("SGD step")
            plt.ylabel("minibatch cross-entropy")
            plt.title("SGD training curve")
            plt.show()
            print(f"test accuracy {np.mean(np.argmax(X_test @ W, axis=1) == y_test):.3f}")
            """
        ),
        code(TEMPLATES),
        *self_check("softmax"),
    ]


def optim_notebook() -> list[nbformat.NotebookNode]:
    """Optimizers: properties of the updates, the race on one MLP."""
    return [
        md(
            """
            # Update rules: SGD, momentum, RMSProp, Adam

            You write `sgd_momentum`, `rmsprop` and `adam` in `optim.py`, each with CS231n's
            interface `next_w, config = update(w, dw, config)`. This notebook checks a few of
            their properties and races them on the same small MLP on MNIST (the course uses
            CIFAR-10, not available offline): same initial weights, same minibatches, only the
            update rule differs.
            """
        ),
        setup("optim"),
        md(
            """
            ## Properties

            With momentum 0, `sgd_momentum` is plain SGD; Adam's first step moves every weight by
            about the learning rate, whatever the size of its gradient.
            """
        ),
        tests(
            "update_properties",
            2,
            """
            rng = np.random.default_rng(0)
            w, dw = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
            next_w, _ = optim.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.0})
            np.testing.assert_allclose(next_w, w - 0.1 * dw)
            next_w, config = optim.adam(w, dw * 1e3, {"learning_rate": 1e-3})
            np.testing.assert_allclose(np.abs(next_w - w), 1e-3, rtol=1e-4)
            assert config["t"] == 1
            ### BEGIN HIDDEN TESTS
            next_w, config = optim.rmsprop(w, dw, {"learning_rate": 1e-2, "decay_rate": 0.9})
            np.testing.assert_allclose(next_w, w - 1e-2 * dw / (np.sqrt(0.1 * dw**2) + 1e-8))
            np.testing.assert_allclose(config["cache"], 0.1 * dw**2)
            ### END HIDDEN TESTS
            """,
        ),
        md(
            """
            ## The race

            The network is `784 -> 100 (ReLU) -> 10 (softmax)`, trained on 4,000 MNIST images with
            minibatches of 100. `mlp_loss` returns the loss and the gradient of every parameter.
            """
        ),
        locked(
            "mlp",
            '''
            x_all, y_all, x_test_all, y_test_all = load("mnist").scaled()
            order = np.random.default_rng(0).permutation(len(x_all))  # subsets may be sorted by class
            X_train, y_train = x_all[order[:4000]], y_all[order[:4000]]
            X_val, y_val = x_all[order[4000:5000]], y_all[order[4000:5000]]


            def init_params(seed=0):
                rng = np.random.default_rng(seed)
                return {
                    "W1": rng.normal(size=(784, 100)) * np.sqrt(2 / 784),
                    "b1": np.zeros(100),
                    "W2": rng.normal(size=(100, 10)) * np.sqrt(2 / 100),
                    "b2": np.zeros(10),
                }


            def mlp_loss(params, X, y):
                """Mean cross-entropy of the two-layer network and the gradients of its parameters."""
                hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
                scores = hidden @ params["W2"] + params["b2"]
                scores -= scores.max(axis=1, keepdims=True)
                probs = np.exp(scores)
                probs /= probs.sum(axis=1, keepdims=True)
                rows = np.arange(len(y))
                loss = -np.mean(np.log(probs[rows, y]))
                dscores = probs
                dscores[rows, y] -= 1
                dscores /= len(y)
                dhidden = (dscores @ params["W2"].T) * (hidden > 0)
                grads = {
                    "W2": hidden.T @ dscores,
                    "b2": dscores.sum(axis=0),
                    "W1": X.T @ dhidden,
                    "b1": dhidden.sum(axis=0),
                }
                return loss, grads


            def accuracy(params, X, y):
                hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
                return float(np.mean(np.argmax(hidden @ params["W2"] + params["b2"], axis=1) == y))
            ''',
        ),
        md(
            """
            Write `race`: for each rule, start from `init_params(0)`, give every parameter its own
            copy of the rule's config (the state of the rule is per parameter), and take
            `num_steps` steps on the minibatches `batches`, recording the loss of each step in
            `losses[name]` and the final validation accuracy in `val_accuracy[name]`.
            """
        ),
        solution(
            "race",
            '''
            NUM_STEPS = 200
            batches = np.random.default_rng(1).integers(len(X_train), size=(NUM_STEPS, 100))
            rules = {
                "SGD": (optim.sgd_momentum, {"learning_rate": 5e-2, "momentum": 0.0}),
                "SGD + momentum": (optim.sgd_momentum, {"learning_rate": 5e-2, "momentum": 0.9}),
                "RMSProp": (optim.rmsprop, {"learning_rate": 1e-3}),
                "Adam": (optim.adam, {"learning_rate": 1e-3}),
            }


            def race(rules, batches):
                """Train one network per rule; return the loss of each step and the validation accuracy."""
                losses, val_accuracy = {}, {}
                ### BEGIN SOLUTION
                for name, (update, config) in rules.items():
                    params = init_params(0)
                    configs = {key: dict(config) for key in params}
                    losses[name] = []
                    for batch in batches:
                        loss, grads = mlp_loss(params, X_train[batch], y_train[batch])
                        for key in params:
                            params[key], configs[key] = update(params[key], grads[key], configs[key])
                        losses[name].append(float(loss))
                    val_accuracy[name] = accuracy(params, X_val, y_val)
                ### END SOLUTION
                return losses, val_accuracy
            ''',
        ),
        code(
            """
            start = time.perf_counter()
            losses, val_accuracy = race(rules, batches)
            print(f"race run in {time.perf_counter() - start:.1f} s")
            fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4))
            for name, history in losses.items():
                smooth = np.convolve(history, np.ones(20) / 20, mode="valid")
                ax_loss.plot(smooth, label=name)
            ax_loss.set_xlabel("step")
            ax_loss.set_ylabel("training loss (mean of 20 steps)")
            ax_loss.legend()
            ax_acc.bar(list(val_accuracy), list(val_accuracy.values()))
            ax_acc.set_ylim(0.8, 1.0)
            ax_acc.set_ylabel("validation accuracy")
            plt.show()
            """
        ),
        tests(
            "race_results",
            2,
            """
            assert set(losses) == set(rules) and all(len(h) == NUM_STEPS for h in losses.values())
            final = {name: np.mean(history[-50:]) for name, history in losses.items()}
            assert final["SGD + momentum"] < final["SGD"] and final["Adam"] < final["SGD"]
            ### BEGIN HIDDEN TESTS
            MIN_VAL_ACCURACY = 0.85  # every rule reaches about 0.9 in 200 steps of this race
            assert min(val_accuracy.values()) >= MIN_VAL_ACCURACY
            ### END HIDDEN TESTS
            """,
        ),
        *self_check("optim"),
    ]


def conv_notebook() -> list[nbformat.NotebookNode]:
    """Convolution: gradient checks, a small conv net overfitting 5 images, its filters."""
    return [
        md(
            """
            # Convolution and max pooling

            You write the naive forward and backward passes of a convolutional layer and of max
            pooling in `conv.py`. This notebook checks their gradients numerically, then builds a
            small convolutional network from them and makes it overfit five MNIST images (the
            course uses CIFAR-10, not available offline): the loss must go from about
            `log(10) = 2.3` to near 0.
            """
        ),
        setup("conv"),
        locked("gradient_check_helper", GRADIENT_CHECK),
        md(
            """
            ## Gradient checks

            Each table compares the gradient your backward pass returns with centred differences
            of `sum(out * dout)`, the scalar whose gradient with respect to `out` is `dout`.
            """
        ),
        code(
            """
            rng = np.random.default_rng(0)
            x = rng.normal(size=(2, 3, 7, 7))
            w = rng.normal(size=(4, 3, 3, 3))
            b = rng.normal(size=4)
            conv_param = {"stride": 2, "pad": 1}
            out, cache = conv.conv_forward_naive(x, w, b, conv_param)
            dout = rng.normal(size=out.shape)
            dx, dw, db = conv.conv_backward_naive(dout, cache)
            errors = {}
            for name, array, grad in (("x", x, dx), ("w", w, dw), ("b", b, db)):
                print(f"\\nconvolution, gradient with respect to {name}")
                errors[f"conv {name}"] = gradient_check(
                    lambda _: np.sum(conv.conv_forward_naive(x, w, b, conv_param)[0] * dout), array, grad
                )
            pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
            pooled, pool_cache = conv.max_pool_forward_naive(x, pool_param)
            dpooled = rng.normal(size=pooled.shape)
            dx_pool = conv.max_pool_backward_naive(dpooled, pool_cache)
            print("\\nmax pooling, gradient with respect to x")
            errors["pool x"] = gradient_check(
                lambda _: np.sum(conv.max_pool_forward_naive(x, pool_param)[0] * dpooled), x, dx_pool
            )
            """
        ),
        tests(
            "gradient_checks",
            2,
            """
            MAX_RELATIVE_ERROR = 1e-6  # these layers are (piecewise) linear: differences are near exact
            for name, relative in errors.items():
                assert relative.max() < MAX_RELATIVE_ERROR, name
            ### BEGIN HIDDEN TESTS
            probe = rng.normal(size=(1, 2, 5, 5))
            kernel = rng.normal(size=(3, 2, 5, 5))
            full, _ = conv.conv_forward_naive(probe, kernel, np.zeros(3), {"stride": 1, "pad": 0})
            np.testing.assert_allclose(full[0, :, 0, 0], np.tensordot(kernel, probe[0], axes=3), rtol=1e-10)
            ### END HIDDEN TESTS
            """,
        ),
        md(
            """
            ## A small conv net

            `conv(8 filters 5x5, pad 2) -> ReLU -> max pool 2x2 -> affine -> softmax`, on 14x14
            images (MNIST digits averaged over 2x2 blocks, so that the naive loops stay quick).
            The affine layer and the loss are given; write `convnet_loss`, the forward pass
            through your layers and the backward pass in reverse, returning the loss and the
            gradient of every parameter.
            """
        ),
        locked(
            "convnet_helpers",
            '''
            x_all, y_all, _, _ = load("mnist").scaled()
            picked = np.random.default_rng(0).choice(len(x_all), size=5, replace=False)
            X_small = x_all[picked].reshape(5, 1, 14, 2, 14, 2).mean(axis=(3, 5))
            y_small = y_all[picked]
            CONV_PARAM = {"stride": 1, "pad": 2}
            POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


            def softmax_cross_entropy(scores, y):
                """Mean cross-entropy of the scores (N, C) and its gradient with respect to them."""
                shifted = scores - scores.max(axis=1, keepdims=True)
                log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
                dscores = np.exp(log_probs)
                dscores[np.arange(len(y)), y] -= 1
                return -np.mean(log_probs[np.arange(len(y)), y]), dscores / len(y)


            def init_convnet(seed=0):
                rng = np.random.default_rng(seed)
                return {
                    "W1": rng.normal(size=(8, 1, 5, 5)) * np.sqrt(2 / 25),
                    # Not 0: on the blank borders of the digits every pre-activation would then sit
                    # exactly on the ReLU kink, where centred differences are meaningless.
                    "b1": np.full(8, 0.01),
                    "W2": rng.normal(size=(8 * 7 * 7, 10)) * 1e-2,
                    "b2": np.zeros(10),
                }
            ''',
        ),
        solution(
            "convnet_loss",
            '''
            def convnet_loss(params, X, y):
                """Loss of the conv net on (X, y) and the gradients of params (same keys)."""
                ### BEGIN SOLUTION
                conv_out, conv_cache = conv.conv_forward_naive(X, params["W1"], params["b1"], CONV_PARAM)
                relu_out = np.maximum(conv_out, 0)
                pooled, pool_cache = conv.max_pool_forward_naive(relu_out, POOL_PARAM)
                flat = pooled.reshape(len(X), -1)
                loss, dscores = softmax_cross_entropy(flat @ params["W2"] + params["b2"], y)
                grads = {"W2": flat.T @ dscores, "b2": dscores.sum(axis=0)}
                dpooled = (dscores @ params["W2"].T).reshape(pooled.shape)
                drelu = conv.max_pool_backward_naive(dpooled, pool_cache) * (conv_out > 0)
                _, grads["W1"], grads["b1"] = conv.conv_backward_naive(drelu, conv_cache)
                return loss, grads
                ### END SOLUTION
            ''',
        ),
        code(
            """
            params = init_convnet(0)
            loss, grads = convnet_loss(params, X_small, y_small)
            print("initial loss", loss)
            net_errors = {}
            for name in ("W1", "b1", "W2"):
                print(f"\\ngradient with respect to {name}")
                net_errors[name] = gradient_check(
                    lambda _: convnet_loss(params, X_small, y_small)[0], params[name], grads[name], 4
                )
            """
        ),
        md("Adam on the five images: the network memorises them."),
        code(
            """
            NUM_STEPS, LEARNING_RATE = 30, 1e-2
            moments = {key: (np.zeros_like(p), np.zeros_like(p)) for key, p in params.items()}
            history = []
            start = time.perf_counter()
            for step in range(1, NUM_STEPS + 1):
                loss, grads = convnet_loss(params, X_small, y_small)
                history.append(loss)
                for key, grad in grads.items():
                    m, v = moments[key]
                    m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad**2
                    moments[key] = (m, v)
                    m_hat, v_hat = m / (1 - 0.9**step), v / (1 - 0.999**step)
                    params[key] -= LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8)
            print(f"{NUM_STEPS} steps in {time.perf_counter() - start:.1f} s")
            print(f"loss {history[0]:.3f} -> {history[-1]:.4f}")
            plt.semilogy(history)
            plt.xlabel("step")
            plt.ylabel("training loss")
            plt.title("overfitting five images")
            plt.show()
            """
        ),
        tests(
            "overfit",
            2,
            """
            MAX_FINAL_LOSS = 0.05  # five images memorised: the reference reaches about 1e-3 in 30 steps
            MAX_RELATIVE_ERROR = 1e-5  # the ReLU kinks can cost a few digits
            assert abs(history[0] - np.log(10)) < 0.5
            assert history[-1] < MAX_FINAL_LOSS
            assert max(errors.max() for errors in net_errors.values()) < MAX_RELATIVE_ERROR
            ### BEGIN HIDDEN TESTS
            assert set(grads) == {"W1", "b1", "W2", "b2"}
            ### END HIDDEN TESTS
            """,
        ),
        md("The eight first-layer filters the network learned, and what they do to the first image."),
        code(
            """
            conv_out, _ = conv.conv_forward_naive(X_small[:1], params["W1"], params["b1"], CONV_PARAM)
            fig, axes = plt.subplots(2, 8, figsize=(12, 3.2))
            for f in range(8):
                axes[0, f].imshow(params["W1"][f, 0], cmap="coolwarm")
                axes[1, f].imshow(np.maximum(conv_out[0, f], 0), cmap="gray")
                axes[0, f].axis("off")
                axes[1, f].axis("off")
            fig.suptitle("first-layer filters (top) and their ReLU responses to one image (bottom)")
            plt.show()
            """
        ),
        *self_check("conv"),
    ]


#: The MLP notebook's torch import: the comparison is skipped, with one line, without it.
TORCH_IMPORT = """

        try:
            import torch
        except ModuleNotFoundError:
            torch = None
            print("PyTorch is not installed: the PyTorch comparison is skipped (CPU install: see above)")"""


def mlp_notebook() -> list[nbformat.NotebookNode]:
    """MLP: the NumPy network against the same model in PyTorch."""
    return [
        md(
            """
            # A NumPy MLP against PyTorch

            You write `NeuralNetwork` in `mlp.py`: `784 -> 128 (ReLU) -> 10 (softmax)`, manual
            backpropagation and plain SGD. This notebook trains it on MNIST and trains the same
            model in PyTorch, from the same initial weights, on the same minibatches: the loss
            curves should lie on top of each other; the comparison is in accuracy and seconds.
            The PyTorch comparison is optional: without PyTorch it is skipped. To run it, install
            the CPU build (no GPU needed): `pip install torch==2.13.0 --index-url
            https://download.pytorch.org/whl/cpu`.
            """
        ),
        setup("mlp", extra_imports=TORCH_IMPORT),
        code(
            """
            EPOCHS, BATCH_SIZE, LEARNING_RATE = 5, 64, 0.1
            x_train, y_train, x_test, y_test = load("mnist").scaled()
            print("train", x_train.shape, "test", x_test.shape)
            orders = [np.random.default_rng(epoch).permutation(len(x_train)) for epoch in range(EPOCHS)]
            starts = range(0, len(x_train), BATCH_SIZE)
            batches = [order[i : i + BATCH_SIZE] for order in orders for i in starts]
            steps_per_epoch = len(batches) // EPOCHS
            """
        ),
        md(
            """
            ## The training loop

            Write `train(step, predict)`: call `step(X, y)` (one SGD step, returns the loss) on
            every minibatch of `batches` in order, record each loss, and after each epoch
            (every `steps_per_epoch` steps) the test accuracy of `predict`. Return the losses,
            the accuracies and the seconds spent in `step`.
            """
        ),
        solution(
            "train",
            '''
            def train(step, predict):
                """Run ``step`` over ``batches``; return (losses, accuracy after each epoch, seconds)."""
                losses, accuracies, seconds = [], [], 0.0
                ### BEGIN SOLUTION
                for number, batch in enumerate(batches, 1):
                    start = time.perf_counter()
                    losses.append(float(step(x_train[batch], y_train[batch])))
                    seconds += time.perf_counter() - start
                    if number % steps_per_epoch == 0:
                        accuracies.append(float(np.mean(predict(x_test) == y_test)))
                ### END SOLUTION
                return losses, accuracies, seconds
            ''',
        ),
        md("The same network in PyTorch (float64, like NumPy), from your network's initial weights."),
        locked(
            "torch_model",
            """
            np.random.seed(0)
            network = mlp.NeuralNetwork(lr=LEARNING_RATE)
            if torch is not None:
                torch.set_num_threads(1)  # batches of 64: threads cost more than they save
                layers = (torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
                model = torch.nn.Sequential(*layers).double()
                with torch.no_grad():
                    pairs = ((model[0], network.W1, network.b1), (model[2], network.W2, network.b2))
                    for layer, W, b in pairs:
                        layer.weight.copy_(torch.from_numpy(W.T.copy()))
                        layer.bias.copy_(torch.from_numpy(b.ravel().copy()))
                sgd = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

                def torch_step(X, y):
                    sgd.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
                    loss.backward()
                    sgd.step()
                    return loss.item()

                def torch_predict(X):
                    with torch.no_grad():
                        return model(torch.from_numpy(X)).argmax(dim=1).numpy()
            """,
        ),
        code(
            """
            start = time.perf_counter()
            runs = {"NumPy": train(network.train_step, network.predict)}
            if torch is not None:
                runs["PyTorch"] = train(torch_step, torch_predict)
            print(f"both runs, evaluation included: {time.perf_counter() - start:.1f} s")
            fig, (ax_loss, ax_acc, ax_time) = plt.subplots(1, 3, figsize=(14, 4))
            for name, (losses, accuracies, seconds) in runs.items():
                ax_loss.plot(np.convolve(losses, np.ones(20) / 20, mode="valid"), label=name)
                ax_acc.plot(range(1, EPOCHS + 1), accuracies, marker="o", label=name)
                print(f"{name:>8}: test accuracy {accuracies[-1]:.4f}, {seconds:.2f} s in training steps")
            ax_time.bar(list(runs), [seconds for _, _, seconds in runs.values()])
            ax_loss.set(xlabel="step", ylabel="training loss (mean of 20 steps)")
            ax_acc.set(xlabel="epoch", ylabel="test accuracy")
            ax_time.set(ylabel="seconds")
            ax_loss.legend()
            ax_acc.legend()
            plt.show()
            """
        ),
        tests(
            "same_as_torch",
            3,
            """
            MIN_TEST_ACCURACY = 0.85  # the exercise's bar; this setup reaches about 0.91
            numpy_losses, numpy_accuracies, _ = runs["NumPy"]
            torch_losses, torch_accuracies, _ = runs.get("PyTorch", (numpy_losses, numpy_accuracies, 0))
            assert len(numpy_losses) == len(batches) and len(numpy_accuracies) == EPOCHS
            np.testing.assert_allclose(numpy_losses[:100], torch_losses[:100], rtol=1e-6)
            assert numpy_accuracies[-1] >= MIN_TEST_ACCURACY
            ### BEGIN HIDDEN TESTS
            np.testing.assert_allclose(numpy_losses, torch_losses, rtol=1e-4)
            assert abs(numpy_accuracies[-1] - torch_accuracies[-1]) < 0.01
            ### END HIDDEN TESTS
            """,
        ),
        *self_check("mlp"),
    ]


NOTEBOOKS = {
    "knn": knn_notebook,
    "svm": svm_notebook,
    "softmax": softmax_notebook,
    "optim": optim_notebook,
    "conv": conv_notebook,
    "mlp": mlp_notebook,
}


def source_notebook(exercise: str) -> nbformat.NotebookNode:
    """The source notebook of ``exercise``, without outputs."""
    notebook = nbformat.v4.new_notebook(cells=NOTEBOOKS[exercise]())
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"{exercise}-{number:02d}"
    nbformat.validate(notebook)
    return notebook


def render(exercise: str) -> str:
    """The text of ``source_notebooks/<exercise>/<exercise>.ipynb``."""
    return nbformat.writes(source_notebook(exercise)) + "\n"


def main() -> None:
    """Write every source notebook (or those named on the command line)."""
    for exercise in sys.argv[1:] or EXERCISES:
        path = HERE / exercise / f"{exercise}.ipynb"
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(exercise))
        print(path)


if __name__ == "__main__":
    main()
