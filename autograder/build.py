"""Generate student stubs from reference solutions (nbgrader's markers).

Each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
replaced, at the marker's indentation, by nbgrader's stub::

    # YOUR CODE HERE
    raise NotImplementedError()

Everything else (signatures, docstrings with shapes, hints) is kept. Parsing
is strict: a nested, unclosed or stray marker stops the build and names the
file and line.
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


class MarkerError(ValueError):
    """A solution marker out of place, with file and line."""


def strip_solutions(text: str, filename: str) -> str:
    """Return ``text`` with every solution region replaced by the stub.

    Raises
    ------
    MarkerError
        On a nested BEGIN, an END without BEGIN, or a BEGIN never closed.
    """
    out: list[str] = []
    opened_at = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        marker = line.strip()
        if marker == BEGIN:
            if opened_at:
                raise MarkerError(
                    f"{filename}:{number}: {BEGIN} inside the region opened at line {opened_at}"
                )
            opened_at = number
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}{stub}\n" for stub in STUB]
        elif marker == END:
            if not opened_at:
                raise MarkerError(f"{filename}:{number}: {END} without {BEGIN}")
            opened_at = 0
        elif BEGIN in line or END in line:
            raise MarkerError(f"{filename}:{number}: a solution marker must stand alone on its line")
        elif not opened_at:
            out.append(line)
    if opened_at:
        raise MarkerError(f"{filename}:{opened_at}: {BEGIN} is never closed")
    return "".join(out)


def build_stubs(solutions: Path, assignments: Path) -> list[Path]:
    """Write ``assignments/<name>.py`` for every public ``solutions/<name>.py``.

    Modules whose name starts with an underscore are grader-internal and
    never released. Returns the files written.
    """
    written = []
    for source in sorted(solutions.glob("[!_]*.py")):
        target = assignments / source.name
        target.write_text(strip_solutions(source.read_text(), source.name))
        written.append(target)
    return written
