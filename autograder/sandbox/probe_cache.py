"""The isolation probe's answer, kept per boot and configuration.

``isolation.probe`` finds the layers by trial starts of sandboxed interpreters
(a quarter of a second, on every grading run before this cache). Its answer
changes only when the machine does, so as root it is stored in the trusted
cache ``probe-<installation>.json`` (``trusted_cache``: root-owned, in ``/run``, which a
reboot empties) under a key describing everything the layers depend on:

- the boot (``/proc/sys/kernel/random/boot_id``), the effective user and its
  capabilities, the sandbox user's ids;
- path, size and modification time of bubblewrap, ``unshare``, ``setpriv``,
  the interpreter, NumPy, pyseccomp and the grader's sandbox modules (the
  probe, the harness, the launcher);
- the kernel's user-namespace settings and the cgroup mounts.

Any change gives another key, and the probe runs again. Not root, the probe
runs no trial (it is fast) and nothing is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autograder.sandbox import runroot, trusted_cache
from autograder.sandbox.layers import (
    CGROUP_CONTROLLERS,
    CGROUP_GROUP,
    CGROUP_ROOT,
    Layers,
    sandbox_ids,
    setpriv_path,
)

CACHE_NAME = f"probe-{hashlib.sha256(__file__.encode()).hexdigest()[:12]}.json"
"""One file per installed grader, so that two installations do not overwrite each other's."""

KERNEL_SETTINGS = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _file_state(path: str | None) -> list[Any] | None:
    """``[real path, size, mtime_ns]`` of a file or folder, None when absent."""
    if not path:
        return None
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return [real, None, None]
    return [real, info.st_size, info.st_mtime_ns]


def _capabilities() -> str | None:
    status = _read("/proc/self/status") or ""
    return next((line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), None)


def _cgroup_mounts() -> str:
    """Digest of the cgroup mount lines (not of the runs' own tmpfs mounts, which come and go)."""
    lines = (_read("/proc/self/mountinfo") or "").splitlines()
    kept = sorted(line.split(" - ", 1)[1] for line in lines if " - cgroup" in line)
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()


def configuration() -> dict[str, Any]:
    """What the probe's answer depends on (the cache key)."""
    pyseccomp = importlib.util.find_spec("pyseccomp")
    files = {
        "bwrap": shutil.which("bwrap"),
        "unshare": shutil.which("unshare"),
        "setpriv": setpriv_path(),
        "python": sys.executable,
        "numpy": os.path.dirname(np.__file__),
        "pyseccomp": pyseccomp.origin if pyseccomp else None,
        "isolation": str(Path(__file__).with_name("isolation.py")),
        "layers": str(Path(__file__).with_name("layers.py")),
        "child": str(Path(__file__).with_name("child.py")),
        "harness": str(runroot.HARNESS),
        "runroot": runroot.__file__,
        "probe_cache": __file__,
    }
    return {
        "kernel": {path: _read(path) for path in KERNEL_SETTINGS},
        "euid": os.geteuid(),
        "capabilities": _capabilities(),
        "sandbox_user": sandbox_ids(),
        "cgroups": _cgroup_mounts(),
        "cgroup_parents": [
            (CGROUP_ROOT / controller / CGROUP_GROUP).is_dir() for controller in CGROUP_CONTROLLERS
        ],
        "files": {name: _file_state(path) for name, path in files.items()},
    }


def _to_json(layers: Layers) -> dict[str, Any]:
    document = dataclasses.asdict(layers)
    document["seccomp"] = layers.seccomp.hex() if layers.seccomp is not None else None
    return document


def _from_json(document: dict[str, Any]) -> Layers:
    return Layers(
        user=tuple(document["user"]) if document["user"] is not None else None,
        bwrap=document["bwrap"],
        unshare=document["unshare"],
        seccomp=bytes.fromhex(document["seccomp"]) if document["seccomp"] is not None else None,
        cgroups=bool(document["cgroups"]),
        disk=bool(document["disk"]),
        missing=tuple(document["missing"]),
    )


def remembered(compute: Callable[[], Layers]) -> Layers:
    """The layers stored for this configuration, else ``compute()`` (stored when root).

    Parameters
    ----------
    compute : callable
        The probe by trial.
    """
    if os.geteuid() != 0:
        return compute()
    key = json.loads(json.dumps(configuration()))  # as read back: lists, not tuples
    stored = trusted_cache.read(CACHE_NAME)
    if stored.get("key") == key:
        try:
            return _from_json(stored["layers"])
        except (KeyError, TypeError, ValueError):
            pass
    layers = compute()
    trusted_cache.write(CACHE_NAME, {"key": key, "layers": _to_json(layers)})
    return layers


def forget() -> None:
    """Drop the stored answer (``sandbox-setup`` probes afresh)."""
    trusted_cache.remove(CACHE_NAME)
