"""Locate the exercise modules of a submission folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.submission.inspect import SourceReport

MAX_MODULE_BYTES = 1024**2
"""Largest student module accepted: the longest reference is under 20 kB."""


@dataclass(frozen=True)
class Submission:
    """The exercise modules found in a submission.

    Attributes
    ----------
    root : Path
        The folder handed in.
    modules : dict of str to Path
        Exercise id to its module file, for the exercises present.
    ignored : list of str
        Other files, listed in the report but never run.
    notes : list of str
        How the modules were obtained, when not as they were handed in
        (taken from notebooks, from the CS231n layout...).
    sources : dict of str to SourceReport
        Exercise id to what reading its module told (``intake.take_in``).
    """

    root: Path
    modules: dict[str, Path]
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def digest(self) -> str:
        """SHA-256 over the exercise modules' names and contents."""
        sha = hashlib.sha256()
        for exercise, path in sorted(self.modules.items()):
            sha.update(exercise.encode() + b"\0" + path.read_bytes() + b"\0")
        return sha.hexdigest()


def locate(root: Path, exercise_ids: list[str]) -> Submission:
    """Find ``<id>.py`` for each exercise id directly inside ``root``.

    A module that is a link, not a regular file, or larger than
    ``MAX_MODULE_BYTES`` is not taken (and is listed as ignored).
    """
    modules: dict[str, Path] = {}
    for exercise in exercise_ids:
        path = root / f"{exercise}.py"
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_MODULE_BYTES:
            modules[exercise] = path
    taken = {path.name for path in modules.values()}
    ignored = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name not in taken and "__pycache__" not in p.parts
    )
    return Submission(root=root, modules=modules, ignored=ignored)
