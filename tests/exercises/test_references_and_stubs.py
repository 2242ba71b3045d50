"""CI's promise: every reference scores 100 %, every untouched stub scores 0."""

from __future__ import annotations

import pytest

from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.results import Status
from tests.conftest import ASSIGNMENTS, DATA_DIR, SOLUTIONS, require_data


@pytest.mark.parametrize("mode", ["dev", "test"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_reference_scores_full_marks(exercise, mode):
    if exercise in ("knn", "mlp"):
        require_data()
    result = grade(SOLUTIONS, Options(mode=mode, only=(exercise,), data_dir=DATA_DIR))
    failed = [
        (c.name, c.status.value, c.message)
        for e in result.exercises
        for c in e.checks
        if c.score < c.max_score
    ]
    assert failed == []
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("mode", ["dev", "test"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_stub_scores_zero_as_not_attempted(exercise, mode):
    result = grade(ASSIGNMENTS, Options(mode=mode, only=(exercise,), data_dir=DATA_DIR))
    statuses = {c.status for e in result.exercises for c in e.checks}
    assert result.score == 0
    assert statuses == {Status.NOT_ATTEMPTED}
    assert not result.grader_fault

