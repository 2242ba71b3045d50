"""Grade a submission, in named phases.

``grade`` locates the exercise modules (phase *locate*), fixes the seed
(*seed*), runs each exercise's checks in its own sandboxed children (*run*),
and assembles the result (*assemble*). A fault of the grader inside a check
becomes a ``GRADER_FAULT`` result for that check; it never takes points
from, nor gives points to, the student.
"""

from __future__ import annotations

import platform
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder import __version__
from autograder.checks import EXERCISES
from autograder.checks.base import VISIBLE, Check, CheckFailed, DataUnavailable, Exercise
from autograder.checks.session import ExerciseRun, Session
from autograder.phases import PhaseClock
from autograder.references import ReferenceUnavailable, expectations_for
from autograder.results import CheckResult, ExerciseResult, GradingResult, Status
from autograder.results.causes import find_causes
from autograder.sandbox import StudentFault, isolation
from autograder.secret import course_secret, submission_seed
from autograder.submission import SourceReport, Submission
from autograder.submission.formats import SubmissionRefused
from autograder.submission.intake import take_in

DEV_SEED = 231
"""Seed of the visible checks' inputs, in both modes: a student's self-check
sees exactly the inputs the visible checks use when the course grades."""

HINTLESS_STATUSES = (Status.PASSED, Status.NOT_ATTEMPTED, Status.MISSING, Status.DATA_UNAVAILABLE)
"""Verdicts shown without the check's hint: nothing to debug yet (or nothing
the student can debug: the grading machine lacks a dataset)."""

NOT_GRADED_VERDICT = "not graded: a dataset is unavailable on the grading machine"
"""Verdict of an exercise some of whose checks need data the machine lacks."""

CHILD_ENDINGS = (Status.TIMEOUT, Status.OUT_OF_MEMORY, Status.CRASHED, Status.EXITED)
"""Verdicts of a child that ended before answering (limit reached, crash, exit):
the first one found is the exercise's verdict."""


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
            results = [_refused(exercise, options.mode, str(refusal)) for exercise in exercises]
        else:
            seed = hidden_seed(submission, options, secret)
            results = [
                grade_exercise(exercise, submission, options, seed, secret, clock, recording)
                for exercise in exercises
            ]
            if results:
                results[0].notes += submission.notes
                ignored = _ignored(submission.ignored, exercises)
                if ignored:
                    results[0].notes.append(f"ignored (not an exercise module): {', '.join(ignored[:20])}")
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


def _ignored(names: list[str], graded: list[Exercise]) -> list[str]:
    """Ignored files worth naming: the module of an exercise left out by ``--only`` is
    not one (a graded exercise's module found nowhere else still is)."""
    left_out = {exercise.module for exercise in EXERCISES.values()} - {e.module for e in graded}
    return [name for name in names if Path(name).name not in left_out]


def environment() -> dict[str, Any]:
    """Versions and isolation level recorded with every result."""
    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {})
    return {
        "grader_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
        **isolation.report(),
    }


def grade_exercise(
    exercise: Exercise,
    submission: Submission,
    options: Options,
    seed: int,
    secret: bytes = b"",
    clock: PhaseClock | None = None,
    recording: dict[str, dict[str, Any]] | None = None,
) -> ExerciseResult:
    """Run every check of ``exercise`` that ``options.mode`` selects; hidden
    inputs come from ``seed`` keyed by the course ``secret`` (timing phases on
    ``clock``); the expected values computed go into ``recording`` when given."""
    clock = clock or PhaseClock()
    checks = exercise.checks_for(options.mode)
    path = submission.modules.get(exercise.id)
    if path is None:
        return _uniform(exercise, checks, Status.MISSING, f"{exercise.module} is not in the submission")
    source = submission.sources[exercise.id]
    if source.syntax_error:
        return _uniform(
            exercise, checks, Status.IMPORT_FAILED, f"import failed: {source.syntax_error}", source
        )
    if source.banned:
        return _banned(exercise, checks, source.banned, source)
    recorded = None if recording is None else recording.setdefault(exercise.id, {})
    run = ExerciseRun(
        exercise,
        path,
        source,
        mode=options.mode,
        seed=seed,
        secret=secret,
        data_dir=options.data_dir,
        expectations=expectations_for(exercise.id, recorded),
        clock=clock,
    )
    timed_before, started = sum(clock.seconds.values()), time.monotonic()
    try:
        results = [grade_check(run, check) for check in checks]
    finally:
        run.close()
    # the checks' own time in the grader: what the phases timed inside them leave
    clock.add("checks", time.monotonic() - started - (sum(clock.seconds.values()) - timed_before))
    if run.banned_attempts:
        return _banned(exercise, checks, sorted(run.banned_attempts), source)
    return ExerciseResult(
        exercise=exercise.id,
        title=exercise.title,
        verdict=_verdict(results),
        checks=results,
        seconds=run.waited,
        peak_memory_bytes=run.peak_rss,
        notes=source.notes,
        datasets=run.dataset_records(),
    )


