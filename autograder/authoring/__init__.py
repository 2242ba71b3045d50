"""Authoring: what the course makes for students and for Gradescope, apart from grading.

- ``stubs``: the one stub-stripping rule and the notebook transforms
  (``autograder build``);
- ``release``: the students' folder, with the expected values recorded from
  the references and a leak scan (``autograder release``);
- ``gradescope_bundle``: Gradescope's autograder zip (``autograder gradescope-bundle``).

Grading never imports this package.
"""
