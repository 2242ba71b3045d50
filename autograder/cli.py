"""Command line: ``autograder COMMAND ...`` (``grade`` and the commands below).

Exit status 0 whenever a command completed, whatever a score; 2 for a usage
error; 3 for a grader fault, after writing a results file that says so.
Each command is an ``add_*`` function registering its sub-parser and the
function that runs it; ``COMMANDS`` lists them.

Start-up is kept short (a student runs ``grade`` again and again): this module
imports nothing beyond the standard library at load time, and each ``run_*``
function imports only what its command needs; ``--version`` and ``--help``
import neither NumPy nor the grading engine (``tests/core/test_startup.py``).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from autograder import __version__

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_GRADER_FAULT = 3
EXIT_DRIFT = 1
"""``build --check``: assignments/ differs from what the build produces."""
EXIT_SETUP_FAILED = 1
"""``sandbox-setup``: a required layer does not work after the setup."""


MODE_NOTE = {
    "dev": ": visible checks only; --mode test adds the hidden checks",
    "test": ": visible and hidden checks; --mode dev for the visible ones only",
}
"""Printed with the mode a command runs in: ``grade`` defaults to dev (a student's
self-check), ``batch`` and ``gradescope-bundle`` to test (the course's grade)."""


class DefaultsHelp(argparse.HelpFormatter):
    """``--help`` with every option's default (options without one say nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        has_default = action.option_strings and action.default not in (None, False, argparse.SUPPRESS)
        if has_default and "default" not in text:
            text += " (default: %(default)s)"
        return text


MODE_HELP = "dev: visible checks only; test: visible and hidden checks"
ONLY_HELP = "comma-separated exercise ids (default: all)"
DATA_HELP = "folder holding mnist/ and fashion-mnist/ (default: $AUTOGRADER_DATA, then the cache)"


def exercise_list(text: str) -> tuple[str, ...]:
    """Parse ``--only knn,svm`` into known exercise ids."""
    from autograder.checks import EXERCISES

    ids = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [e for e in ids if e not in EXERCISES]
    if unknown or not ids:
        raise argparse.ArgumentTypeError(f"unknown exercise {unknown}; choose from {', '.join(EXERCISES)}")
    return ids


def folder(text: str) -> Path:
    """Parse ``--data-dir DIR``: a folder that exists (a typo must not silently
    fall back to another copy of the data, or to none)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return path


def add_grade(commands: argparse._SubParsersAction) -> None:
    """``autograder grade SUBMISSION``: grade one submission."""
    command = commands.add_parser("grade", help="grade one submission (folder, .zip, .py or .ipynb files)")
    command.add_argument(
        "submission",
        type=Path,
        nargs="+",
        help="a folder, a .zip, or .py modules and .ipynb notebooks (see autograder.submission.formats)",
    )
    command.add_argument("--mode", choices=("dev", "test"), default="dev", help=MODE_HELP)
    command.add_argument("--only", type=exercise_list, help=ONLY_HELP)
    command.add_argument("--json", type=Path, help="write Gradescope's results.json here")
    command.add_argument("--seed", type=int, help="seed of hidden inputs (default: from the submission)")
    command.add_argument(
        "--data-dir",
        type=folder,
        help="folder holding mnist/ and fashion-mnist/ (default: $AUTOGRADER_DATA, then the cache)",
    )
    command.add_argument("--plots", type=Path, help="write the MLP's figures (PNG) here")
    command.add_argument("--html", type=Path, help="write the self-contained HTML feedback page here")
    command.add_argument(
        "--instructor-json",
        type=Path,
        help="write the full result here, hidden checks' messages included (instructor-only: "
        "every other output withholds them)",
    )
    command.set_defaults(run=run_grade)


def run_grade(args: argparse.Namespace) -> int:
    """Grade ``args.submission`` and print (and write) the results."""
    from autograder.grading import Options, grade
    from autograder.references import solutions_dir
    from autograder.reports import to_text, write_gradescope

    absent = [str(path) for path in args.submission if not path.exists()]
    if absent:
        print(f"autograder: not found: {', '.join(absent)}", file=sys.stderr)
        return EXIT_USAGE
    if args.mode == "test" and solutions_dir() is None:
        print(
            "autograder: --mode test needs the reference solutions (hidden checks compute their "
            "expected values from them); this grader has none, as in a student release",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if layers_refused():
        return EXIT_USAGE
    options = Options(mode=args.mode, seed=args.seed, only=args.only, data_dir=args.data_dir)
    result = grade(args.submission, options)
    print(to_text(result))
    if args.json:
        write_gradescope(result, args.json)
    if args.plots:
        from autograder.reports.plots import save_figures

        save_figures(result, args.plots)
    if args.html:
        from autograder.reports.files import write_atomic
        from autograder.reports.html import to_html

        write_atomic(args.html, to_html(result, f"Feedback for {args.submission[0].name}"))
    if args.instructor_json:
        from autograder.reports.files import write_atomic
        from autograder.reports.safe import json_text
        from autograder.reports.visibility import instructor_document

        write_atomic(args.instructor_json, json_text(instructor_document(result)))
    return EXIT_GRADER_FAULT if result.grader_fault else EXIT_OK


def positive(text: str) -> int:
    """Parse a count of workers (at least 1)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def add_batch(commands: argparse._SubParsersAction) -> None:
    """``autograder batch SUBMISSIONS_DIR --out OUT``: grade a class, resumably."""
    command = commands.add_parser("batch", help="grade every entry of a folder (one per student)")
    command.add_argument("submissions", type=Path, help="folder with one entry per student")
    command.add_argument("--out", type=Path, required=True, help="folder of results, feedback and gradebook")
    command.add_argument("--mode", choices=("dev", "test"), default="test", help=MODE_HELP)
    command.add_argument("--only", type=exercise_list, help=ONLY_HELP)
    command.add_argument(
        "--data-dir",
        type=folder,
        help="folder holding mnist/ and fashion-mnist/ (default: $AUTOGRADER_DATA, then the cache)",
    )
    add_executor_options(command)
    command.add_argument(
        "--similarity", action="store_true", help="also compare every pair of students (see `similarity`)"
    )
    command.add_argument(
        "--threshold", type=share, help="similarity of the pairs shown (implies --similarity)"
    )
    command.set_defaults(run=run_batch_command)


def add_executor_options(command: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--scheduler``, ``--dask-workers``: where a class's work runs."""
    command.add_argument("--jobs", type=positive, default=1, help="local worker processes (2.5 GB each)")
    cluster = command.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786)")
    cluster.add_argument("--dask-workers", type=positive, help="start a local Dask cluster of N workers")


def share(text: str) -> float:
    """Parse a similarity threshold (between 0 and 1)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def class_folders_refused(args: argparse.Namespace) -> bool:
    """Say why ``args.submissions`` and ``args.out`` cannot serve a class command, if they
    cannot: the submissions must be a folder, and the output outside it."""
    if not args.submissions.is_dir():
        print(f"autograder: {args.submissions} is not a folder", file=sys.stderr)
        return True
    if args.out.resolve().is_relative_to(args.submissions.resolve()):
        print("autograder: --out must be outside the submissions folder", file=sys.stderr)
        return True
    return False


def run_batch_command(args: argparse.Namespace) -> int:
    """Grade every submission of ``args.submissions`` into ``args.out``."""
    from autograder.batch import plan, run_batch
    from autograder.executors import make_executor

    if class_folders_refused(args):
        return EXIT_USAGE
    if layers_refused():
        return EXIT_USAGE
    print(f"grading in {args.mode} mode{MODE_NOTE[args.mode]}", flush=True)
    jobs = plan(args.submissions, args.mode, args.only, args.data_dir)
    similarity = args.threshold
    if args.similarity or similarity is not None:
        found = similarity_module()
        if found is None:
            return EXIT_USAGE
        similarity = found.DEFAULT_THRESHOLD if similarity is None else similarity
    with make_executor(args.jobs, args.scheduler, args.dask_workers) as executor:
        report = run_batch(jobs, args.out, executor, similarity=similarity)
    print(
        f"graded {len(report.graded)}, skipped {len(report.skipped)} (already graded), "
        f"grader faults {len(report.faults)}; see {args.out / 'summary.html'}"
    )
    return EXIT_GRADER_FAULT if report.faults else EXIT_OK


def add_similarity(commands: argparse._SubParsersAction) -> None:
    """``autograder similarity SUBMISSIONS_DIR --out OUT``: which submissions share their code."""
    command = commands.add_parser(
        "similarity", help="compare every pair of students' modules (read, never run)"
    )
    command.add_argument("submissions", type=Path, help="folder with one entry per student")
    command.add_argument("--out", type=Path, required=True, help="folder of similarity.csv and .html")
    command.add_argument("--only", type=exercise_list, help="comma-separated exercise ids")
    command.add_argument("--threshold", type=share, help="similarity of the pairs shown (default 0.3)")
    add_executor_options(command)
    command.set_defaults(run=run_similarity)


def similarity_module() -> ModuleType | None:
    """``autograder.similarity``, or None after saying which package is missing."""
    try:
        from autograder import similarity
    except ModuleNotFoundError as missing:
        print(f"autograder: {missing}", file=sys.stderr)
        return None
    return similarity


def run_similarity(args: argparse.Namespace) -> int:
    """Compare every pair of ``args.submissions`` per exercise into ``args.out``."""
    similarity = similarity_module()
    if similarity is None:
        return EXIT_USAGE
    if class_folders_refused(args):
        return EXIT_USAGE
    from autograder.batch import plan
    from autograder.checks import EXERCISES
    from autograder.executors import make_executor

    students = [(job.student, Path(job.entry)) for job in plan(args.submissions, "dev", args.only, None)]
    threshold = similarity.DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    with make_executor(args.jobs, args.scheduler, args.dask_workers) as executor:
        exercises = args.only or list(EXERCISES)
        result = similarity.write_similarity(students, exercises, args.out, executor, threshold)
    for student, why in result.problems:
        print(f"not compared: {student}: {why}")
    print(
        f"compared {len(result.pairs)} pairs, {len(result.shown)} at or above {threshold:g}; "
        f"see {args.out / similarity.PAGE_NAME}"
    )
    return EXIT_OK


def add_gradescope_bundle(commands: argparse._SubParsersAction) -> None:
    """``autograder gradescope-bundle OUT.zip``: the autograder zip for Gradescope."""
    command = commands.add_parser("gradescope-bundle", help="build Gradescope's autograder zip")
    command.add_argument("out", type=Path, help="the zip to write")
    command.add_argument("--mode", choices=("dev", "test"), default="test", help=MODE_HELP)
    command.add_argument(
        "--only", type=exercise_list, help="exercises of this Gradescope assignment (default: all)"
    )
    command.add_argument("--data-dir", type=folder, help="datasets to bundle (needed by the MLP exercise)")
    command.set_defaults(run=run_gradescope_bundle)


def run_gradescope_bundle(args: argparse.Namespace) -> int:
    """Write the Gradescope autograder zip."""
    from autograder.authoring.gradescope_bundle import MissingData, build_bundle

    try:
        written = build_bundle(args.out, args.mode, args.only, args.data_dir)
    except MissingData as error:
        print(f"autograder gradescope-bundle: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{written} (grades in {args.mode} mode{MODE_NOTE[args.mode]})")
    return EXIT_OK


def add_sandbox_setup(commands: argparse._SubParsersAction) -> None:
    """``autograder sandbox-setup [--require LAYERS]``: create the sandbox user and
    cgroups (root, idempotent), then check the layers work."""
    command = commands.add_parser("sandbox-setup", help="prepare this machine's sandbox layers (as root)")
    command.add_argument(
        "--require",
        type=layer_list,
        help="layers that must work afterwards, comma-separated, or `all` (default: user,cgroups)",
    )
    command.set_defaults(run=run_sandbox_setup)


def layer_list(text: str) -> tuple[str, ...]:
    """Parse ``--require all`` or ``--require user,seccomp`` into layer names."""
    from autograder.sandbox.isolation import ALL_LAYERS

    names = ALL_LAYERS if text == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in ALL_LAYERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown layer {unknown}; choose from all, {', '.join(ALL_LAYERS)}")
    return names


def run_sandbox_setup(args: argparse.Namespace) -> int:
    """Create what the sandbox needs, print the isolation level reached, and
    fail (exit 1) when a required layer does not work afterwards."""
    from autograder.sandbox import isolation

    done, failed = isolation.setup(args.require or isolation.SETUP_REQUIRES)
    print("\n".join(done))
    if failed:
        print(f"autograder sandbox-setup: not working afterwards: {', '.join(failed)}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    return EXIT_OK


def layers_refused() -> bool:
    """Print why grading is refused here (root without its layers), if it is."""
    from autograder.sandbox import isolation

    try:
        isolation.require_layers()
    except isolation.LayersMissing as refusal:
        print(f"autograder: {refusal}", file=sys.stderr)
        return True
    return False


def add_build(commands: argparse._SubParsersAction) -> None:
    """``autograder build [--check]``: assignments/ from solutions/ and source_notebooks/."""
    command = commands.add_parser("build", help="write assignments/ from the references' markers")
    command.add_argument("--check", action="store_true", help="write nothing; fail when assignments/ differs")
    command.add_argument("--root", type=Path, default=Path(), help="the repository (default: here)")
    command.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    """Build, or with ``--check`` name the files that differ (exit 1)."""
    from autograder.authoring.assignments import BuildError, build_assignments, drift
    from autograder.authoring.stubs import MarkerError

    try:
        if args.check:
            differences = drift(args.root)
            print("\n".join(differences) or "assignments/ is what the build produces")
            return EXIT_DRIFT if differences else EXIT_OK
        print("\n".join(f"wrote {path}" for path in build_assignments(args.root)))
    except (MarkerError, BuildError) as error:
        print(f"autograder build: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def add_release(commands: argparse._SubParsersAction) -> None:
    """``autograder release DIR``: the folder students get."""
    command = commands.add_parser("release", help="write the students' folder (no solutions)")
    command.add_argument("destination", type=Path, help="an empty or new folder")
    command.add_argument("--root", type=Path, default=Path(), help="the repository (default: here)")
    command.add_argument("--data-dir", type=folder, help="datasets the kNN and MLP references need")
    command.set_defaults(run=run_release)


def run_release(args: argparse.Namespace) -> int:
    """Write the release and say what it holds."""
    from autograder.authoring.assignments import BuildError
    from autograder.authoring.release import release
    from autograder.authoring.stubs import MarkerError

    try:
        files = release(args.root, args.destination, args.data_dir)
    except (MarkerError, BuildError) as error:
        print(f"autograder release: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {len(files)} files to {args.destination}; students run `python -m autograder check` there")
    return EXIT_OK


def add_check(commands: argparse._SubParsersAction) -> None:
    """``autograder check [FOLDER]``: a student's self-check (dev mode)."""
    command = commands.add_parser("check", help="run the visible checks on your work (dev mode)")
    command.add_argument(
        "folder", type=Path, nargs="?", help="default: ./assignments when it exists, else the current folder"
    )
    command.add_argument("--only", type=exercise_list, help=ONLY_HELP)
    command.add_argument(
        "--data-dir",
        type=folder,
        help="folder holding mnist/ and fashion-mnist/ (default: $AUTOGRADER_DATA, then the cache)",
    )
    command.set_defaults(run=run_check_command)


def run_check_command(args: argparse.Namespace) -> int:
    """Grade the student's folder in dev mode and print the report."""
    from autograder.grading import Options, grade
    from autograder.reports import to_text

    folder = args.folder or (Path("assignments") if Path("assignments").is_dir() else Path())
    if not folder.is_dir():
        print(f"autograder: {folder} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    if layers_refused():
        return EXIT_USAGE
    result = grade(folder, Options(mode="dev", only=args.only, data_dir=args.data_dir))
    print(to_text(result))
    return EXIT_GRADER_FAULT if result.grader_fault else EXIT_OK


def add_data(commands: argparse._SubParsersAction) -> None:
    """``autograder data fetch|status``: the datasets of this machine."""
    command = commands.add_parser("data", help="download the datasets, or say where they are")
    actions = command.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser("fetch", help="download (with checksums) into the cache or --to DIR")
    fetch.add_argument(
        "name", nargs="?", choices=DATASET_CHOICES, default="all", help="dataset (default: all)"
    )
    fetch.add_argument(
        "--to",
        type=Path,
        help="folder to download into (default: $XDG_CACHE_HOME/autograder/datasets, "
        "else ~/.cache/autograder/datasets)",
    )
    fetch.set_defaults(run=run_data_fetch)
    status = actions.add_parser("status", help="where each dataset was found, its files and checksums")
    status.add_argument("--data-dir", type=folder, help="folder searched first, as for grade")
    status.set_defaults(run=run_data_status)


DATASET_CHOICES = ("mnist", "fashion-mnist", "all")
"""What ``data fetch`` takes, spelled here so that building the parser does not
import ``autograder.datasets`` (and NumPy); a test holds it to ``datasets.DATASETS``."""


def _names(name: str) -> list[str]:
    from autograder import datasets

    return list(datasets.DATASETS) if name == "all" else [name]


def run_data_fetch(args: argparse.Namespace) -> int:
    """Download the missing files of each named dataset; exit 1 when one failed."""
    from autograder import datasets

    failed = 0
    for name in _names(args.name):
        try:
            where = datasets.download_dataset(name, progress=True, into=args.to)
        except datasets.DatasetUnavailable as error:
            print(f"autograder data: {error}", file=sys.stderr)
            failed += 1
        else:
            print(f"{name}: {where}")
    return EXIT_DRIFT if failed else EXIT_OK


def run_data_status(args: argparse.Namespace) -> int:
    """Print where each dataset is, with its files; exit 1 when one is missing."""
    from autograder import datasets

    missing = 0
    for name in datasets.DATASETS:
        try:
            data = datasets.load(name, args.data_dir)
        except (datasets.DatasetUnavailable, datasets.IDXFormatError) as error:
            print(f"{name}: missing; {str(error).splitlines()[0]}")
            missing += 1
            continue
        kind = "official" if data.official else "not all official (a subset or another copy)"
        print(f"{name}: {data.data_dir} ({kind})")
        for record in data.files:
            official = record.evidence or "not official"
            print(f"  {record.filename:<28} {record.samples:>6} samples  sha256 {record.sha256}  {official}")
    return EXIT_DRIFT if missing else EXIT_OK


COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    add_grade,
    add_batch,
    add_similarity,
    add_gradescope_bundle,
    add_sandbox_setup,
    add_build,
    add_release,
    add_check,
    add_data,
)
"""Every command, each registering its own sub-parser."""


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    root = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    original = commands.add_parser

    def add_parser(name: str, **kwargs) -> argparse.ArgumentParser:
        """Every command's ``--help`` shows every default."""
        return original(name, formatter_class=DefaultsHelp, **kwargs)

    commands.add_parser = add_parser
    for add in COMMANDS:
        add(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    return args.run(args)


def run() -> NoReturn:
    """The ``autograder`` program: ``main``'s exit status, the objects it leaves
    frozen (``gc.freeze``) so that the interpreter's exit skips the collector's
    passes over them: 30 ms after a grading, a tenth of what a self-check spends
    outside the student's code. Only for a process that ends here (tests call
    ``main``)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
