"""nbgrader itself as the oracle of the authoring tests: its cell metadata and its
``ClearSolutions`` preprocessor, so the project's own stripping never judges itself."""

from __future__ import annotations

import nbformat


def role(grade_id: str, **flags) -> dict:
    """nbgrader's cell metadata (schema version 3)."""
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "locked": False, **flags}}


def nbgrader_clear_solutions(source: str) -> str:
    """``source`` as nbgrader's own ``ClearSolutions`` preprocessor leaves it, in one solution cell."""
    from nbgrader.preprocessors import ClearSolutions

    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = role("module", solution=True, grade=False)
    notebook = nbformat.v4.new_notebook(cells=[cell])
    cleared, _ = ClearSolutions().preprocess(notebook, {})
    return cleared.cells[0].source
