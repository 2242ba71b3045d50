"""The autograder zip that Gradescope expects.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once
(as root) to build the image, then for every submission copies the student's
files into ``/autograder/submission``, runs ``run_autograder`` and reads
``/autograder/results/results.json``. The zip holds:

- ``setup.sh``: bubblewrap and libseccomp (apt, when missing); a virtual
  environment in ``/autograder/venv`` with the pinned dependencies of
  ``requirements.txt`` (the versions this bundle was built with, the
  ``sandbox`` extra's pyseccomp included; torch is not needed to grade) and
  this package; then the references (in the installed package and in
  ``source/``) and the datasets are made readable by root only, and
  ``autograder sandbox-setup`` creates the unprivileged user the sandboxed
  child runs as, so the child can read neither. The build fails when the
  user or the seccomp layer does not work: a root grader refuses to grade
  without them (``isolation.refusal``).
- ``run_autograder``: runs ``sandbox-setup`` again (a fresh container has no
  cgroups yet), which probes and prints the layers that work here (a
  container may refuse user namespaces, so bubblewrap's filesystem and
  network layers; docs/security.md says what each missing layer costs; the
  results' ``extra_data`` records them too); then grades
  ``/autograder/submission`` with the bundle's mode and exercises into
  ``results.json``, and writes a zero-score results file with the grader's
  last error line if the grader failed before writing one.
- ``package/``: the grader's source; ``data/``: the datasets, when given.
- ``course-secret``: the course secret (``autograder.secret``) keying the
  hidden inputs; ``source/`` is readable by root only, so the child never
  reads it, and ``run_autograder`` points ``$AUTOGRADER_SECRET_FILE`` at it.

Both scripts take their root from ``$AUTOGRADER_ROOT`` (default
``/autograder``) and their interpreter from ``$PYTHON`` (default ``python3``),
so that a test can lay out Gradescope's folders in a temporary root. Python
runs with ``-I``: the working directory and ``PYTHON*`` variables never
decide which ``autograder`` is imported. Choose a
Gradescope base image with Python 3.11 or later (Ubuntu 24.04).
"""

from __future__ import annotations

import shlex
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from autograder import __version__, datasets
from autograder.checks import EXERCISES
from autograder.secret import course_secret

ROOT = Path(__file__).resolve().parents[2]
PINNED = ("numpy", "matplotlib", "nbformat", "pyseccomp")
"""Distributions in ``requirements.txt``: the dependencies of grading and the
``sandbox`` extra; pinned at the version installed here (if it is)."""
PACKAGE_PARTS = ("pyproject.toml", "README.md", "autograder", "solutions")
"""What of the repository the bundle's ``package/`` holds: enough to install it."""
EXECUTABLE = 0o755

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
cd "$ROOT"
# Sandbox layers (docs/security.md): bubblewrap and libseccomp, when missing.
if ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; then
  apt-get update -qq && apt-get install -y -qq bubblewrap libseccomp2 >/dev/null
fi
"${PYTHON:-python3}" -m venv --system-site-packages "$ROOT/venv"
PY="$ROOT/venv/bin/python"
"$PY" -m pip install --quiet -r "$SOURCE/requirements.txt"
# With the build tools already installed if they suffice, else with the ones pip fetches.
INSTALL=("$PY" -m pip install --quiet --no-deps --ignore-installed)
"${INSTALL[@]}" --no-build-isolation "$SOURCE/package" 2>/dev/null || "${INSTALL[@]}" "$SOURCE/package"
INSTALLED=$("$PY" -I -c 'import autograder, pathlib; print(pathlib.Path(autograder.__file__).parent)')
if [ -d "$SOURCE/data" ]; then
  mkdir -p "$ROOT/data" && cp -r "$SOURCE/data/." "$ROOT/data/"
fi
# The sandbox user student code runs as, and the sandbox's cgroups (idempotent);
# fails unless the user and seccomp layers work (a root grader refuses without them).
"$PY" -I -m autograder sandbox-setup --require user,seccomp
# References and datasets: readable by the grader (root) only.
for hidden in "$INSTALLED/_solutions" "$SOURCE" "$ROOT/data"; do
  if [ -e "$hidden" ]; then chown -R root:root "$hidden" && chmod -R go-rwx "$hidden"; fi