def _verdict(results: list[CheckResult]) -> str:
    """One line for the exercise: not graded (no data), its first breach, or graded."""
    if any(r.status is Status.DATA_UNAVAILABLE for r in results):
        return NOT_GRADED_VERDICT
    breaches = [r for r in results if r.status in CHILD_ENDINGS or r.status is Status.IMPORT_FAILED]
    return f"{breaches[0].status.value}: {breaches[0].message}" if breaches else "graded"


def _uniform(
    exercise: Exercise,
    checks: tuple[Check, ...],
    status: Status,
    message: str,
    source: SourceReport | None = None,
) -> ExerciseResult:
    """Every check with the same verdict (module missing, unparsable...)."""
    results = [_result(exercise, check, status, message, check.hint) for check in checks]
    verdict = "not submitted" if status is Status.MISSING else message
    return ExerciseResult(exercise.id, exercise.title, verdict, results, notes=source.notes if source else [])


def _refused(exercise: Exercise, mode: str, reason: str) -> ExerciseResult:
    """Every check of ``exercise`` unearned: the submission could not be opened."""
    message = f"submission refused: {reason}"
    return _uniform(exercise, exercise.checks_for(mode), Status.IMPORT_FAILED, message)


def _banned(
    exercise: Exercise, checks: tuple[Check, ...], names: list[str], source: SourceReport
) -> ExerciseResult:
    message = (
        f"{exercise.module} imports {', '.join(names)}: this exercise allows only NumPy and the "
        "standard library, so it scores 0"
    )
    return _uniform(exercise, checks, Status.BANNED_IMPORT, message, source)


def _result(
    exercise: Exercise,
    check: Check,
    status: Status,
    message: str,
    hint: str,
    seconds: float = 0.0,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    return CheckResult(
        name=check.name,
        id=exercise.check_id(check),
        exercise=exercise.id,
        max_score=check.points,
        score=check.points if status is Status.PASSED else 0.0,
        status=status,
        visibility=check.visibility,
        message=message,
        hint="" if status in HINTLESS_STATUSES else hint,
        seconds=seconds,
        details=details or {},
    )


def grade_check(run: ExerciseRun, check: Check) -> CheckResult:
    """Run one check and turn whatever happens into its result."""
    seed = DEV_SEED if check.visibility == VISIBLE else run.seed
    session = Session(run, check, seed)
    started = time.monotonic()
    status, message, hint = Status.PASSED, "", check.hint
    try:
        check.run(session)
    except CheckFailed as failure:
        status, message, hint = failure.status, failure.message, failure.hint or check.hint
    except StudentFault as fault:
        status, message = fault.status, fault.message
    except DataUnavailable as missing:
        status, message = Status.DATA_UNAVAILABLE, str(missing)
    except ReferenceUnavailable as missing:
        status, message = Status.GRADER_FAULT, f"{missing}; install the grader with its solutions"
    except MemoryError:  # the grader's own memory bound (executors.GRADER_MEMORY_BYTES)
        status = Status.GRADER_RESOURCES
        message = "grader resources exceeded: the grader ran out of memory while running this check"
    except Exception as error:  # a bug of ours must not stop the other checks
        where = traceback.extract_tb(error.__traceback__)[-1]
        status = Status.GRADER_FAULT
        message = (
            f"grader fault: {type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"
        )
    seconds = time.monotonic() - started
    return _result(run.exercise, check, status, message, hint, seconds, session.details)
