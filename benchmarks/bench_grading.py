"""What users wait for: CLI start-up, grading overhead and batch throughput, as ratios.

In one run, every figure end to end through the ``autograder`` command (a
fresh interpreter each time, as a student or a course runs it):

(a) ``autograder --version`` against ``python -c "import numpy"`` (best of
    ``--repeat``);
(b) dev and test grading of the six references (``solutions/``), the
    fastest of ``GRADING_RUNS``, against the sum of its exercises' own time
    (the ``seconds`` of each exercise: the sandboxed children's time, module
    import included), with the grader's overhead broken down by phase
    (``autograder.phases``, recorded in the result) plus the start-up and
    report writing outside ``grade``;
(c) one exercise's self-check, ``grade solutions --only svm``, the same way;
(d) ``autograder batch`` on ``--copies`` copies of the references (default
    40), test mode, with ``--jobs 1`` and ``--jobs <cores>``: time per
    submission and job against the exercises' own time, the overhead by phase
    (summed over the batch's results), and the scaling efficiency
    ``T1 / (jobs * Tjobs)``.

The package and the references are byte-compiled first, as ``pip install``
does and as a first run does unless ``PYTHONDONTWRITEBYTECODE`` is set: the
figures are those of a user's machine, not of compiling every module on every
run (about 50 ms of each grading).

Test mode reads the course secret from a scratch file
(``AUTOGRADER_SECRET_FILE``), never ``~/.config/autograder``. On a shared
machine every wall figure also waits for cores: the header and footer say how
busy the machine was.

Run from the repository root::

    python benchmarks/bench_grading.py [--copies 40] [--repeat 5] [--data-dir DIR]

Takes about 60 s plus ``copies * 10`` to ``copies * 20`` seconds on two cores
(the batch, run twice, dominates; use ``--copies 4`` for a quick look). The
MLP and kNN checks need the datasets (``--data-dir``, default
``../shared/datasets``).
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

OUTSIDE = "start-up + report"
"""Name of the time of a ``grade`` command outside ``grading.grade``: the
interpreter, imports, and writing the report and results.json."""

GRADING_RUNS = 3
"""Gradings timed in (b) and (c); the fastest is kept, with its own time and
phases: as with ``_common.best_of``, other processes and page faults only ever
add time, and one run on two cores varies by 10 %."""

BATCH_OUTSIDE = "batch: workers, reports, gradebook"
"""Name of a batch's time outside ``grading.grade`` of its submissions: start-up,
worker processes, each submission's reports, the gradebook and summary."""


