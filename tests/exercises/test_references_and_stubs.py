"""CI's promise for every exercise: the reference scores 100 % and the untouched
stub scores 0. That the stub is the reference with its solution regions cleared
as nbgrader clears them is tested once, in tests/authoring/test_build_release.py
(the stripping rule against nbgrader's ``ClearSolutions``, and ``build --check``)."""

from __future__ import annotations

import inspect

import pytest

from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.results import Status
from tests.conftest import ASSIGNMENTS, DATA_DIR, SOLUTIONS, require_data
from tests.exercises.oracles import solution


@pytest.mark.parametrize("mode", ["dev", "test"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_reference_scores_full_marks(exercise, mode):
    if EXERCISES[exercise].datasets:
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


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_every_public_function_documents_parameters_and_returns(exercise):
    module = solution(exercise)
    functions = [
        obj
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
    ]
    for function in functions:
        assert function.__doc__ and "Parameters\n    ----------" in function.__doc__, function.__name__
        assert "Returns\n    -------" in function.__doc__, function.__name__
