"""What running a check comes to: its ``CheckResult``, and an exercise's
result when its checks cannot run (module missing, unparsable, refused,
banned), with the notes on the submission as a whole.

``grade_check`` runs one check through its ``Session`` and turns whatever
happens into the check's result; a fault of the grader becomes a
``GRADER_FAULT`` for that check alone, taking no points from, and giving none
to, the student.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from autograder.checks import EXERCISES
from autograder.checks.base import VISIBLE, Check, CheckFailed, DataUnavailable, Exercise
from autograder.checks.session import DEV_SEED, ExerciseRun, Session
from autograder.references import ReferenceUnavailable
from autograder.results import CheckResult, ExerciseResult, Status
from autograder.sandbox import StudentFault
from autograder.submission import SourceReport, Submission

IGNORED_NAMED = 20
"""Ignored files named in the note at the most: enough to spot a misnamed
module, few enough that a submission full of files keeps a short note."""

HINTLESS_STATUSES = (Status.PASSED, Status.NOT_ATTEMPTED, Status.MISSING, Status.DATA_UNAVAILABLE)
"""Verdicts shown without the check's hint: nothing to debug yet (or nothing
the student can debug: the grading machine lacks a dataset)."""

NOT_GRADED_VERDICT = "not graded: a dataset is unavailable on the grading machine"
"""Verdict of an exercise some of whose checks need data the machine lacks."""

CHILD_ENDINGS = (Status.TIMEOUT, Status.OUT_OF_MEMORY, Status.CRASHED, Status.EXITED)
"""Verdicts of a child that ended before answering (limit reached, crash, exit):
the first one found is the exercise's verdict."""


def exercise_verdict(results: list[CheckResult]) -> str:
    """One line for the exercise: not graded (no data), its first breach, or graded."""
    if any(r.status is Status.DATA_UNAVAILABLE for r in results):
        return NOT_GRADED_VERDICT
    breaches = [r for r in results if r.status in CHILD_ENDINGS or r.status is Status.IMPORT_FAILED]
    return f"{breaches[0].status.value}: {breaches[0].message}" if breaches else "graded"


def uniform_result(
    exercise: Exercise,
    checks: tuple[Check, ...],
    status: Status,
    message: str,
    source: SourceReport | None = None,
) -> ExerciseResult:
    """Every check with the same verdict (module missing, unparsable...)."""
    results = [check_result(exercise, check, status, message, check.hint) for check in checks]
    verdict = "not submitted" if status is Status.MISSING else message
    return ExerciseResult(exercise.id, exercise.title, verdict, results, notes=source.notes if source else [])


def refused_result(exercise: Exercise, mode: str, reason: str) -> ExerciseResult:
    """Every check of ``exercise`` unearned: the submission could not be opened."""
    message = f"submission refused: {reason}"
    return uniform_result(exercise, exercise.checks_for(mode), Status.IMPORT_FAILED, message)


def banned_result(
    exercise: Exercise, checks: tuple[Check, ...], names: list[str], source: SourceReport
) -> ExerciseResult:
    """Every check of ``exercise`` scores 0: the module imports ``names``, banned packages."""
    message = (
        f"{exercise.module} imports {', '.join(names)}: this exercise allows only NumPy and the "
        "standard library, so it scores 0"
    )
    return uniform_result(exercise, checks, Status.BANNED_IMPORT, message, source)


def unrunnable_result(
    exercise: Exercise, checks: tuple[Check, ...], submission: Submission
) -> ExerciseResult | None:
    """The result of an exercise whose module cannot run: missing, unparsable, or
    importing a banned package; None when it can run."""
    if exercise.id not in submission.modules:
        return uniform_result(exercise, checks, Status.MISSING, f"{exercise.module} is not in the submission")
    source = submission.sources[exercise.id]
    if source.syntax_error:
        message = f"import failed: {source.syntax_error}"
        return uniform_result(exercise, checks, Status.IMPORT_FAILED, message, source)
    if source.banned:
        return banned_result(exercise, checks, source.banned, source)
    return None


def ran_result(run: ExerciseRun, checks: tuple[Check, ...], results: list[CheckResult]) -> ExerciseResult:
    """The result of an exercise whose checks ran: every check scores 0 when the
    module tried a banned import while running, else each check's own result."""
    exercise, source = run.exercise, run.source
    if run.banned_attempts:
        return banned_result(exercise, checks, sorted(run.banned_attempts), source)
    return ExerciseResult(
        exercise=exercise.id,
        title=exercise.title,
        verdict=exercise_verdict(results),
        checks=results,
        seconds=run.waited,
        peak_memory_bytes=run.peak_rss,
        notes=source.notes,
        datasets=run.dataset_records(),
    )


def submission_notes(submission: Submission, graded: list[Exercise]) -> list[str]:
    """The notes on the whole submission (the first exercise's result carries
    them): the intake's, and the ignored files worth naming. The module of an
    exercise left out by ``--only`` is not one (a graded exercise's module found
    nowhere else still is)."""
    left_out = {exercise.module for exercise in EXERCISES.values()} - {e.module for e in graded}
    ignored = [name for name in submission.ignored if Path(name).name not in left_out]
    if not ignored:
        return list(submission.notes)
    return [*submission.notes, f"ignored (not an exercise module): {', '.join(ignored[:IGNORED_NAMED])}"]


def check_result(
    exercise: Exercise,
    check: Check,
    status: Status,
    message: str,
    hint: str,
    seconds: float = 0.0,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """The result of ``check`` with ``status``: its points only when it passed,
    its hint only when there is something to debug."""
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
    return check_result(run.exercise, check, status, message, hint, seconds, session.details)
