"""The result model, kept apart from its renderers in ``autograder.reports``."""

from autograder.results.model import (
    CheckResult,
    ExerciseResult,
    GradingResult,
    Status,
)
from autograder.results.serialize import result_from_dict, result_to_dict

__all__ = ["CheckResult", "ExerciseResult", "GradingResult", "Status", "result_from_dict", "result_to_dict"]
