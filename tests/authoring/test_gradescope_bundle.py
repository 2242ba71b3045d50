"""The Gradescope bundle, run for real: Gradescope's folders laid out in a
temporary root (``$AUTOGRADER_ROOT``), ``setup.sh`` then ``run_autograder``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.sandbox import isolation
from tests.conftest import ASSIGNMENTS, SOLUTIONS

PRIVATE = stat.S_IRWXG | stat.S_IRWXO


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory) -> Path:
    """A Gradescope root after ``setup.sh`` of a bundle grading svm in test mode."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    bundle = root.parent / "autograder.zip"
    assert main(["gradescope-bundle", str(bundle), "--mode", "test", "--only", "svm"]) == 0
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile drops permissions; Gradescope keeps them
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    completed = subprocess.run(
        ["bash", str(root / "source" / "setup.sh")], env=environment(root), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return root


def environment(root: Path) -> dict[str, str]:
    return {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}


def run_autograder(root: Path, submission: Path | None) -> dict:
    """Copy ``submission`` into the root as Gradescope does and run the grading script."""
    return run_autograder_script(root, submission)[0]


def run_autograder_script(root: Path, submission: Path | None) -> tuple[dict, str]:
    """``run_autograder``'s results.json and standard output."""
    target = root / "submission"
    subprocess.run(["rm", "-rf", str(target)], check=True)
    if submission is not None:
        target.mkdir()
        for path in submission.glob("*.py"):
            (target / path.name).write_bytes(path.read_bytes())
    completed = subprocess.run(
        [str(root / "source" / "run_autograder")], env=environment(root), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text()), completed.stdout


def test_bundle_holds_the_scripts_pinned_requirements_and_the_package(tmp_path):
    bundle = tmp_path / "b.zip"
    assert main(["gradescope-bundle", str(bundle), "--only", "svm,conv"]) == 0  # exercises without data
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        requirements = archive.read("requirements.txt").decode().split()
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "package/pyproject.toml", "package/solutions/svm.py"} <= names
    assert not any("__pycache__" in name for name in names)
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert all("==" in line for line in requirements) and any(r.startswith("numpy==") for r in requirements)
    assert not any(r.startswith("torch") for r in requirements)
    assert any(r.startswith("pyseccomp") for r in requirements)  # the `sandbox` extra


def test_setup_installs_the_layers_and_requires_user_and_seccomp(tmp_path):
    bundle = tmp_path / "b.zip"
    assert main(["gradescope-bundle", str(bundle), "--only", "svm"]) == 0
    with zipfile.ZipFile(bundle) as archive:
        setup, run = archive.read("setup.sh").decode(), archive.read("run_autograder").decode()
    assert "apt-get install -y -qq bubblewrap libseccomp2" in setup
    assert "sandbox-setup --require user,seccomp" in setup
    assert "sandbox-setup --require user,seccomp" in run  # a fresh container: cgroups again


def test_run_autograder_records_the_layers_that_work(gradescope):
    """The layers probed in the container are printed (instructors see the
    output) and recorded in results.json."""
    document, output = run_autograder_script(gradescope, SOLUTIONS)
    layers = isolation.probe()
    assert f"isolation: {layers.describe()}" in output
    assert document["extra_data"]["layers"] == layers.names()
    assert document["extra_data"]["isolation"] == layers.describe()


def test_the_reference_earns_full_marks_and_the_stub_zero(gradescope):
    full = run_autograder(gradescope, SOLUTIONS)
    assert full["score"] == full["max_score"] > 0
    assert full["extra_data"]["mode"] == "test" and set(full["extra_data"]["exercises"]) == {"svm"}
    assert run_autograder(gradescope, ASSIGNMENTS)["score"] == 0


def test_results_are_written_even_when_grading_cannot_start(gradescope):
    document = run_autograder(gradescope, None)  # no submission folder: the grader exits with a usage error
    assert document["score"] == 0 and document["extra_data"]["grader_fault"] is True
    assert "failed before grading" in document["output"]
    assert "not found" in document["output"]  # the grader's own last error line


def test_references_and_sources_are_readable_by_root_only(gradescope):
    python = str(gradescope / "venv" / "bin" / "python")
    installed = subprocess.run(
        [python, "-I", "-c", "import autograder; print(autograder.__file__)"],
        capture_output=True, text=True, check=True, cwd=gradescope,
    ).stdout.strip()  # fmt: skip
    solutions = Path(installed).parent / "_solutions"
    assert (solutions / "svm.py").is_file()
    for hidden in (solutions, solutions / "svm.py", gradescope / "source", gradescope / "source" / "package"):
        assert hidden.stat().st_mode & PRIVATE == 0, hidden
