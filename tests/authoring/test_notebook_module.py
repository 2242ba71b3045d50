"""``autograder.notebook``: the cells the exercise notebooks share, tested as functions.

The notebooks themselves run these in a kernel (tests/authoring/test_notebooks.py);
here each is checked on its own, against inputs whose answer is known.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import notebook
from tests.conftest import SOLUTIONS
from tests.core.test_startup import HEAVY, loaded_after


def test_importing_it_loads_no_plotting_notebook_or_torch_package():
    loaded = loaded_after("import autograder.notebook")
    assert "numpy" in loaded  # the import itself did run
    assert loaded.isdisjoint({*HEAVY, "IPython"}), sorted(loaded & {*HEAVY, "IPython"})


# -- finding and importing the student's module ---------------------------------------------


def test_module_dir_prefers_the_notebooks_folder_then_its_parent(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "GRADER_ROOT", tmp_path / "nowhere")
    folder = tmp_path / "assignments" / "svm"
    folder.mkdir(parents=True)
    (tmp_path / "assignments" / "svm.py").write_text("")
    assert notebook.module_dir("svm", folder) == tmp_path / "assignments"
    (folder / "svm.py").write_text("")
    assert notebook.module_dir("svm", folder) == folder


def test_module_dir_falls_back_to_the_course_references(tmp_path, monkeypatch):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "svm.py").write_text("")
    monkeypatch.setattr(notebook, "GRADER_ROOT", tmp_path)
    source_folder = tmp_path / "source_notebooks" / "svm"
    source_folder.mkdir(parents=True)
    assert notebook.module_dir("svm", source_folder) == tmp_path / "solutions"


def test_module_dir_names_every_folder_it_looked_in(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook, "GRADER_ROOT", tmp_path / "course")
    with pytest.raises(FileNotFoundError) as raised:
        notebook.module_dir("svm", tmp_path / "a" / "b")
    for folder in (tmp_path / "a" / "b", tmp_path / "a", tmp_path / "course" / "solutions"):
        assert str(folder) in str(raised.value)


def test_student_module_imports_from_the_folder_above_and_turns_on_autoreload(tmp_path, monkeypatch):
    name = "student_module_probe"
    (tmp_path / f"{name}.py").write_text("ANSWER = 42\n")
    (tmp_path / "nb").mkdir()
    monkeypatch.chdir(tmp_path / "nb")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    magics: list[tuple[str, str]] = []
    shell = SimpleNamespace(run_line_magic=lambda *magic: magics.append(magic))
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    module = notebook.student_module(name)
    monkeypatch.delitem(sys.modules, name)
    assert module.ANSWER == 42 and Path(module.__file__) == tmp_path / f"{name}.py"
    assert magics == [("load_ext", "autoreload"), ("autoreload", "2")]


def test_student_module_outside_ipython_needs_no_shell(tmp_path, monkeypatch):
    name = "student_module_plain"
    (tmp_path / f"{name}.py").write_text("ANSWER = 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr("IPython.get_ipython", lambda: None)
    assert notebook.student_module(name).ANSWER == 1
    monkeypatch.delitem(sys.modules, name)


# -- the gradient table ---------------------------------------------------------------------


def test_gradient_check_finds_a_right_gradient_right_and_a_wrong_one_wrong(capsys):
    x = np.random.default_rng(3).normal(size=(4, 5))
    before = x.copy()

    def cube_sum(z):
        return float(np.sum(z**3))

    right = notebook.gradient_check(cube_sum, x, 3 * x**2, num_checks=6)
    wrong = notebook.gradient_check(cube_sum, x, 2 * x**2, num_checks=6)
    assert right.shape == (6,) and right.max() < 1e-8  # centred differences of a cubic: error O(h^2)
    np.testing.assert_allclose(wrong, 0.2, rtol=1e-6)  # |3 - 2| / (3 + 2) at every entry
    assert np.array_equal(x, before), "the point was not restored"
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["entry", "numerical", "analytic", "rel.", "error"]
    assert len(table) == 2 * (1 + 6)


def test_gradient_check_entries_depend_on_the_seed(capsys):
    x = np.arange(100.0).reshape(10, 10)
    notebook.gradient_check(np.sum, x, np.ones_like(x), num_checks=5, seed=0)
    notebook.gradient_check(np.sum, x, np.ones_like(x), num_checks=5, seed=1)
    rows = [line.split(")")[0] for line in capsys.readouterr().out.splitlines() if "(" in line]
    assert rows[:5] != rows[5:]


# -- the linear classifiers' data -----------------------------------------------------------


def fake_mnist(num_train: int = 5000, num_test: int = 1200):
    """A ``load`` for ``linear_classifier_data`` and its arrays; pixel 0 of each image is the
    image's index in its split, so that the rows drawn can be recovered."""
    rng = np.random.default_rng(0)
    arrays = []
    for n in (num_train, num_test):
        x = rng.random((n, 784))
        x[:, 0] = np.arange(n)
        arrays += [x, rng.integers(10, size=n)]
    data = SimpleNamespace(scaled=lambda: tuple(arrays))
    return (lambda name: data), arrays


