"""The planted-bug driver, shared by every exercise: a submission with one
realistic bug loses points in the check that names it.

A `Bug` is one textual mutation of an exercise's reference solution (or of a
student-written solution given in full), the check that must fail and with
which status, words its message or hint must contain, and checks that must
still pass (so that a bug costs only its own points).
`assert_loses_points_where_named` grades the mutated source and asserts all
of it; `planted_bug_test` makes the parametrized test of an exercise's bugs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.checks import EXERCISES
from autograder.results import Status
from tests.conftest import checks_by_name, grade_files, mutate, reference_source, require_data


@dataclass(frozen=True)
class Bug:
    """One planted bug.

    Attributes
    ----------
    exercise : str
        Exercise id; its reference ``solutions/<exercise>.py`` is mutated
        unless ``into`` is given.
    old, new : str
        The mutation: ``old`` (found exactly once) is replaced by ``new``.
    fails : str
        Name of the check that must fail, with no points.
    says : str
        Words its message or hint must contain.
    still_passes : tuple of str
        Names of checks that must still pass.
    status : Status
        Status of the failed check: ``INVALID_OUTPUT`` for a malformed answer
        (a shape no correct code returns, NaN where no bug-free code gives
        one), ``FAILED`` for a wrong value.
    """

    exercise: str
    old: str
    new: str
    fails: str
    says: str
    still_passes: tuple[str, ...] = ()
    status: Status = Status.FAILED
    into: str = ""


def assert_loses_points_where_named(bug: Bug, folder: Path) -> None:
    """Grade ``bug.into`` (default: the reference of ``bug.exercise``) with ``bug``
    planted, in ``folder``, and assert that it loses the points of ``bug.fails``
    only, as ``bug`` says. Skipped when the exercise's datasets are absent."""
    if EXERCISES[bug.exercise].datasets:
        require_data()
    source = mutate(bug.into or reference_source(bug.exercise), bug.old, bug.new)
    result = grade_files(folder, {f"{bug.exercise}.py": source}, only=(bug.exercise,))
    checks = checks_by_name(result, bug.exercise)
    failed = checks[bug.fails]
    assert failed.score == 0 and failed.status is bug.status, (failed.status, failed.message)
    assert bug.says in failed.message + " " + failed.hint, (failed.message, failed.hint)
    for other in bug.still_passes:
        assert checks[other].status is Status.PASSED, (other, checks[other].message)
    assert not result.grader_fault


def planted_bug_test(bugs: dict[str, Bug]) -> Callable:
    """The test of an exercise's planted bugs: one case per entry of ``bugs``."""

    @pytest.mark.parametrize("name", list(bugs))
    def test_planted_bug_loses_points_where_named(name: str, tmp_path: Path) -> None:
        assert_loses_points_where_named(bugs[name], tmp_path)

    return test_planted_bug_loses_points_where_named
