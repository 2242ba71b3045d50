"""Parent side of the sandbox: start, drive and stop one child process.

A request is one JSON line on the request pipe, built only by ``Child``'s
typed methods (``call``, ``call_keeping``, ``new``, ``get``, ``set``,
``loop``, ``each``, ``seed``); array arguments are ``.npy`` files with unguessable
names in the run's exchange folder. The reply (a JSON header line, then the
result arrays as ``.npy`` bytes) is parsed by ``autograder.sandbox.reply``;
anything malformed stops the run with the student's ``invalid output``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograder.results import Status
from autograder.sandbox import isolation
from autograder.sandbox import limits as sandbox_limits
from autograder.sandbox.npyfile import write_npy
from autograder.sandbox.reply import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    MAX_TREE_DEPTH,
    ChannelClosed,
    ChannelTimeout,
    Malformed,
    PipeReader,
    Reply,
    array_bytes,
    parse_reply,
    result_budget,
)
from autograder.sandbox.runroot import HARNESS, prepare_root, site_dir

INLINE_BYTES = 16 * 1024
"""Largest input array sent inside the request line (its C-ordered bytes in
base64, with dtype and shape) rather than as a file in the exchange folder.
A file costs the grader about 90 us (write, then remove) and the child 55 us
(open and parse the header), against 6 and 10 us inline; a dev grading sends
about 400 arrays, nearly all under 16 KiB. Larger arrays go as files, which
the child reads without a JSON pass."""

LOOP_HEADER_BYTES = 128  # a .npy header of a 1-D float64 array is 128 bytes
EXIT_GRACE_SECONDS = 1.0  # time for the harness to exit on its own after its reply channel closed
BWRAP_SIGNALLED = 128  # bubblewrap exits with 128 + N when its command dies of signal N

_FAULTS = {
    "missing": Status.MISSING,
    "not_implemented": Status.NOT_ATTEMPTED,
    "error": Status.ERROR,
    "memory": Status.OUT_OF_MEMORY,
    "invalid": Status.INVALID_OUTPUT,
    "banned": Status.BANNED_IMPORT,
    "exit": Status.EXITED,
}


class Kept(str):
    """Name of an object kept inside the child (a layer's cache); pass it as an
    argument to hand the object back to student code."""


class StudentFault(Exception):
    """The student's code answered a request without a usable result.

    The child is still alive and can take the next request.
    """

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ChildDied(StudentFault):
    """The child is gone (timeout, crash, early exit, memory): start anew."""


def clean_environment(home: str) -> dict[str, str]:
    """The child's whole environment: no variable of the grader's leaks in."""
    threads = str(sandbox_limits.BLAS_THREADS)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }


def tree_peak_rss(pid: int) -> int:
    """Largest peak resident set (``VmHWM``) among ``pid`` and its descendants, in
    bytes; 0 when they are gone. Each process's own: exec starts it afresh."""
    peak, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
        pending += [int(child) for child in children]
    return peak


class _OutputDrain(threading.Thread):
    """Read the child's stdout and stderr, keep the first bytes, drop the rest."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.head = bytearray()
        self.total = 0

    def run(self) -> None:
        while chunk := os.read(self.fd, 65536):
            self.total += len(chunk)
            room = sandbox_limits.OUTPUT_KEEP_BYTES - len(self.head)
            if room > 0:
                self.head += chunk[:room]
        os.close(self.fd)


class Child:
    """One sandboxed child running the trusted harness on a student module.

    Parameters
    ----------
    module_file : Path
        The student's module (copied into the child's private folder).
    module_name : str
        Name under which the harness imports it (``"svm"``).
    limits : Limits
        Resource limits.
    deadline : float
        ``time.monotonic()`` value at which the exercise budget runs out.
    banned : frozenset of str
        Top-level packages the child must not import.
    """

    def __init__(
        self,
        module_file: Path,
        module_name: str,
        limits: sandbox_limits.Limits,
        deadline: float,
        banned: frozenset[str],
    ) -> None:
        self.module_name = module_name
        self.limits = limits
        self.deadline = deadline
        self.banned_attempts: set[str] = set()
        self.waited = 0.0
        self.peak_rss = 0
        self._requests = 0
        self._handles = 0
        self._banned = banned
        self._inputs: list[str] = []
        self._killed_for: tuple[Status, str] | None = None
        self._layers = isolation.probe()
        self._root = tempfile.mkdtemp(prefix="autograder-run-")
        self._mounted = self._layers.disk and isolation.mount_tmpfs(self._root, sandbox_limits.RUN_DISK_BYTES)
        self._cgroup: isolation.RunCgroup | None = None
        self._proc: subprocess.Popen | None = None
        self._io_fd = -1
        try:
            prepare_root(self._root, self._layers.user)
            self._module = os.path.join(self._root, "submission", f"{module_name}.py")
            shutil.copyfile(module_file, self._module)
            os.chmod(self._module, 0o644)
            self._io_fd = os.open(os.path.join(self._root, "io"), os.O_RDONLY | os.O_DIRECTORY)
            if self._layers.cgroups:
                name = os.path.basename(self._root)
                memory = limits.memory_bytes + sandbox_limits.CGROUP_EXTRA_BYTES
                self._cgroup = isolation.RunCgroup(name, memory, limits.processes)
            self._start(banned)
        except BaseException:
            self.close()
            raise

    # -- life cycle -----------------------------------------------------------------

    def _start(self, banned: frozenset[str]) -> None:
        request_r, self._request_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        home = os.path.join(self._root, "home")
        paths = isolation.RunPaths(self._root, str(HARNESS), site_dir())
        argv = [sys.executable, "-I", "-S", str(HARNESS), str(request_r), str(reply_w)]
        procs = self._cgroup.procs_files if self._cgroup else []
        self._proc = subprocess.Popen(
            isolation.command(self._layers, paths, argv, procs),
            stdin=subprocess.DEVNULL,
            stdout=output_w,
            stderr=output_w,
            cwd=home,
            env=clean_environment(home),
            pass_fds=(request_r, reply_w),
            start_new_session=True,
        )
        for fd in (request_r, reply_w, output_w):
            os.close(fd)
        self._drain = _OutputDrain(output_r)
        self._drain.start()
        boot = {
            "io_dir": os.path.join(self._root, "io"),
            "module_path": self._module,
            "module_name": self.module_name,
            "site_dir": paths.site,
            "seccomp": self._layers.seccomp.hex() if self._layers.seccomp else None,
            "banned": sorted(banned),
            "max_leaves": sandbox_limits.MAX_LEAVES,
            "max_depth": MAX_TREE_DEPTH,
            "text_chars": MAX_TEXT_CHARS,
            "name_chars": MAX_NAME_CHARS,
            "limits": {
                "memory_bytes": self.limits.memory_bytes,
                "cpu_seconds": math.ceil(self._remaining() + sandbox_limits.CPU_SLACK_SECONDS),
                "file_bytes": self.limits.file_bytes,
                "processes": self.limits.processes if self._unprivileged and not self._cgroup else 0,
            },
        }
        self._send(boot)
        self._reader = PipeReader(self._reply_r)
        what = f"importing {self.module_name}.py"
        start = sandbox_limits.START_SECONDS
        reply, _ = self._receive(0, start, what, 0, ("the start limit", start))
        if reply.status != "ready":
            raise self._import_fault(reply)

    @property
    def _unprivileged(self) -> bool:
        """Whether ``RLIMIT_NPROC`` binds the child (root ignores it). It counts every
        process of the user, so a pids cgroup, which counts the run's only, replaces it."""
        return self._layers.user is not None or os.getuid() != 0

    def close(self) -> None:
        """Stop the child and every process of its run; free its folder."""
        if self._proc is not None:
            self._sample_peak()
            os.close(self._request_w)
            if self._proc.returncode is None:
                # nothing in the child is worth an exit: every reply is read, and
                # its interpreter's teardown (~0.1 s) would be waited for
                self._kill_group()
                self._reap()
            self._drain.join(timeout=1.0)
            os.close(self._reply_r)
        self._kill_leftovers()
        if self._io_fd >= 0:
            os.close(self._io_fd)
        if self._mounted:
            isolation.unmount(self._root)
        if self._cgroup is not None:
            self._cgroup.remove()
        shutil.rmtree(self._root, ignore_errors=True)

    def _sample_peak(self) -> None:
        """Record the run's peak resident memory while its processes still exist."""
        self.peak_rss = max(self.peak_rss, tree_peak_rss(self._proc.pid))

    def _kill_group(self) -> None:
        self._sample_peak()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    def _kill_leftovers(self) -> None:
        """No process of the run outlives it: its cgroup's members, or, without
        cgroups and pid namespace, the sandbox user's processes of its session
        and the user's orphans."""
        if self._cgroup is not None:
            self._cgroup.kill_all()
        elif self._layers.user and not self._layers.bwrap and self._proc is not None:
            uid, session = self._layers.user[0], self._proc.pid
            isolation.kill_until_empty(lambda: isolation.leftover_processes(uid, session))

    def _reap(self, wait_seconds: float | None = None) -> int | None:
        """Collect the child's exit status and peak memory.

        Blocks until it exits, or polls for ``wait_seconds`` when given.
        """
        end = time.monotonic() + (wait_seconds or 0.0)
        while self._proc.returncode is None:
            pid, status, _ = os.wait4(self._proc.pid, 0 if wait_seconds is None else os.WNOHANG)
            if pid:
                self._proc.returncode = self._exit_code(os.waitstatus_to_exitcode(status))
                # Not usage.ru_maxrss: Linux carries the forking grader's peak RSS over
                # exec into it, so it grew with the grader (across exercises, students).
                if self._cgroup is not None:
                    self.peak_rss = max(self.peak_rss, self._cgroup.peak_bytes())
            elif time.monotonic() >= end:
                break
            else:
                time.sleep(0.005)
        return self._proc.returncode

    def _exit_code(self, code: int) -> int:
        """The harness's own exit code: bubblewrap reports a death by signal N as 128 + N."""
        if self._layers.bwrap and code > BWRAP_SIGNALLED:
            return BWRAP_SIGNALLED - code
        return code

    @property
    def alive(self) -> bool:
        """Whether the child can take another request."""
        return self._proc.returncode is None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The child's process group stopped (``SIGSTOP``) for the ``with`` block, so
        that nothing student code left running (threads busy between calls) competes
        with what the grader times meanwhile; continued (``SIGCONT``) after it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGCONT)

    @property
    def output_bytes(self) -> int:
        """How many bytes the student's code printed in all (most were dropped)."""
        return self._drain.total

    @property
    def output(self) -> str:
        """The first bytes the student's code printed (stdout and stderr)."""
        return self._drain.head.decode("utf-8", "replace")

    # -- requests: the only way to reach the harness --------------------------------

    def call(self, target: str, *args: Any, seconds: float, **kwargs: Any) -> Any:
        """Call a module function, or a handle's method (``"$h1.predict"``).

        Returns
        -------
        ndarray, tuple, dict or None
            The return value rebuilt from plain numeric arrays.
        """
        return self._exchange("call", target, args, kwargs, seconds)

    def call_keeping(
        self, index: int, target: str, *args: Any, seconds: float, **kwargs: Any
    ) -> tuple[Any, Kept]:
        """Call ``target`` and keep element ``index`` of its tuple in the child.

        Returns the tuple with ``None`` in that place, and the kept object's name.
        """
        kept = Kept(self._handle_name("kept"))
        value = self._exchange("call", target, args, kwargs, seconds, {"keep": [index, str(kept)]})
        return value, kept

    def new(self, class_name: str, *args: Any, seconds: float, **kwargs: Any) -> str:
        """Construct the student's ``class_name``; return its handle (``"$Name#1"``)."""
        handle = self._handle_name(class_name)
        self._exchange("new", class_name, args, kwargs, seconds, {"handle": handle}, result_bytes=0)
        return f"${handle}"

    def get(self, handle: str, attribute: str, *, seconds: float) -> Any:
        """Read ``attribute`` of the student's object ``handle``."""
        return self._exchange("get", f"{handle}.{attribute}", (), {}, seconds)

    def set(self, handle: str, attribute: str, value: Any, *, seconds: float) -> None:
        """Set ``attribute`` of the student's object ``handle`` to ``value``."""
        self._exchange("set", f"{handle}.{attribute}", (value,), {}, seconds, result_bytes=0)

    def loop(
        self, method: str, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, *, seconds: float
    ) -> np.ndarray:
        """Call ``method(x[batch], y[batch])`` for consecutive batches of each row
        of ``order`` (ndarray of shape (epochs, N)); return the float64 losses."""
        batches = order.shape[0] * -(-order.shape[1] // batch_size) if order.ndim == 2 else order.size
        budget = LOOP_HEADER_BYTES + 8 * batches
        args = (x, y, order, int(batch_size))
        return self._exchange("loop", method, args, {}, seconds, result_bytes=budget)

    def each(self, target: str, args: tuple[Any, ...], vary: int, pick: int | None, *, seconds: float) -> Any:
        """Call ``target(*args)`` once per row of ``args[vary]``, the row in its place,
        in one request; return element ``pick`` of each result (all of it when
        None), stacked: ndarray of shape (rows, ...)."""
        return self._exchange("each", target, args, {}, seconds, {"vary": int(vary), "pick": pick})

    def seed(self, value: int, *, seconds: float) -> None:
        """Seed NumPy's global generator in the child (``np.random.seed``)."""
        self._exchange("seed", "numpy.random", (int(value),), {}, seconds, result_bytes=0)

    def _handle_name(self, prefix: str) -> str:
        self._handles += 1
        return f"{prefix}#{self._handles}"

    def _exchange(
        self,
        op: str,
        target: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        seconds: float,
        extra: dict[str, Any] | None = None,
        result_bytes: int | None = None,
    ) -> Any:
        """Send one request and read its reply (see ``autograder.sandbox.reply``)."""
        self._requests += 1
        request_id = self._requests
        what = re.sub(r"#\d+", "", target.lstrip("$"))
        budget = result_budget(array_bytes((args, kwargs)), result_bytes)
        try:
            request = {"id": request_id, "op": op, "target": target, **(extra or {})}
            request.update(self._encode_inputs(args, kwargs, request_id))
            self._send(request)
            reply, value = self._receive(request_id, seconds, what, budget, ("the check's limit", seconds))
            if reply.status != "ok":
                raise self._call_fault(reply, what)
            return value
        finally:
            self._clear_io()

    def _encode_inputs(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], request_id: int
    ) -> dict[str, Any]:
        """The request's ``args`` and ``kwargs``, arrays written to the exchange folder."""
        counter = [0]
        try:
            return {
                "args": self._encode(list(args), request_id, counter),
                "kwargs": self._encode(kwargs, request_id, counter),
            }
        except OSError as error:
            if not (self._mounted and error.errno == errno.ENOSPC):
                raise
            self._killed_for = (
                Status.ERROR,
                f"the run's folder ({sandbox_limits.RUN_DISK_BYTES // 2**20} MiB) is full: "
                "student code filled it, "
                "so the grader could not hand over the inputs; the run was stopped",
            )
            self._kill_group()
            raise self._death("") from None

    def _encode(self, value: Any, request_id: int, counter: list[int]) -> Any:
        if isinstance(value, Kept):
            return {"$handle": str(value)}
        if isinstance(value, np.ndarray) and value.nbytes <= INLINE_BYTES:
            return inline(value)
        if isinstance(value, np.ndarray):
            name = f"in-{request_id}-{counter[0]}-{secrets.token_hex(8)}.npy"
            counter[0] += 1
            write_npy(self._io_fd, name, value)
            self._inputs.append(name)
            return {"$npy": name}
        if isinstance(value, dict):
            return {str(k): self._encode(v, request_id, counter) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._encode(v, request_id, counter) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    def _clear_io(self) -> None:
        """Remove the request's input files (whatever else the child put in its
        folder stays there, never listed, until the run's folder is removed)."""
        for name in self._inputs:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=self._io_fd)
        self._inputs.clear()

    # -- pipes ----------------------------------------------------------------------

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode()
        try:
            while data:
                data = data[os.write(self._request_w, data) :]
        except BrokenPipeError:
            raise self._death("before it read its next request") from None

    def _receive(
        self, request_id: int, seconds: float, what: str, budget: int, limit: tuple[str, float]
    ) -> tuple[Reply, Any]:
        """Read the reply to ``request_id`` within ``seconds`` (and the exercise's budget).

        ``limit`` names the limit that ``seconds`` stands for, for a timeout's verdict.
        """
        started = time.monotonic()
        allowed = min(seconds, self._remaining())
        self._reader.end = started + max(allowed, 0.0)
        try:
            reply, value = parse_reply(self._reader, request_id, self._banned, budget)
        except ChannelTimeout:
            self._killed_for = (Status.TIMEOUT, self._timeout_message(what, limit, allowed))
            self._kill_group()
            raise self._death(what) from None
        except ChannelClosed:
            raise self._death(what) from None
        except Malformed as error:
            raise self._tampered(str(error)) from None
        finally:
            self.waited += time.monotonic() - started
        self.banned_attempts.update(reply.banned)
        return reply, value

    def _timeout_message(self, what: str, limit: tuple[str, float], allowed: float) -> str:
        name, seconds = limit
        if seconds <= allowed:
            return f"{what} did not finish within {name} of {seconds:g} s"
        return f"the exercise's time budget of {self.limits.wall_seconds:g} s ran out during {what}"

    # -- verdicts -------------------------------------------------------------------

    def _tampered(self, reason: str) -> ChildDied:
        self._killed_for = (
            Status.INVALID_OUTPUT,
            f"the reply channel carried something the harness did not send ({reason}; "
            "student code wrote to it or changed the harness); the run was stopped",
        )
        self._kill_group()
        return self._death("")

    def _death(self, what: str) -> ChildDied:
        during = f" during {what}" if what else ""
        if not self._killed_for and self._reap(wait_seconds=EXIT_GRACE_SECONDS) is None:
            self._killed_for = (
                Status.EXITED,
                f"the harness's reply channel closed{during} while the process kept running "
                "(student code closed or replaced it); the run was stopped",
            )
        self._kill_group()
        code = self._reap()
        if self._killed_for:
            return ChildDied(*self._killed_for)
        if self._cgroup is not None and self._cgroup.oom_kills():
            return ChildDied(
                Status.OUT_OF_MEMORY,
                f"the kernel's OOM killer stopped the run{during}: it used more than its memory "
                f"cgroup's {(self.limits.memory_bytes + sandbox_limits.CGROUP_EXTRA_BYTES) // 2**20} MiB",
            )
        if code == -signal.SIGXCPU:
            return ChildDied(
                Status.TIMEOUT,
                "the CPU time limit (the exercise's remaining budget + "
                f"{sandbox_limits.CPU_SLACK_SECONDS:g} s) "
                f"was reached{during}",
            )
        if code == -signal.SIGKILL:
            return ChildDied(Status.CRASHED, self._sigkill_message(during))
        if code == -signal.SIGXFSZ:
            return ChildDied(
                Status.CRASHED, f"wrote a file larger than {self.limits.file_bytes} bytes{during}"
            )
        if code < 0:
            name = signal.Signals(-code).name
            return ChildDied(Status.CRASHED, f"crashed with signal {-code} ({name}){during}")
        return ChildDied(
            Status.EXITED,
            f"the process exited with status {code}{during} before returning a result "
            "(os._exit, sys.exit or a closed pipe); exit codes never count as passing",
        )

    def _sigkill_message(self, during: str) -> str:
        """Why a SIGKILL that the grader did not send is not called "out of memory"."""
        if self._cgroup is not None:
            return (
                f"killed by SIGKILL{during}, not by the OOM killer (the run's memory cgroup counted "
                "no OOM kill): student code killed its own process or process group"
            )
        return (
            f"killed by SIGKILL{during}: without a memory cgroup the grader cannot tell the "
            "machine's OOM killer from student code killing its own process or group"
        )

    def _call_fault(self, reply: Reply, what: str) -> StudentFault:
        status = _FAULTS[reply.status]
        message = reply.message
        where = f" at {reply.where}" if reply.where else ""
        texts = {
            Status.MISSING: f"{self.module_name}.py defines no {message}",
            Status.NOT_ATTEMPTED: f"{what} still raises NotImplementedError",
            Status.OUT_OF_MEMORY: (
                f"{what} ran out of memory{where} (limit {self.limits.memory_bytes // 2**20} MiB)"
            ),
            Status.INVALID_OUTPUT: f"{what} returned {message}",
            Status.EXITED: f"{what} called sys.exit(){where}; exiting never counts as passing",
            Status.BANNED_IMPORT: f"{what}: {message}",
        }
        default = f"{what} raised {reply.type or 'an exception'}{where}: {message}"
        return StudentFault(status, texts.get(status, default))

    def _import_fault(self, reply: Reply) -> StudentFault:
        fault = self._call_fault(reply, f"importing {self.module_name}.py")
        if fault.status in (Status.ERROR, Status.NOT_ATTEMPTED):
            where = f" at {reply.where}" if reply.where else ""
            message = f"import failed: {reply.type}{where}: {reply.message}"
            return ChildDied(Status.IMPORT_FAILED, message)
        return ChildDied(fault.status, fault.message)


def inline(array: np.ndarray) -> dict[str, Any]:
    """``array`` as it travels inside a request: ``{"$array": base64 of its
    C-ordered bytes, "dtype": its dtype's string, "shape": its shape}``."""
    data = np.asarray(array, order="C")  # 0-d stays 0-d
    return {
        "$array": base64.b64encode(data.tobytes()).decode(),
        "dtype": data.dtype.str,
        "shape": list(data.shape),
    }
