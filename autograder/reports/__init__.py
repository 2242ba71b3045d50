"""Renderers of grading results.

``text`` (the terminal's report), ``gradescope`` (Gradescope's results.json),
``html`` (a student's feedback page, with ``plots`` and ``safe``),
``gradebook`` (a batch's gradebook.csv and summary), ``similarity_html`` (a
class's similarity page, with its file names); ``files`` writes them
atomically and ``visibility`` decides what a student may see. The two used
everywhere are re-exported here.
"""

from autograder.reports.gradescope import to_gradescope, write_gradescope
from autograder.reports.text import to_text

__all__ = ["to_gradescope", "to_text", "write_gradescope"]
