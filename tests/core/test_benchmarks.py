"""Every benchmark still starts: its imports resolve from this checkout, wherever it is run.

The benchmarks are not run by the suite (they print ratios, and timing belongs
there, not in tests), so a module they import moving away would go unnoticed
until someone measured; ``--help`` runs every import and the argument parser.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BENCHMARKS = sorted(path for path in (ROOT / "benchmarks").glob("*.py") if not path.name.startswith("_"))
START_SECONDS = 120  # imports of NumPy, torch and the grader on a loaded 2-core machine


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_a_benchmark_starts_from_outside_the_checkout(script, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    ran = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )
    got = f"exit {ran.returncode}\n{ran.stderr[-2000:]}"
    assert ran.returncode == 0, f"{script.name} --help: expected exit 0, got {got}"
    assert "usage:" in ran.stdout
