"""Grade a submission, in named phases.

``grade`` locates the exercise modules (phase *locate*), fixes the seed
(*seed*), runs each exercise's checks in its own sandboxed children (*run*),
and assembles the result (*assemble*). The run of one exercise is an
``ExerciseRun`` (``autograder.checks.session``); what one check comes to,
a grader fault included, is ``grade_check``'s (``autograder.checks.outcome``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.checks import EXERCISES
from autograder.checks.base import Exercise
from autograder.checks.outcome import (
    grade_check,
    ran_result,
    refused_result,
    submission_notes,
    unrunnable_result,
)
from autograder.checks.session import DEV_SEED, ExerciseRun
from autograder.environment import environment
from autograder.phases import PhaseClock
from autograder.results import ExerciseResult, GradingResult
from autograder.results.causes import find_causes
from autograder.sandbox import isolation
from autograder.secret import course_secret, submission_seed
from autograder.store import expectations_for
from autograder.submission import Submission
from autograder.submission.formats import SubmissionRefused
from autograder.submission.intake import take_in


@dataclass(frozen=True)
class Options:
    """How to grade.

    Attributes
    ----------
    mode : str
        ``"dev"`` (visible checks) or ``"test"`` (visible and hidden).
    seed : int or None
        Seed of hidden inputs (test mode); when None, an HMAC of the
        submission's digest with the course secret (``autograder.secret``).
    only : tuple of str or None
        Exercise ids to grade; all when None.
    data_dir : Path or None
        Where datasets are; see ``autograder.datasets``.
    """

    mode: str = "dev"
    seed: int | None = None
    only: tuple[str, ...] | None = None
    data_dir: Path | None = None


def grade(handed_in: Path | Sequence[Path], options: Options) -> GradingResult:
    """Grade a submission: a folder, a ``.zip``, or ``.py`` and ``.ipynb`` files
    (see ``autograder.submission.formats``).

    Raises
    ------
    isolation.LayersMissing
        As root without the sandbox user and seccomp layers (see ``isolation.refusal``).
    """
    return _grade(handed_in, options, None)


def grade_and_record(
    handed_in: Path | Sequence[Path], options: Options
) -> tuple[GradingResult, dict[str, dict[str, Any]]]:
    """Grade like ``grade`` and also return the expected values computed from the
    references, by exercise id then ``"<check id>/<key>"`` (a release's store)."""
    recording: dict[str, dict[str, Any]] = {}
    return _grade(handed_in, options, recording), recording


def _grade(
    handed_in: Path | Sequence[Path], options: Options, recording: dict[str, dict[str, Any]] | None
) -> GradingResult:
    """``grade``, filling ``recording`` (when given) with the expected values computed."""
    isolation.require_layers()
    started = time.monotonic()
    clock = PhaseClock()
    with clock.timed("probe"):
        isolation.probe()
    exercises = [EXERCISES[e] for e in (options.only or EXERCISES)]
    paths = [handed_in] if isinstance(handed_in, Path) else list(handed_in)
    secret = course_secret() if options.mode == "test" else b""
    with tempfile.TemporaryDirectory(prefix="autograder-intake-") as work:
        try:
            with clock.timed("intake"):
                submission = take_in(paths, {e.id: e.banned for e in exercises}, Path(work))
        except SubmissionRefused as refusal:
            seed = options.seed if options.seed is not None else 0
            results = [refused_result(exercise, options.mode, str(refusal)) for exercise in exercises]
        else:
            seed = hidden_seed(submission, options, secret)
            results = [
                grade_exercise(exercise, submission, options, seed, secret, clock, recording)
                for exercise in exercises
            ]
            if results:
                results[0].notes += submission_notes(submission, exercises)
    for exercise, result in zip(exercises, results, strict=True):
        result.causes = find_causes(result.checks, exercise.module)
    with clock.timed("environment"):
        recorded = environment()
    return GradingResult(
        exercises=results,
        mode=options.mode,
        seed=seed,
        environment=recorded,
        execution_time=time.monotonic() - started,
        phases=clock.rounded(),
    )


def hidden_seed(submission: Submission, options: Options, secret: bytes) -> int:
    """``--seed`` when given; else, in test mode, the keyed seed of the
    submission; in dev mode (no hidden check runs, no secret) ``DEV_SEED``."""
    if options.seed is not None:
        return options.seed
    return submission_seed(secret, submission.digest()) if options.mode == "test" else DEV_SEED


def grade_exercise(
    exercise: Exercise,
    submission: Submission,
    options: Options,
    seed: int,
    secret: bytes,
    clock: PhaseClock,
    recording: dict[str, dict[str, Any]] | None,
) -> ExerciseResult:
    """Run every check of ``exercise`` that ``options.mode`` selects; hidden
    inputs come from ``seed`` keyed by the course ``secret`` (timing phases on
    ``clock``); the expected values computed go into ``recording`` when given."""
    checks = exercise.checks_for(options.mode)
    unrunnable = unrunnable_result(exercise, checks, submission)
    if unrunnable is not None:
        return unrunnable
    recorded = None if recording is None else recording.setdefault(exercise.id, {})
    run = ExerciseRun(
        exercise,
        submission.modules[exercise.id],
        submission.sources[exercise.id],
        mode=options.mode,
        seed=seed,
        secret=secret,
        data_dir=options.data_dir,
        expectations=expectations_for(exercise.id, recorded),
        clock=clock,
    )
    with clock.remainder("checks"):  # the checks' own time in the grader
        try:
            results = [grade_check(run, check) for check in checks]
        finally:
            run.close()
    return ran_result(run, checks, results)