done
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this, as root, for every submission; results.json is always written.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results/results.json"
PY="$ROOT/venv/bin/python"
mkdir -p "$ROOT/results"
cd "$ROOT"
rm -f "$RESULTS"
# A fresh container: recreate the cgroups, and print which layers work here.
"$PY" -I -m autograder sandbox-setup --require user,seccomp
DATA=()
if [ -d "$ROOT/data" ]; then DATA=(--data-dir "$ROOT/data"); fi
export AUTOGRADER_SECRET_FILE="$ROOT/source/course-secret"
ERRORS=$(mktemp)
"$PY" -I -m autograder grade "$ROOT/submission" @ARGUMENTS@ --json "$RESULTS" "${DATA[@]}" 2> "$ERRORS"
status=$?
cat "$ERRORS" >&2
if [ ! -s "$RESULTS" ]; then
  "$PY" -I - "$RESULTS" "$status" "$ERRORS" <<'WRITE' || echo '{"score": 0, "tests": []}' > "$RESULTS"
import json, sys
results, status, errors = sys.argv[1:]
last = open(errors, errors="replace").read().strip().splitlines()[-1:] or [""]
output = f"The autograder failed before grading (exit status {status}); tell your instructor."
output += " " + last[0][:1000]
document = {"score": 0, "output": output, "extra_data": {"grader_fault": True}, "tests": []}
open(results, "w").write(json.dumps(document))
WRITE
fi
rm -f "$ERRORS"
exit 0
"""


def requirements() -> str:
    """``requirements.txt``: the grading dependencies at the versions installed here."""
    return "".join(f"{name}{_installed(name)}\n" for name in PINNED)


def _installed(name: str) -> str:
    """``==VERSION`` of distribution ``name`` when installed here, else nothing."""
    try:
        return f"=={version(name)}"
    except PackageNotFoundError:
        return ""


def run_script(mode: str, only: tuple[str, ...] | None) -> str:
    """``run_autograder`` grading in ``mode`` the exercises ``only`` (all when None)."""
    arguments = ["--mode", mode, *(["--only", ",".join(only)] if only else [])]
    return RUN.replace("@ARGUMENTS@", shlex.join(arguments))


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def _add_tree(bundle: zipfile.ZipFile, source: Path, name: str) -> None:
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" not in path.parts:
            bundle.write(path, f"{name}/{path.relative_to(source)}" if source.is_dir() else name)


class MissingData(ValueError):
    """An exercise of the bundle needs a dataset that was not found."""


def needed_datasets(only: tuple[str, ...] | None, data_dir: Path | None) -> dict[str, Path]:
    """The folder of each dataset the bundled exercises load, by name.

    Raises
    ------
    MissingData
        When one is found neither in ``data_dir`` nor where the grader looks.
    """
    names = sorted({name for e in (only or EXERCISES) for name in EXERCISES[e].datasets})
    found = {name: datasets.find_data_dir(name, data_dir) for name in names}
    missing = [name for name, folder in found.items() if folder is None]
    if missing:
        raise MissingData(
            f"the exercises of this bundle need {', '.join(missing)}: pass --data-dir DIR holding "
            f"{', '.join(f'{name}/' for name in missing)} (or run `autograder data fetch`); "
            "without it Gradescope could not grade them"
        )
    return found


def build_bundle(
    out: Path, mode: str = "test", only: tuple[str, ...] | None = None, data_dir: Path | None = None
) -> Path:
    """Write the Gradescope autograder zip to ``out``.

    Parameters
    ----------
    out : Path
        The zip to write.
    mode : str
        Mode ``run_autograder`` grades in (``"test"``: visible and hidden checks).
    only : tuple of str or None
        Exercises of this Gradescope assignment; all when None.
    data_dir : Path or None
        Folder holding the datasets; only those the bundled exercises load
        (``Exercise.datasets``) are bundled, as ``data/<name>/``.

    Raises
    ------
    MissingData
        When a bundled exercise needs a dataset that was not found.
    """
    needed = needed_datasets(only, data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_text(bundle, "setup.sh", SETUP, EXECUTABLE)
        _add_text(bundle, "run_autograder", run_script(mode, only), EXECUTABLE)
        _add_text(bundle, "requirements.txt", requirements())
        _add_text(bundle, "VERSION", f"{__version__}\n")
        _add_text(bundle, "course-secret", course_secret().decode() + "\n", 0o600)
        for part in PACKAGE_PARTS:
            _add_tree(bundle, ROOT / part, f"package/{part}")
        for name, folder in needed.items():
            _add_tree(bundle, folder, f"data/{name}")
    return out
