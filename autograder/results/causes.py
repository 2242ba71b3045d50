"""Root causes shared by several checks of an exercise, each found once.

A module that does not import, an untouched stub or a named bug explains
every check it touches; reports state it once, with the checks it explains,
instead of repeating it under each of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from autograder.results.model import Cause, CheckResult, ExerciseResult, GradingResult, Status

NAMED_BUG = "Your result is exactly what this bug gives: "
"""Start of the hint of a check whose answer equals what a known bug returns."""

VALUE_VERDICTS = (Status.PASSED, Status.FAILED, Status.INVALID_OUTPUT)
"""Verdicts whose message is about one answer's values (it may quote a hidden
check's inputs), never grouped: the other verdicts are about the module or its
run (missing, import failed, banned import, timeout, dataset unavailable...)."""


def find_causes(checks: list[CheckResult], module: str) -> list[Cause]:
    """The causes explaining two or more of ``checks``, in check order.

    Parameters
    ----------
    checks : list of CheckResult
        The checks of one exercise.
    module : str
        The exercise's module file name (``"svm.py"``).

    Returns
    -------
    list of Cause
        An untouched stub (every check not attempted) is one cause; otherwise
        each message shared by checks with a non-value verdict, and each named
        bug shared by several failures, is one cause.
    """
    failing = [check for check in checks if check.status is not Status.PASSED]
    if failing and all(check.status is Status.NOT_ATTEMPTED for check in checks):
        text = f"{module} is still the stub: every function raises NotImplementedError"
        return [Cause(text, [check.name for check in checks], "fill in each # YOUR CODE HERE")]
    causes = _shared(failing, lambda check: check.message if check.status not in VALUE_VERDICTS else "")
    named = _shared(failing, lambda check: check.hint if check.hint.startswith(NAMED_BUG) else "")
    return causes + [Cause(cause.hint, cause.checks) for cause in named]


def _shared(checks: Iterable[CheckResult], key: Callable[[CheckResult], str]) -> list[Cause]:
    groups: dict[str, list[CheckResult]] = {}
    for check in checks:
        if text := key(check):
            groups.setdefault(text, []).append(check)
    causes = []
    for text, group in groups.items():
        if len(group) >= 2:
            hints = {check.hint for check in group}
            hint = hints.pop() if len(hints) == 1 else ""
            causes.append(Cause(text, [check.name for check in group], hint))
    return causes


def explained(exercise: ExerciseResult) -> dict[str, Cause]:
    """The cause explaining each check that has one, by check name."""
    return {name: cause for cause in exercise.causes for name in cause.checks}


def nothing_submitted(result: GradingResult) -> bool:
    """Whether no exercise module was found at all (an empty or unrelated submission)."""
    return bool(result.exercises) and all(e.verdict == "not submitted" for e in result.exercises)


def expected_modules(result: GradingResult) -> str:
    """One line naming the module files the graded exercises expect."""
    names = ", ".join(f"{exercise.exercise}.py" for exercise in result.exercises)
    return (
        f"no exercise module found: expected {names} (or notebooks defining their functions); "
        "nothing was graded"
    )
