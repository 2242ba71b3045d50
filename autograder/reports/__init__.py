"""Renderers of a ``GradingResult``: plain text and Gradescope's results.json."""

from autograder.reports.gradescope import to_gradescope, write_gradescope
from autograder.reports.text import to_text

__all__ = ["to_gradescope", "to_text", "write_gradescope"]
