"""Start-up imports only what a command needs (issue 13, item 1).

Each test imports in a fresh interpreter, so modules loaded by other tests of
this session cannot hide an import. Times are measured by
``benchmarks/bench_grading.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("nbformat", "jsonschema", "dask", "distributed", "matplotlib", "scipy", "torch")
"""Packages no command loads unless its input needs them (a notebook, a plot, a cluster)."""


def loaded_after(code: str) -> set[str]:
    """Top-level package names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_package() -> None:
    loaded = loaded_after("import autograder.cli")
    assert "autograder" in loaded  # the probe itself works
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_version_and_help_load_neither_numpy_nor_the_engine() -> None:
    code = (
        "import contextlib, io\nfrom autograder.cli import main\n"
        "for argv in (['--version'], ['--help'], ['grade', '--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(argv)"
    )
    loaded = loaded_after(code)
    assert "numpy" not in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


@pytest.mark.parametrize(
    "modules",
    [
        ("autograder.grading",),
        ("autograder.batch", "autograder.executors"),
        ("autograder.reports.html", "autograder.reports.gradebook"),
    ],
)
def test_engine_modules_defer_notebooks_plots_and_dask(modules: tuple[str, ...]) -> None:
    loaded = loaded_after("\n".join(f"import {name}" for name in modules))
    assert "numpy" in loaded  # the engine itself did load
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))


def test_a_notebook_still_loads_nbformat_when_handed_in(tmp_path: Path) -> None:
    notebook = tmp_path / "svm.ipynb"
    notebook.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "metadata": {},
                        "source": "def f():\n    return 1\n",
                        "outputs": [],
                        "execution_count": None,
                    }
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    code = (
        "from pathlib import Path\nfrom autograder.submission.notebooks import read_notebook\n"
        f"assert 'f' in read_notebook(Path({str(notebook)!r})).defined"
    )
    assert "nbformat" in loaded_after(code)


def test_the_data_commands_choices_are_the_datasets() -> None:
    from autograder import cli, datasets

    assert (*datasets.DATASETS, "all") == cli.DATASET_CHOICES


@pytest.mark.parametrize(
    ("argv", "code"), [(["grade", "{empty}", "--only", "svm"], 0), (["grade", "absent"], 2)]
)
def test_the_program_exits_with_mains_status_its_objects_frozen(argv: list[str], code: int, tmp_path) -> None:
    """``run`` (``python -m autograder`` and the ``autograder`` script) ends the
    process with ``main``'s status after ``gc.freeze``: the interpreter's exit
    then skips the collector's passes over them (an empty folder is graded,
    scoring 0; an absent one is a usage error)."""
    argv = [arg.format(empty=tmp_path) for arg in argv]
    script = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "from autograder.cli import run\n"
        "run()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "frozen True"
