"""The pieces of a child's run shared by the child and the isolation probe.

``HARNESS`` is the script a child runs; ``site_dir`` the private directory
from which the child imports NumPy (and nothing else), which ``remove_site``
removes; ``prepare_root`` makes a run's folders. ``child.Child`` uses them for every run and
``isolation``'s probe for its trial start, so neither imports the other.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

HARNESS = Path(__file__).with_name("harness.py")
"""The script a child runs (``python -I -S harness.py ...``)."""


def site_dir() -> str:
    """A private directory in which NumPy is the only importable package, made
    once per process and removed at the interpreter's exit (``remove_site``)."""
    if not _SITE:
        path = tempfile.mkdtemp(prefix="autograder-site-")
        packages = Path(np.__file__).resolve().parents[1]
        for name in ("numpy", "numpy.libs"):
            if (packages / name).exists():
                os.symlink(packages / name, os.path.join(path, name))
        os.chmod(path, 0o755)
        _SITE.append(path)
    return _SITE[0]


_SITE: list[str] = []


def remove_site() -> None:
    """Remove the directory ``site_dir`` made in this process, if any (a later
    child makes another). A process that ends by ``os._exit``, as a
    ``multiprocessing`` worker does, runs no ``atexit`` and calls this itself."""
    while _SITE:
        shutil.rmtree(_SITE.pop(), ignore_errors=True)


atexit.register(remove_site)


def prepare_root(root: str, user: tuple[int, int] | None) -> None:
    """Make the run's folders: ``io/`` and ``home/`` writable by the child,
    ``submission/`` read-only to it; the root itself only traversable.

    Parameters
    ----------
    root : str
        The run's root folder (it exists).
    user : tuple of int or None
        ``(uid, gid)`` the child runs as (``layers.Layers.user``); None
        when it runs as the grader's user.
    """
    os.chmod(root, 0o711)
    for sub in ("io", "home", "submission"):
        os.mkdir(os.path.join(root, sub), 0o755)
        if user and sub != "submission":
            os.chown(os.path.join(root, sub), *user)
