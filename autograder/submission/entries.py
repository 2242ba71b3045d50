"""The entries of a class's submissions folder, one per student: which ones
the intake takes, what identifies an entry's content, and whose it is. The
class commands (``batch``, ``similarity``) read entries through this module.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


class UnsupportedSubmission(Exception):
    """An entry of the submissions folder that cannot be turned into a folder."""


INTAKE_SUFFIXES = (".zip", ".ipynb", ".py")
"""Files a batch entry may be, besides a folder (see ``submission.formats``)."""


def gradable_entry(entry: Path) -> Path:
    """``entry`` when it is one the intake takes, else ``UnsupportedSubmission``.

    A folder, a ``.zip`` or a notebook (or module) goes to ``grading.grade``
    (or the similarity's reading), whose intake
    (``submission.formats.open_submission``) unpacks it safely and refuses a
    malicious archive with a verdict. Links and any other file are refused
    here. This is the only place a class command looks at an entry's format
    (``entry_hash`` hashes any entry).
    """
    if not entry.is_symlink() and (entry.is_dir() or (entry.is_file() and entry.suffix in INTAKE_SUFFIXES)):
        return entry
    kind = "a link" if entry.is_symlink() else f"a {entry.suffix or 'suffix-less'} file"
    raise UnsupportedSubmission(
        f"unsupported submission format: {entry.name} is {kind}; "
        "hand in a folder, a .zip or notebooks holding the exercise modules"
    )


def entry_hash(entry: Path) -> str:
    """SHA-256 identifying an entry's content, whatever its format: every
    regular file of a folder (relative path and bytes; links are not
    followed), the bytes of a regular file, the name of anything else."""
    sha = hashlib.sha256()
    if entry.is_symlink() or not (entry.is_dir() or entry.is_file()):
        sha.update(b"not a file: " + entry.name.encode())
    elif entry.is_file():
        sha.update(file_digest(entry))
    else:
        for path in sorted(entry.rglob("*")):
            if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
                sha.update(str(path.relative_to(entry)).encode() + b"\0")
                sha.update(file_digest(path))
    return sha.hexdigest()


def file_digest(path: Path) -> bytes:
    """SHA-256 of a file's bytes, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def student_name(entry: Path) -> str:
    """The student an entry belongs to: its name without the suffix of a file."""
    return entry.name if entry.is_dir() else entry.stem
