"""Operating-system isolation of the child, layer by layer, probed once per process.

Layer 1 (process: ``python -I -S``, clean environment, fresh folder, rlimits,
process-group kill) is always there and lives in ``child.py``. This module adds,
when the machine allows it:

- ``user``: the child runs as the unprivileged ``SANDBOX_USER`` (created by
  ``autograder sandbox-setup``), so it cannot read the grader's files, raise its
  rlimits back, or signal the grader;
- ``network``: a network namespace (bubblewrap's, or ``unshare -n``);
- ``seccomp``: a filter built here with libseccomp (``pyseccomp``) and loaded by
  the harness before any student code runs: no processes, programs, sockets,
  tracing, mounts or namespaces; threads stay allowed (OpenBLAS needs them);
- ``filesystem``: bubblewrap showing the child only the system's programs and
  libraries, the interpreter's executable, shared and standard library, NumPy,
  the harness, the submission and its writable folders; every site-packages
  and dist-packages (the venv's, the base interpreter's, the user's, the
  system's) is an empty tmpfs, so torch, scipy... cannot be imported at all;
- ``cgroups``: a memory and a pids cgroup (v1) per run, whose OOM count becomes
  an "out of memory" verdict and whose members are all killed after the run;
- ``disk``: the run's folder is a size-limited tmpfs, so no run can fill a disk.

``probe()`` decides which layers work here by trial runs; ``Layers.describe``
is the isolation level recorded in every report. Without the user layer the
run is labelled practice mode.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from autograder.sandbox import probe_cache
from autograder.sandbox.layers import (
    CGROUP_CONTROLLERS,
    CGROUP_GROUP,
    CGROUP_ROOT,
    SANDBOX_USER,
    Layers,
    sandbox_ids,
    setpriv_path,
)
from autograder.sandbox.runroot import HARNESS, prepare_root, site_dir

PROBE_SECONDS = 20.0
"""Time allowed to a trial start of the interpreter with NumPy (about 0.2 s)."""

KILL_ROUNDS = 50
"""Rounds of SIGKILL sweeps over a run's leftover processes (a process being
created between two reads of the member list is caught by the next round)."""

STALE_SECONDS = 3600.0
"""Age past which a run's cgroup with no process left is a leftover of a grader
that was killed before it could clean up (no exercise budget comes near an hour)."""

SWEEP_PAUSE_SECONDS = 0.01
"""Pause between two kill sweeps or two attempts to remove an emptied cgroup."""

DENIED_SYSCALLS = (
    "fork", "vfork", "execve", "execveat",  # no other process, no other program
    "socket", "socketpair",  # no network, no local sockets
    "io_uring_setup", "io_uring_enter", "io_uring_register",  # I/O (sockets too) past this filter
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise",  # no touching other processes
    "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",  # no signals to other threads' groups
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",  # no handles on (or files of) other processes
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",  # no namespace games
    "fsopen", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",  # nor the new mount API
    "open_by_handle_at", "name_to_handle_at",  # no opening files by handle, around the mounts
    "keyctl", "add_key", "request_key",  # the kernel keyring is shared by the user's processes
    "bpf", "perf_event_open", "userfaultfd",  # kernel attack surface that NumPy never needs
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "personality",  # no turning address-space randomization off
    "setsid", "setpgid",  # stay in the process group the grader kills
)  # fmt: skip
"""System calls the seccomp filter refuses with ``EPERM`` (docs/security.md gives
the reason for each). ``clone`` is refused only without ``CLONE_THREAD``,
``kill`` only towards another process or group. ``tgkill`` is refused whatever
its target: the filter is compiled before the child's pid is known, and NumPy,
OpenBLAS and CPython's threads never signal one another (a refused ``abort()``
still ends the process, by glibc's fallback)."""

CLONE_THREAD = 0x00010000  # from <linux/sched.h>

PR_SET_NO_NEW_PRIVS = 38
MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2