def test_linear_classifier_data_shuffles_splits_centres_and_appends_the_bias(capsys):
    load, (x_all, y_all, x_test, y_test_all) = fake_mnist()
    X_train, y_train, X_val, y_val, X_test, y_test, X_dev, y_dev = notebook.linear_classifier_data(load)
    assert [X.shape for X in (X_train, X_val, X_test, X_dev)] == [
        (4000, 785),
        (1000, 785),
        (1000, 785),
        (500, 785),
    ]
    assert all(np.all(X[:, -1] == 1.0) for X in (X_train, X_val, X_test)), "no bias column"
    offset = -X_test[0, 0]  # test image 0 has index 0: pixel 0 of every row is index - offset
    train, val = (np.rint(X[:, 0] + offset).astype(int) for X in (X_train, X_val))
    assert sorted([*train, *val]) == list(range(5000)), "train and val are not disjoint draws"
    assert not np.array_equal(train[:50], np.arange(50)), "not shuffled"
    mean_image = x_all[train].mean(axis=0)
    np.testing.assert_allclose(X_train[:, :-1], x_all[train] - mean_image, atol=1e-9)
    np.testing.assert_allclose(X_val[:, :-1], x_all[val] - mean_image, atol=1e-9)
    np.testing.assert_allclose(X_test[:, :-1], x_test[:1000] - mean_image, atol=1e-9)
    assert np.array_equal(y_train, y_all[train]) and np.array_equal(y_val, y_all[val])
    assert np.array_equal(y_test, y_test_all[:1000])
    assert np.array_equal(X_dev, X_train[:500]) and np.array_equal(y_dev, y_train[:500])
    assert "train (4000, 785) val (1000, 785) test (1000, 785)" in capsys.readouterr().out


def test_linear_classifier_data_is_the_same_every_time():
    load, _ = fake_mnist()
    first, second = notebook.linear_classifier_data(load), notebook.linear_classifier_data(load)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


# -- the weight templates -------------------------------------------------------------------


def test_plot_templates_shows_each_class_column_without_the_bias_row(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: None)
    W = np.random.default_rng(0).normal(size=(785, 10))
    notebook.plot_templates(W)
    axes = plt.gcf().axes
    try:
        assert [ax.get_title() for ax in axes] == [str(digit) for digit in range(10)]
        for digit, ax in enumerate(axes):
            np.testing.assert_array_equal(ax.images[0].get_array(), W[:784, digit].reshape(28, 28))
    finally:
        plt.close("all")


# -- the self-check -------------------------------------------------------------------------


def test_self_check_command_grades_only_that_exercise_in_its_folder(tmp_path):
    (tmp_path / "svm.py").write_text("")
    assert notebook.self_check_command("svm", tmp_path) == [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(tmp_path),
        "--only",
        "svm",
    ]


def test_self_check_grades_the_module_from_anywhere(tmp_path, monkeypatch, capsys):
    """The kernel's folder has no grader and ``PYTHONPATH`` is empty: the child still finds it."""
    shutil.copy(SOLUTIONS / "optim.py", tmp_path)  # the quickest exercise to grade
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    notebook.self_check("optim")
    report = capsys.readouterr().out
    total = re.search(r"TOTAL (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?)", report)
    assert total and total[1] == total[2] and "optim" in report, report
