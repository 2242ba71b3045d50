"""Atomic file writes shared by every report: a reader, or a run killed at any
moment, sees either the old file or the complete new one, never half a file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"
"""Suffix of the hidden temporary file (``.<name>-<random>.tmp``) renamed onto the destination."""


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a synced temporary file and a rename.

    Parameters
    ----------
    path : Path
        Destination; its folder is created if needed.
    content : str or bytes
        Text (written as UTF-8) or bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    temporary = path.parent / f".{path.name}-{secrets.token_hex(8)}{TEMPORARY_SUFFIX}"
    # os.open rather than mkstemp: the file gets the usual permissions (0666 minus the umask).
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
