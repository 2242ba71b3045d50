"""Command line: ``autograder COMMAND ...`` (``grade`` and the commands below).

Exit status 0 whenever a command completed, whatever a score; 2 for a usage
error; 3 for a grader fault, after writing a results file that says so.
Each command is an ``add_*`` function registering its sub-parser and the
function that runs it; ``COMMANDS`` lists them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from autograder import __version__
from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.reports import to_text, write_gradescope
from autograder.reports.plots import save_figures

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_GRADER_FAULT = 3


def exercise_list(text: str) -> tuple[str, ...]:
    """Parse ``--only knn,svm`` into known exercise ids."""
    ids = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [e for e in ids if e not in EXERCISES]
    if unknown or not ids:
        raise argparse.ArgumentTypeError(f"unknown exercise {unknown}; choose from {', '.join(EXERCISES)}")
    return ids


def add_grade(commands: argparse._SubParsersAction) -> None:
    """``autograder grade SUBMISSION``: grade one submission."""
    command = commands.add_parser("grade", help="grade one submission folder")
    command.add_argument("submission", type=Path, help="folder holding any of the exercise modules")
    command.add_argument("--mode", choices=("dev", "test"), default="dev")
    command.add_argument("--only", type=exercise_list, help="comma-separated exercise ids")
    command.add_argument("--json", type=Path, help="write Gradescope's results.json here")
    command.add_argument("--seed", type=int, help="seed of hidden inputs (default: from the submission)")
    command.add_argument("--data-dir", type=Path, help="folder holding mnist/ and fashion-mnist/")
    command.add_argument("--plots", type=Path, help="write the MLP's figures (PNG) here")
    command.set_defaults(run=run_grade)


def run_grade(args: argparse.Namespace) -> int:
    """Grade ``args.submission`` and print (and write) the results."""
    if not args.submission.is_dir():
        print(f"autograder: {args.submission} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    options = Options(mode=args.mode, seed=args.seed, only=args.only, data_dir=args.data_dir)
    result = grade(args.submission, options)
    print(to_text(result))
    if args.json:
        write_gradescope(result, args.json)
    if args.plots:
        save_figures(result, args.plots)
    return EXIT_GRADER_FAULT if result.grader_fault else EXIT_OK


COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (add_grade,)
"""Every command, each registering its own sub-parser."""


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    root = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
