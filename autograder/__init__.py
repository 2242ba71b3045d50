"""Autograder for deep-learning-from-scratch exercises written in NumPy.

The grading flow follows the package layout: ``submission`` (find and inspect
what a student handed in) -> ``sandbox`` (run it in a limited child process)
-> ``checks`` (one module per exercise, checks as data) -> ``results`` (the
result model) -> ``reports`` (text, Gradescope JSON).
"""

__version__ = "0.2.1"
