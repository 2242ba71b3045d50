"""A ``GradingResult`` as plain JSON-serialisable data, and back.

This is what crosses process and Dask boundaries and what a batch stores in
``results.json``: dicts, lists, strings and numbers only, so any pickler or
JSON reader handles it and no class of the grader has to exist on the far side.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from autograder.results.model import Cause, CheckResult, ExerciseResult, GradingResult, Status


def result_to_dict(result: GradingResult) -> dict[str, Any]:
    """``result`` as nested dicts (``Status`` values become their strings)."""
    document = dataclasses.asdict(result)
    for exercise in document["exercises"]:
        for check in exercise["checks"]:
            check["status"] = str(check["status"])
    return document


def result_from_dict(document: dict[str, Any]) -> GradingResult:
    """The ``GradingResult`` that ``result_to_dict`` turned into ``document``."""
    exercises = [
        ExerciseResult(
            **{
                **exercise,
                "checks": [
                    CheckResult(**{**check, "status": Status(check["status"])})
                    for check in exercise["checks"]
                ],
                "causes": [Cause(**cause) for cause in exercise.get("causes", [])],
            }
        )
        for exercise in document["exercises"]
    ]
    return GradingResult(**{**document, "exercises": exercises})
