"""The cells the exercise notebooks share, each one call in a notebook.

A source notebook (``source_notebooks/<id>/<id>.ipynb``) and its student
version (``assignments/<id>/<id>.ipynb``) import these instead of carrying
copies of them::

    svm = student_module("svm")          # the setup cell: the student's module
    X_train, ... = linear_classifier_data()  # MNIST for svm and softmax
    gradient_check(f, W, grad)           # the gradient table
    plot_templates(W)                    # the learned weight templates
    self_check("svm")                    # the autograder's visible checks

Editing one of them changes every notebook that calls it, with no rebuild.
The module is light at import (NumPy and the standard library; matplotlib,
IPython and the data sets are imported by the calls that use them), so that
the grader's own start-up never pays for it.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

GRADER_ROOT = Path(__file__).absolute().parents[1]
"""The folder holding the ``autograder`` package: the course repository or a release folder."""

LINEAR_SPLIT = (4000, 1000, 1000)
"""Training, validation and test images of the linear classifiers: fits a reduced copy
of MNIST too (5,000 training images)."""

DEV_SIZE = 500
"""Training rows of the small development set the gradient checks use (they are slow)."""


def module_dir(name: str, start: Path | None = None) -> Path:
    """The folder of the student's ``<name>.py``.

    Looked for in ``start``, then its parent (``assignments/<name>.py``
    beside ``assignments/<name>/<name>.ipynb``), then the course
    repository's ``solutions/`` (an instructor running a source notebook in
    place; a release folder has none).

    Parameters
    ----------
    name : str
        Module name, such as ``"svm"``.
    start : Path, optional
        Where to look first; the current directory (the notebook's folder
        in Jupyter) by default.

    Returns
    -------
    Path
        The first of those folders that holds ``<name>.py``.

    Raises
    ------
    FileNotFoundError
        When none does.
    """
    start = Path.cwd() if start is None else start
    folders = (start, start.parent, GRADER_ROOT / "solutions")
    for folder in folders:
        if (folder / f"{name}.py").is_file():
            return folder
    raise FileNotFoundError(f"{name}.py is in none of {', '.join(map(str, folders))}")


def student_module(name: str) -> ModuleType:
    """Import the student's module ``name`` from ``module_dir(name)``.

    In IPython (Jupyter), the ``autoreload`` extension is turned on too, so
    that an edit saved to ``<name>.py`` is seen by the next cell run.

    Parameters
    ----------
    name : str
        Module name, such as ``"svm"``.

    Returns
    -------
    ModuleType
        The imported module.
    """
    folder = str(module_dir(name))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    _autoreload()
    return importlib.import_module(name)


def _autoreload() -> None:
    """Turn on IPython's ``%autoreload 2`` when running inside IPython."""
    try:
        from IPython import get_ipython
    except ModuleNotFoundError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.run_line_magic("load_ext", "autoreload")
        shell.run_line_magic("autoreload", "2")


def linear_classifier_data(
    load: Callable[[str], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST for the linear classifiers (svm, softmax), mean image subtracted, bias column appended.

    The training images are shuffled with seed 0 (a reduced copy may be
    sorted by class) and split by ``LINEAR_SPLIT``; the mean training image is
    subtracted from every split and a constant 1 is appended (the bias trick).
    The shapes are printed.

    Parameters
    ----------
    load : callable, optional
        ``autograder.datasets.load`` by default: ``load("mnist").scaled()``
        gives the training images and labels, then the test images and labels.

    Returns
    -------
    X_train : ndarray of shape (4000, 785)
    y_train : ndarray of shape (4000,)
    X_val : ndarray of shape (1000, 785)
    y_val : ndarray of shape (1000,)
    X_test : ndarray of shape (1000, 785)
    y_test : ndarray of shape (1000,)
    X_dev : ndarray of shape (500, 785)
        The first ``DEV_SIZE`` rows of ``X_train``.
    y_dev : ndarray of shape (500,)
    """
    if load is None:
        from autograder.datasets import load
    num_train, num_val, num_test = LINEAR_SPLIT
    x_all, y_all, x_test_all, y_test_all = load("mnist").scaled()
    order = np.random.default_rng(0).permutation(len(x_all))
    train, val = order[:num_train], order[num_train : num_train + num_val]
    mean_image = x_all[train].mean(axis=0)

    def prepare(x: np.ndarray) -> np.ndarray:
        return np.hstack([x - mean_image, np.ones((len(x), 1))])

    X_train, y_train = prepare(x_all[train]), y_all[train]
    X_val, y_val = prepare(x_all[val]), y_all[val]
    X_test, y_test = prepare(x_test_all[:num_test]), y_test_all[:num_test]
    print("train", X_train.shape, "val", X_val.shape, "test", X_test.shape)
    return X_train, y_train, X_val, y_val, X_test, y_test, X_train[:DEV_SIZE], y_train[:DEV_SIZE]


def gradient_check(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    num_checks: int = 8,
    h: float = 1e-5,
    seed: int = 0,
) -> np.ndarray:
    """Print a table comparing ``analytic`` with centred differences of ``f`` at random entries of ``x``.

    Each checked entry of ``x`` is moved by ``+h`` and ``-h`` in place and put
    back; ``f`` is called on ``x`` itself.

    Parameters
    ----------
    f : callable
        The scalar function, of ``x``.
    x : ndarray
        The point; its entries are perturbed in place and restored.
    analytic : ndarray of the shape of ``x``
        The gradient to check.
    num_checks : int, default 8
        How many random entries to check.
    h : float, default 1e-5
        The step of the centred difference.
    seed : int, default 0
        Seed of the entries drawn.

    Returns
    -------
    ndarray of shape (num_checks,)
        The relative errors ``|numerical - analytic| / (|numerical| + |analytic|)``.
    """
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


def plot_templates(W: np.ndarray) -> None:
    """Show each class's column of ``W`` (the bias row left out) as a 28x28 image.

    Parameters
    ----------
    W : ndarray of shape (785, 10)
        Weights of a linear classifier on MNIST with the bias trick.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, W.shape[1], figsize=(12, 1.8))
    for digit, ax in enumerate(axes):
        ax.imshow(W[:-1, digit].reshape(28, 28), cmap="coolwarm")
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("learned weight templates, one per class")
    plt.show()


def self_check_command(name: str, start: Path | None = None) -> list[str]:
    """``python -m autograder grade <module_dir(name)> --only <name>``, as an argument list."""
    return [sys.executable, "-m", "autograder", "grade", str(module_dir(name, start)), "--only", name]


def self_check(name: str) -> None:
    """Grade the student's ``<name>.py`` with the visible checks and print the report.

    The grader runs in a child process (``self_check_command``) that finds
    the ``autograder`` package this module belongs to, wherever the kernel
    was started.

    Parameters
    ----------
    name : str
        Exercise id, such as ``"svm"``.
    """
    path = os.pathsep.join(filter(None, [str(GRADER_ROOT), os.environ.get("PYTHONPATH")]))
    report = subprocess.run(
        self_check_command(name), capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path}
    )
    print(report.stdout or report.stderr)
