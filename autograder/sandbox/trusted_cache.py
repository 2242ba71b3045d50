"""Small JSON caches only the grader's own user can write (isolation probe, dataset checksums).

Each cache is one JSON file in ``cache_dir()``: ``/run/autograder`` for root
(a tmpfs emptied at every boot), else ``$XDG_CACHE_HOME/autograder`` (by
default ``~/.cache/autograder``). A file is trusted only when it and its
folder belong to the grader's effective user and neither is writable by group
or others; anything else is ignored and recomputed, never an error. The
sandbox user (``layers.SANDBOX_USER``) owns neither, and the filesystem
layer does not show the folder to the child at all. In practice mode (no
sandbox user) the child runs as the grader's user and could write the
per-user folder, as it could any of that user's files: practice mode is
labelled as not isolated (docs/security.md).

Writes are atomic (a temporary file in the same folder, then ``os.replace``),
so concurrent graders at worst recompute.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

MAX_CACHE_BYTES = 1024**2
"""Largest cache file read; a few hundred entries of hashes are far smaller."""


def cache_dir() -> Path:
    """The folder of the grader's caches for the effective user (see the module docstring)."""
    if os.geteuid() == 0:
        return Path("/run/autograder")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autograder"


def _trusted(info: os.stat_result) -> bool:
    """Owned by the effective user and not writable by group or others."""
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read(name: str) -> dict[str, Any]:
    """The trusted cache ``name`` (a JSON object), or ``{}`` when absent or not trusted."""
    folder = cache_dir()
    try:
        if not _trusted(os.stat(folder, follow_symlinks=False)):
            return {}
        descriptor = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return {}
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or not _trusted(info) or info.st_size > MAX_CACHE_BYTES:
            return {}
        try:
            document = json.loads(handle.read(MAX_CACHE_BYTES))
        except ValueError:
            return {}
    return document if isinstance(document, dict) else {}


def write(name: str, document: dict[str, Any]) -> None:
    """Store ``document`` as the cache ``name``; silently skipped when the folder is unusable."""
    folder = cache_dir()
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        if not _trusted(os.stat(folder, follow_symlinks=False)):
            return
        text = json.dumps(document)
        if len(text) > MAX_CACHE_BYTES:
            return
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, folder / name)
        except OSError:
            os.unlink(temporary)


def remove(name: str) -> None:
    """Delete the cache ``name`` if it exists."""
    with contextlib.suppress(OSError):
        (cache_dir() / name).unlink()