def run(argv: list[str]) -> float:
    """Wall-clock seconds of a command run from the repository root (must succeed)."""
    started = time.perf_counter()
    subprocess.run(argv, cwd=_common.ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def autograder(*args: str) -> list[str]:
    """The ``autograder`` command of this checkout (``python -m autograder``)."""
    return [sys.executable, "-m", "autograder", *args]


def bench_startup(repeat: int) -> list[_common.Row]:
    """Rows of (a): CLI start-up against importing NumPy."""
    numpy = min(run([sys.executable, "-c", "import numpy"]) for _ in range(repeat))
    version = min(run(autograder("--version")) for _ in range(repeat))
    return [
        ('python -c "import numpy"', numpy, None, ""),
        ("autograder --version", version, version / numpy, "autograder / import numpy"),
    ]


def overhead_by_phase(phases: dict[str, float], own: float, wall: float, outside: str) -> dict[str, float]:
    """Seconds per phase outside the exercises' own time ``own``; what ``wall``
    holds beyond the phases is counted under ``outside``."""
    # "student" and the import waited for in "child_start" are the exercises' own time
    overhead = {name: seconds for name, seconds in phases.items() if name != "student"}
    if "student" in phases:
        overhead["child_start"] -= own - phases["student"]
    else:
        overhead = {name: seconds - own for name, seconds in overhead.items()}
    overhead[outside] = wall - sum(phases.values())
    return overhead


def ratio_rows(label: str, wall: float, own: float) -> list[_common.Row]:
    """End to end against the exercises' own time and against the goal."""
    goal = 1.25 * own + 0.5
    return [
        (f"{label}: end to end", wall, wall / own, "wall / exercises' own time"),
        ("  exercises' own time", own, None, ""),
        ("  overhead", wall - own, wall / goal, "wall / (1.25 own + 0.5 s), goal <= 1"),
    ]


def graded(label: str, args: list[str], data_dir: Path) -> tuple[list[_common.Row], dict[str, float]]:
    """Grade the references through the CLI ``GRADING_RUNS`` times; for the fastest
    run, rows against its exercises' time, and its phases.

    Returns
    -------
    rows : list of _common.Row
        End-to-end time, the exercises' own time and the overhead.
    overhead : dict
        Seconds per phase outside the exercises' own time, ``OUTSIDE`` included.
    """
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        document = Path(scratch) / "results.json"
        for _ in range(GRADING_RUNS):
            options = [*args, "--data-dir", str(data_dir), "--json", str(document)]
            command = autograder("grade", "solutions", *options)
            runs.append((run(command), json.loads(document.read_text())))
    wall, written = min(runs, key=lambda timed: timed[0])
    extra = written["extra_data"]
    own = sum(exercise["seconds"] for exercise in extra["exercises"].values())
    phases = dict(extra.get("phases") or {"not recorded (grader before phases)": written["execution_time"]})
    return ratio_rows(label, wall, own), overhead_by_phase(phases, own, wall, OUTSIDE)


def phase_rows(overhead: dict[str, float]) -> list[_common.Row]:
    """One row per phase of the overhead, largest first, as a share of the overhead."""
    total = sum(overhead.values())
    ordered = sorted(overhead.items(), key=lambda item: -item[1])
    return [(f"    {name}", seconds, seconds / total, "share of overhead") for name, seconds in ordered]


def bench_grading(data_dir: Path) -> list[_common.Row]:
    """Rows of (b) and (c)."""
    rows: list[_common.Row] = []
    for label, args in (
        ("dev grading, 6 references", ["--mode", "dev"]),
        ("test grading, 6 references", ["--mode", "test"]),
        ("self-check --only svm", ["--mode", "dev", "--only", "svm"]),
    ):
        found, overhead = graded(label, args, data_dir)
        rows += found + phase_rows(overhead)
    return rows


def make_copies(folder: Path, copies: int) -> None:
    """``copies`` submissions, each the six reference modules."""
    modules = [p for p in (_common.ROOT / "solutions").glob("*.py") if not p.name.startswith("_")]
    for number in range(copies):
        student = folder / f"student{number:03d}"
        student.mkdir(parents=True)
        for module in modules:
            shutil.copyfile(module, student / module.name)


def recorded(out: Path) -> tuple[float, dict[str, float]]:
    """The exercises' own time and the phases, summed over a batch's results.json files."""
    own, phases = 0.0, {}
    for document in out.glob("*/results.json"):
        result = json.loads(document.read_text())["result"]
        own += sum(exercise["seconds"] for exercise in result["exercises"])
        for name, seconds in (result.get("phases") or {}).items():
            phases[name] = phases.get(name, 0.0) + seconds
    return own, phases


def bench_batch(copies: int, data_dir: Path) -> list[_common.Row]:
    """Rows of (d): a batch of copies with one job and with one job per core,
    per submission, with the overhead by phase."""
    cores = _common.THREADS
    rows: list[_common.Row] = []
    times = {}
    with tempfile.TemporaryDirectory() as scratch:
        submissions = Path(scratch) / "submissions"
        make_copies(submissions, copies)
        for jobs in sorted({1, cores}):
            out = Path(scratch) / f"out{jobs}"
            argv = [
                "batch",
                str(submissions),
                "--out",
                str(out),
                "--jobs",
                str(jobs),
                "--data-dir",
                str(data_dir),
            ]
            times[jobs] = run(autograder(*argv))
            own, phases = recorded(out)
            # per submission, in one job's time: each job has wall / (copies / jobs) per submission
            each = times[jobs] * jobs / copies
            label = f"batch of {copies}, --jobs {jobs}, per submission and job"
            rows += ratio_rows(label, each, own / copies)
            per_submission = {name: seconds / copies for name, seconds in phases.items()}
            rows += phase_rows(overhead_by_phase(per_submission, own / copies, each, BATCH_OUTSIDE))
    if cores > 1:
        rows.append(
            (
                f"scaling efficiency, {cores} jobs",
                None,
                times[1] / (cores * times[cores]),
                f"T1 / ({cores} T{cores})",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run (a) to (d) and print the table."""
    parser = _common.argument_parser(__doc__)
    parser.add_argument("--copies", type=int, default=40, help="submissions in the batch (d)")
    parser.add_argument("--repeat", type=int, default=5, help="timed start-ups in (a); the fastest is kept")
    parser.add_argument("--data-dir", type=Path, default=_common.data_dir())
    args = parser.parse_args(argv)
    with (
        _common.run("bench_grading: CLI start-up, grading overhead by phase, batch throughput"),
        tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch,
    ):
        # test mode's course secret: a scratch file, never the instructor's ~/.config/autograder
        os.environ["AUTOGRADER_SECRET_FILE"] = str(Path(scratch) / "course-secret")
        for folder in ("autograder", "solutions"):
            compileall.compile_dir(_common.ROOT / folder, quiet=1)
        rows = bench_startup(args.repeat)
        rows += bench_grading(args.data_dir)
        if args.copies > 0:
            rows += bench_batch(args.copies, args.data_dir)
        _common.print_table(rows)


if __name__ == "__main__":
    main()
