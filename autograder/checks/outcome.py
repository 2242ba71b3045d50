"""What running a check comes to: its ``CheckResult``, and an exercise's
result when its checks cannot run (module missing, unparsable, refused,
banned).

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

from autograder.checks.base import VISIBLE, Check, CheckFailed, DataUnavailable, Exercise
from autograder.checks.session import DEV_SEED, ExerciseRun, Session
from autograder.references import ReferenceUnavailable
from autograder.results import CheckResult, ExerciseResult, Status
from autograder.sandbox import StudentFault
from autograder.submission import SourceReport

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
