"""Authoring: what the course makes for students and for Gradescope, apart from grading.

- ``stubs``: the one stub-stripping rule and the notebook transforms, text in,
  text out;
- ``assignments``: ``autograder build``, ``assignments/`` written (or, with
  ``--check``, compared) from ``solutions/`` and ``source_notebooks/``;
- ``release``: the students' folder, with the expected values recorded from
  the references and a leak scan (``autograder release``);
- ``gradescope_bundle``: Gradescope's autograder zip (``autograder gradescope-bundle``).

Grading never imports this package.
"""