@dataclass(frozen=True)
class RunPaths:
    """What one child needs to see: its folders, the harness and NumPy.

    Attributes
    ----------
    root : str
        The run's folder, holding ``io/``, ``home/`` and ``submission/``.
    harness : str
        The trusted harness script.
    site : str
        The private site directory holding NumPy only.
    """

    root: str
    harness: str
    site: str

    def sub(self, name: str) -> str:
        """Path of the run's sub-folder ``name``."""
        return os.path.join(self.root, name)


# -- launching --------------------------------------------------------------------------


def command(layers: Layers, paths: RunPaths, argv: list[str], cgroup_procs: list[str]) -> list[str]:
    """The full command that starts ``argv`` (the interpreter) inside the layers.

    ``cgroup_procs`` are the ``cgroup.procs`` files the launcher joins before
    anything else runs, so that no process of the run is ever outside them.
    """
    prefix: list[str] = []
    if cgroup_procs:
        join = 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"'
        prefix += ["/bin/sh", "-c", join, "sh", *cgroup_procs, "--"]
    if layers.bwrap:
        prefix += bwrap_arguments(layers.bwrap, paths)
        argv = [os.path.realpath(argv[0]), *argv[1:]]
    elif layers.unshare:
        prefix += [layers.unshare, "--net", "--"]
    if layers.user:
        uid, gid = layers.user
        prefix += [setpriv_path(), f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs"]
    return prefix + argv


def bwrap_arguments(bwrap: str, paths: RunPaths) -> list[str]:
    """Bubblewrap's arguments: a new root showing only what the child needs.

    An allowlist: the system's programs and libraries (``/usr``, ``/lib``...),
    the interpreter with its shared library and standard library
    (``interpreter_files``), NumPy, the harness and the run's folders. Every
    folder packages could be imported from (``site_packages``) is covered by an
    empty tmpfs, wherever it lies inside what is shown.
    """
    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    args += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64"):
        host = Path("/", top)
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    read_only = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"]
    for shown in interpreter_files():
        if not _under(shown, read_only):
            args += [*_parents(shown, read_only, []), "--ro-bind", shown, shown]
            read_only.append(shown)
    masked = [hidden for hidden in site_packages() if _under(hidden, read_only)]
    for hidden in masked:
        args += ["--tmpfs", hidden]
    args += [*_parents(paths.harness, read_only, masked), "--ro-bind", paths.harness, paths.harness]
    args += ["--dir", paths.site]
    for name, real in numpy_dirs().items():
        args += ["--ro-bind", real, os.path.join(paths.site, name)]
    args += [*_parents(paths.root, read_only, masked), "--dir", paths.root]
    args += ["--bind", paths.sub("io"), paths.sub("io"), "--bind", paths.sub("home"), paths.sub("home")]
    args += ["--ro-bind", paths.sub("submission"), paths.sub("submission")]
    return [*args, "--chdir", paths.sub("home"), "--"]


def interpreter_files() -> list[str]:
    """What the child's interpreter needs of its installation: its executable, its
    shared library and its standard library (not the rest of its prefix)."""
    executable = os.path.realpath(sys.executable)
    stdlib = {os.path.realpath(sysconfig.get_path(name)) for name in ("stdlib", "platstdlib")}
    library = sysconfig.get_config_var("INSTSONAME")
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    shared = [os.path.realpath(os.path.join(libdir, library))] if library and libdir else []
    return sorted({executable, *stdlib, *(path for path in shared if os.path.isfile(path))})


def numpy_dirs() -> dict[str, str]:
    """NumPy's package folder and its bundled libraries, by the name they import as."""
    packages = Path(np.__file__).resolve().parents[1]
    return {name: str(packages / name) for name in ("numpy", "numpy.libs") if (packages / name).is_dir()}


PACKAGE_FOLDERS = (
    "/usr/lib/python3/dist-packages",
    "/usr/lib/python3*/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
    "/usr/local/lib/python3*/site-packages",
)
"""Where a Linux distribution and ``pip install`` as root put packages, whichever
interpreter they belong to (patterns for ``glob``)."""


def site_packages() -> list[str]:
    """Every folder packages could be imported from: the site-packages of this
    interpreter, of the base interpreter a venv was made from, of the user, and
    every ``PACKAGE_FOLDERS`` folder of the system."""
    bases = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    found = [*site.getsitepackages(), site.getusersitepackages()]
    found += [
        sysconfig.get_path(kind, vars={"base": base, "platbase": base})
        for base in bases
        for kind in ("purelib", "platlib")
    ]
    found += [path for pattern in PACKAGE_FOLDERS for path in glob.glob(pattern)]
    return sorted({os.path.realpath(p) for p in found if os.path.isdir(p)})


def _under(path: str, tops: list[str]) -> bool:
    return any(path == top or path.startswith(top.rstrip("/") + "/") for top in tops)


def _parents(path: str, read_only: list[str], masked: list[str]) -> list[str]:
    """``--dir`` arguments creating the ancestors of ``path`` (mode 0755;
    bubblewrap would make them 0700, closed to the sandbox user). Ancestors
    inside a read-only tree exist already, unless an empty tmpfs masks them
    (the harness of a grader installed in site-packages)."""
    args: list[str] = []
    for parent in reversed(Path(path).parents):
        text = str(parent)
        hidden = _under(text, masked) and text not in masked
        if text not in ("/", "/tmp") and (hidden or not _under(text, read_only)):
            args += ["--dir", text]
    return args


# -- seccomp ----------------------------------------------------------------------------


def seccomp_program() -> bytes:
    """Compile the seccomp filter to BPF (raises when libseccomp is absent)."""
    import pyseccomp as sc  # optional: the `sandbox` extra

    rules = sc.SyscallFilter(defaction=sc.ALLOW)
    denied = sc.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        rules.add_rule(denied, name)
    rules.add_rule(denied, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # glibc then creates threads with clone
    rules.add_rule(denied, "kill", sc.Arg(0, sc.NE, 0))
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        return handle.read()


# -- cgroups ----------------------------------------------------------------------------


class RunCgroup:
    """A memory and a pids cgroup (v1) holding every process of one run.

    Parameters
    ----------
    name : str
        Unique name of the run.
    memory_bytes : int
        ``memory.limit_in_bytes``.
    processes : int
        ``pids.max``: processes and threads of the run.
    """

    CONTROLLERS = CGROUP_CONTROLLERS

    def __init__(self, name: str, memory_bytes: int, processes: int) -> None:
        self.dirs = {c: CGROUP_ROOT / c / CGROUP_GROUP / name for c in self.CONTROLLERS}
        for path in self.dirs.values():
            path.mkdir(parents=True)
        (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (self.dirs["pids"] / "pids.max").write_text(str(processes))

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join."""
        return [str(path / "cgroup.procs") for path in self.dirs.values()]

    def oom_kills(self) -> int:
        """How many processes of the run the kernel's OOM killer stopped."""
        text = (self.dirs["memory"] / "memory.oom_control").read_text()
        counts = dict(line.split() for line in text.splitlines() if line.strip())
        return int(counts.get("oom_kill", 0))

    def peak_bytes(self) -> int:
        """Highest memory use of the run (``memory.max_usage_in_bytes``)."""
        return int((self.dirs["memory"] / "memory.max_usage_in_bytes").read_text())

    def kill_all(self) -> None:
        """SIGKILL every process of the run until none is left."""
        kill_until_empty(lambda: _read_pids(self.dirs["pids"] / "cgroup.procs"))

    def remove(self) -> None:
        """Remove the emptied cgroups."""
        for path in self.dirs.values():
            for _ in range(KILL_ROUNDS):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(SWEEP_PAUSE_SECONDS)


def _read_pids(procs: Path) -> list[int]:
    try:
        return [int(line) for line in procs.read_text().split()]
    except OSError:
        return []


def kill_until_empty(members) -> None:
    """SIGKILL the pids ``members()`` lists, again, until it lists none."""
    for _ in range(KILL_ROUNDS):
        pids = members()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(SWEEP_PAUSE_SECONDS)


def leftover_processes(uid: int, session: int) -> list[int]:
    """Pids of the processes of user ``uid`` that belong to the run whose session
    is ``session``, and of every orphan of that user (its parent gone): a daemon
    that left the session is an orphan; another live run's processes are neither."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, StopIteration, ValueError):
                status = Path("/proc", entry, "status").read_text()
                uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
                fields = Path("/proc", entry, "stat").read_text().rpartition(")")[2].split()
                parent, group_session = int(fields[1]), int(fields[3])
                if int(uids.split()[1]) == uid and (group_session == session or parent == 1):
                    pids.append(int(entry))
    return pids


def sweep_stale() -> list[str]:
    """Remove what killed graders left: the tmpfs, folder and cgroups of every run
    whose cgroup is older than ``STALE_SECONDS`` and holds no process.

    Returns
    -------
    list of str
        Names of the runs removed.
    """
    removed = []
    for group in sorted((CGROUP_ROOT / "memory" / CGROUP_GROUP).glob("autograder-run-*")):
        dirs = [CGROUP_ROOT / c / CGROUP_GROUP / group.name for c in RunCgroup.CONTROLLERS]
        with contextlib.suppress(OSError):
            if time.time() - group.stat().st_mtime < STALE_SECONDS:
                continue
            if any(_read_pids(d / "cgroup.procs") for d in dirs if d.exists()):
                continue
            folder = os.path.join(tempfile.gettempdir(), group.name)
            if os.path.ismount(folder):
                unmount(folder)
            shutil.rmtree(folder, ignore_errors=True)
            for path in dirs:
                with contextlib.suppress(OSError):
                    path.rmdir()
            removed.append(group.name)
    return removed


# -- the run's folder -------------------------------------------------------------------


def mount_tmpfs(path: str, size_bytes: int) -> bool:
    """Mount a tmpfs of ``size_bytes`` on ``path``; False when not permitted."""
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={size_bytes},mode=0711".encode()
    return libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0


def unmount(path: str) -> None:
    """Detach the tmpfs mounted on ``path`` (its files go with it)."""
    ctypes.CDLL(None, use_errno=True).umount2(path.encode(), MNT_DETACH)


# -- probe ------------------------------------------------------------------------------


@functools.cache
def probe() -> Layers:
    """The layers that work on this machine, found by trial; cached per process and,
    as root, per boot and configuration (``probe_cache``)."""
    layers = probe_cache.remembered(_probe_by_trial)
    if layers.cgroups:
        sweep_stale()
    return layers


def _probe_by_trial() -> Layers:
    missing: list[str] = []
    root = os.geteuid() == 0
    try:
        program: bytes | None = seccomp_program()
    except (ImportError, OSError, RuntimeError, ValueError) as error:
        program = None
        missing.append(f"seccomp ({type(error).__name__}: {error}; install the `sandbox` extra)")
    user = sandbox_ids() if root else None
    if not root:
        missing.append("user, network, filesystem, cgroups, disk (not root)")
        return Layers(seccomp=program, missing=tuple(missing))
    if user is None:
        missing.append(f"user ({SANDBOX_USER} does not exist: run `autograder sandbox-setup`)")
    candidate = Layers(user=user, bwrap=shutil.which("bwrap"), seccomp=program)
    if candidate.bwrap is None:
        missing.append("filesystem (bubblewrap is not installed)")
        candidate = Layers(user=user, unshare=shutil.which("unshare"), seccomp=program)
    for drop, why in (("bwrap", "filesystem"), ("unshare", "network"), ("user", "user")):
        if getattr(candidate, drop) is None:
            continue
        failure = _trial(candidate)
        if failure is None:
            break
        missing.append(f"{why} ({drop} failed here: {failure})")
        candidate = replace(candidate, **{drop: None})
        if drop == "bwrap":
            candidate = replace(candidate, unshare=shutil.which("unshare"))
    cgroups = _cgroups_writable()
    if not cgroups:
        missing.append("cgroups (no writable v1 memory and pids hierarchies)")
    disk = _tmpfs_mountable()
    if not disk:
        missing.append("disk (cannot mount a tmpfs)")
    if not candidate.network:
        missing.append("network (no namespace available)")
    return replace(candidate, cgroups=cgroups, disk=disk, missing=tuple(dict.fromkeys(missing)))


class LayersMissing(Exception):
    """Grading is refused here: root without the layers that keep student code
    from root's powers. The message says how to set them up."""


ROOT_NEEDS = ("user", "seccomp")
"""Layers without which a root grader refuses to grade: without the sandbox user
the child would be root (able to undo every limit); without seccomp it could
create processes, sockets and namespaces."""


def refusal(layers: Layers, euid: int) -> str | None:
    """Why grading must not run with ``layers`` as user ``euid``; None when it may.

    A non-root grader may run without layers (practice mode: the child can
    reach only what that user can, and the report says so).
    """
    absent = [name for name in ROOT_NEEDS if name not in layers.names()]
    if euid != 0 or not absent:
        return None
    return (
        f"grading as root without the {' and '.join(absent)} layer{'s' * (len(absent) > 1)} is refused: "
        "student code would run with root's powers. Install bubblewrap and libseccomp2 and the "
        "`sandbox` extra (pip install 'dl-autograder[sandbox]'), then run `autograder sandbox-setup` "
        "as root; or grade as an unprivileged user (practice mode). Now: " + layers.describe()
    )


def require_layers() -> None:
    """Raise ``LayersMissing`` when this machine's layers may not grade (``refusal``)."""
    why = refusal(probe(), os.geteuid())
    if why is not None:
        raise LayersMissing(why)


def report() -> dict[str, str | bool | list[str]]:
    """What every result records: the isolation level, its layers, practice mode."""
    layers = probe()
    return {"isolation": layers.describe(), "layers": layers.names(), "practice_mode": layers.practice_mode}


def _trial(layers: Layers) -> str | None:
    """Start the interpreter with NumPy inside ``layers``; None when it works."""
    root = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        prepare_root(root, layers.user)
        paths = RunPaths(root, str(HARNESS), site_dir())
        code = f"import sys; sys.path.append({paths.site!r}); import numpy; open({paths.harness!r}).close()"
        argv = command(layers, paths, [sys.executable, "-I", "-S", "-c", code], [])
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_SECONDS, env=env, cwd=root)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _cgroups_writable() -> bool:
    for controller in RunCgroup.CONTROLLERS:
        group = CGROUP_ROOT / controller / CGROUP_GROUP
        try:
            group.mkdir(exist_ok=True)
            trial = Path(tempfile.mkdtemp(prefix="probe-", dir=group))
            trial.rmdir()
        except OSError:
            return False
    return True


def _tmpfs_mountable() -> bool:
    path = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        mounted = mount_tmpfs(path, 1024**2)
        if mounted:
            unmount(path)
        return mounted
    finally:
        os.rmdir(path)


# -- setup ------------------------------------------------------------------------------


SETUP_REQUIRES = ("user", "cgroups")
"""The layers ``setup`` creates, which must work once it is done."""


def setup(required: tuple[str, ...] = SETUP_REQUIRES) -> tuple[list[str], list[str]]:
    """Create the sandbox user and the parent cgroups, then probe; idempotent.

    Parameters
    ----------
    required : tuple of str
        Layers that must work afterwards (``ALL_LAYERS`` on a CI machine).

    Returns
    -------
    done : list of str
        What was done or found, one line each.
    failed : list of str
        The layers of ``required`` that do not work after the setup.
    """
    if os.geteuid() != 0:
        return ["not root: nothing to set up; grading runs in practice mode"], []
    done = []
    if sandbox_ids() is None:
        subprocess.run(
            [
                "useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SANDBOX_USER,
            ],
            check=True,
        )  # fmt: skip
        done.append(f"created user {SANDBOX_USER}")
    else:
        done.append(f"user {SANDBOX_USER} exists")
    for controller in RunCgroup.CONTROLLERS:
        with contextlib.suppress(OSError):
            (CGROUP_ROOT / controller / CGROUP_GROUP).mkdir(exist_ok=True)
    probe_cache.forget()
    probe.cache_clear()
    stale = sweep_stale() if probe().cgroups else []
    if stale:
        done.append(f"removed {len(stale)} runs left by killed graders")
    done.append(f"isolation: {probe().describe()}")
    return done, [name for name in required if name not in probe().names()]


ALL_LAYERS = ("process", "user", "network", "seccomp", "filesystem", "cgroups", "disk")
"""Every layer, in the order ``Layers.names`` lists them."""
