"""Stable check ids: unique, frozen, and what keys a check's inputs and its
expected values (a display name is text only)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.reports.gradescope import to_gradescope
from tests.conftest import SOLUTIONS, drawn_inputs

FROZEN = Path(__file__).with_name("check_ids.txt")
"""Every check id, in declaration order. An id changes the inputs of its
check, the release store and resume: change this list only on purpose."""


def all_ids() -> list[str]:
    return [e.check_id(c) for e in EXERCISES.values() for c in e.checks]


def test_ids_are_unique_and_frozen():
    ids = all_ids()
    assert len(set(ids)) == len(ids)
    assert ids == FROZEN.read_text().split("\n")[:-1]


def test_renaming_a_check_changes_neither_its_inputs_nor_its_identity(monkeypatch):
    options = Options(mode="test", only=("svm",), seed=11)
    before = drawn_inputs(SOLUTIONS, options)
    svm = EXERCISES["svm"]
    renamed = dataclasses.replace(
        svm, checks=tuple(dataclasses.replace(c, name=f"renamed: {c.name}") for c in svm.checks)
    )
    monkeypatch.setitem(EXERCISES, "svm", renamed)
    after = drawn_inputs(SOLUTIONS, options)
    assert sorted(before) == sorted(after) and len(before) == len(svm.checks)
    for check_id, (name, state) in before.items():
        assert after[check_id] == (f"renamed: {name}", state), check_id
    result = grade(SOLUTIONS, options)
    tests = to_gradescope(result)["tests"]
    assert [t["extra_data"]["id"] for t in tests] == [svm.check_id(c) for c in svm.checks]
    assert result.score == result.max_score
