"""nbgrader configuration of this repository (run nbgrader from the repository root).

nbgrader's paths are ``{root}/{source_directory}/{student_id}/{assignment_id}/{notebook}.ipynb``;
each exercise is one assignment: ``source_notebooks/<id>/<id>.ipynb`` is released to
``assignments/<id>/<id>.ipynb`` by ``nbgrader generate_assignment <id> --force``.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (defined by nbgrader's config loader)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "source_notebooks"
c.CourseDirectory.release_directory = "assignments"
