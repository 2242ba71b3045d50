"""Every grading result records where its time went, by phase (issue 13, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.grading import Options, grade
from autograder.reports import to_gradescope
from autograder.results import result_from_dict, result_to_dict

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result():
    return grade(ROOT / "solutions", Options(mode="dev", only=("svm",)))


def test_phases_account_for_the_whole_run(result):
    phases = result.phases
    expected = {"probe", "intake", "child_start", "student", "checks", "child_stop", "environment"}
    assert expected <= set(phases)
    assert all(seconds >= 0 for seconds in phases.values()), phases
    assert sum(phases.values()) == pytest.approx(
        result.execution_time, abs=0.01 + 0.02 * result.execution_time
    )


def test_student_phase_is_within_the_exercises_own_time(result):
    own = sum(exercise.seconds for exercise in result.exercises)
    assert 0 < result.phases["student"] <= own + 0.001


def test_phases_survive_serialisation_and_reach_results_json(result):
    assert result_from_dict(result_to_dict(result)).phases == result.phases
    assert to_gradescope(result)["extra_data"]["phases"] == result.phases
