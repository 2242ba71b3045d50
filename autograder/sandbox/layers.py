"""The isolation layers and the machine's places they rest on, apart from how a
run uses them (``isolation``): the ``Layers`` record, the sandbox user, the
cgroup parents and ``setpriv``. The probe's cache (``probe_cache``) keys its
answer on these places, so it reads them here rather than in ``isolation``,
which uses that cache.
"""

from __future__ import annotations

import pwd
import shutil
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_USER = "autograder-sandbox"
"""The unprivileged account student code runs as (made by ``sandbox-setup``)."""

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_GROUP = "autograder"
"""Parent cgroup of every run, in the memory and pids hierarchies (v1)."""

CGROUP_CONTROLLERS = ("memory", "pids")
"""The cgroup (v1) hierarchies a run is held in."""


@dataclass(frozen=True)
class Layers:
    """The isolation layers in force on this machine.

    Attributes
    ----------
    user : tuple of int or None
        ``(uid, gid)`` of the sandbox user when the grader is root and it exists.
    bwrap : str or None
        Path of bubblewrap when it works here (filesystem, network and pid
        namespaces).
    unshare : str or None
        Path of ``unshare`` when only it gives a network namespace.
    seccomp : bytes or None
        The compiled BPF filter the harness loads.
    cgroups : bool
        A memory and a pids cgroup per run.
    disk : bool
        The run's folder is a size-limited tmpfs.
    missing : tuple of str
        Why each missing layer is missing.
    """

    user: tuple[int, int] | None = None
    bwrap: str | None = None
    unshare: str | None = None
    seccomp: bytes | None = None
    cgroups: bool = False
    disk: bool = False
    missing: tuple[str, ...] = field(default=())

    @property
    def practice_mode(self) -> bool:
        """No separate user: the child could reach what the grader's user can."""
        return self.user is None

    @property
    def network(self) -> bool:
        """Whether the child runs in its own, empty network namespace."""
        return bool(self.bwrap or self.unshare)

    def names(self) -> list[str]:
        """Names of the layers in force, the process layer first."""
        present = {
            "process": True,
            "user": self.user is not None,
            "network": self.network,
            "seccomp": self.seccomp is not None,
            "filesystem": self.bwrap is not None,
            "cgroups": self.cgroups,
            "disk": self.disk,
        }
        return [name for name, on in present.items() if on]

    def describe(self) -> str:
        """One line for reports: the layers in force and why others are not."""
        text = "layers: " + ", ".join(self.names())
        if self.practice_mode:
            text = "practice mode (no separate user), " + text
        if self.missing:
            text += "; missing: " + "; ".join(self.missing)
        return text


def sandbox_ids() -> tuple[int, int] | None:
    """``(uid, gid)`` of ``SANDBOX_USER``, or None when it does not exist."""
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def setpriv_path() -> str:
    """Path of ``setpriv``, which drops a child to the sandbox user."""
    return shutil.which("setpriv", path="/usr/bin:/bin") or "/usr/bin/setpriv"
