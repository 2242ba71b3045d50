"""Find the exercise modules in what a student handed in, and inspect them.

Nothing here executes student code: the sources are read and parsed only.
"""

from autograder.submission.inspect import SourceReport, inspect_source
from autograder.submission.locate import Submission, locate

__all__ = ["SourceReport", "Submission", "inspect_source", "locate"]
