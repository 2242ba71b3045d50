"""The result model, kept apart from its renderers in ``autograder.reports``; a
class's code-similarity result is ``results.similarity``."""

from autograder.results.model import (
    NOT_GRADED,
    Cause,
    CheckResult,
    ExerciseResult,
    GradingResult,
    Status,
)
from autograder.results.serialize import result_from_dict, result_to_dict

__all__ = [
    "NOT_GRADED",
    "Cause",
    "CheckResult",
    "ExerciseResult",
    "GradingResult",
    "Status",
    "result_from_dict",
    "result_to_dict",
]
