"""Command line: ``autograder grade SUBMISSION [--mode dev|test] ...``.

Exit status 0 whenever grading completed, whatever the score; 2 for a usage
error; 3 for a grader fault, after writing a results file that says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import __version__
from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.reports import to_text, write_gradescope
from autograder.reports.plots import save_figures

EXIT_USAGE = 2
EXIT_GRADER_FAULT = 3


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    root = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    grade_cmd = commands.add_parser("grade", help="grade one submission folder")
    grade_cmd.add_argument("submission", type=Path, help="folder holding any of the exercise modules")
    grade_cmd.add_argument("--mode", choices=("dev", "test"), default="dev")
    grade_cmd.add_argument("--only", type=_exercise_list, help="comma-separated exercise ids")
    grade_cmd.add_argument("--json", type=Path, help="write Gradescope's results.json here")
    grade_cmd.add_argument(
        "--seed", type=int, help="seed of the hidden inputs (default: from the submission)"
    )
    grade_cmd.add_argument("--data-dir", type=Path, help="folder holding mnist/ and fashion-mnist/")
    grade_cmd.add_argument(
        "--plots", type=Path, help="write the MLP's training curve and confusion matrix here"
    )
    return root


def _exercise_list(text: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [e for e in ids if e not in EXERCISES]
    if unknown or not ids:
        raise argparse.ArgumentTypeError(f"unknown exercise {unknown}; choose from {', '.join(EXERCISES)}")
    return ids


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
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
    return EXIT_GRADER_FAULT if result.grader_fault else 0


if __name__ == "__main__":
    sys.exit(main())
