"""The result model, kept apart from its renderers in ``autograder.reports``."""

from autograder.results.model import (
    CheckResult,
    ExerciseResult,
    GradingResult,
    Status,
)

__all__ = ["CheckResult", "ExerciseResult", "GradingResult", "Status"]
