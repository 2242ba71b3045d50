"""Unit tests of ``sandbox/child.py``'s verdicts without a child process: how
an ending (exit code, signal, OOM count, a kill the grader ordered) and a
fault the harness reported become the student's verdict and message.

The process itself is faked: ``Child`` is built without ``__init__`` and its
``_reap``/``_kill_group`` report a chosen exit code. The end-to-end tests of
the same verdicts with real children are ``tests/core/test_verdicts.py``."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.results import Status
from autograder.sandbox import Child, ChildDied, Limits, StudentFault
from autograder.sandbox import limits as sandbox_limits
from autograder.sandbox.child import EXIT_GRACE_SECONDS, clean_environment, tree_peak_rss
from autograder.sandbox.reply import Reply


class Cgroup:
    def __init__(self, oom_kills: int) -> None:
        self.count = oom_kills

    def oom_kills(self) -> int:
        return self.count


def ended(code: int | None, cgroup: Cgroup | None = None, exits_on_its_own: bool = True) -> Child:
    """A ``Child`` whose process ended with ``code`` (None: still running until killed)."""
    child = Child.__new__(Child)
    child.module_name = "svm"
    child.limits = Limits(wall_seconds=6.0, memory_bytes=512 * 2**20, file_bytes=1000)
    child._killed_for = None
    child._cgroup = cgroup
    child.kills = 0
    child.waits = []

    def reap(wait_seconds=None):
        child.waits.append(wait_seconds)
        if wait_seconds is not None and not exits_on_its_own:
            return None
        return code

    def kill_group():
        child.kills += 1

    child._reap = reap
    child._kill_group = kill_group
    return child


def death(child: Child, what: str = "svm_loss(W, X, y, reg)") -> ChildDied:
    died = child._death(what)
    assert isinstance(died, ChildDied) and child.kills >= 1
    return died


def test_an_exit_is_exited_and_says_exit_codes_never_pass():
    died = death(ended(0))
    assert died.status is Status.EXITED
    assert died.message == (
        "the process exited with status 0 during svm_loss(W, X, y, reg) before returning a result "
        "(os._exit, sys.exit or a closed pipe); exit codes never count as passing"
    )
    assert death(ended(3), what="").message.startswith("the process exited with status 3 before returning")


def test_a_signal_is_a_crash_naming_it():
    died = death(ended(-signal.SIGSEGV))
    assert (died.status, died.message) == (
        Status.CRASHED,
        "crashed with signal 11 (SIGSEGV) during svm_loss(W, X, y, reg)",
    )
    assert death(ended(-signal.SIGABRT), "").message == "crashed with signal 6 (SIGABRT)"


def test_the_cpu_limit_is_a_timeout():
    died = death(ended(-signal.SIGXCPU))
    assert died.status is Status.TIMEOUT
    assert died.message == (
        f"the CPU time limit (the exercise's remaining budget + {sandbox_limits.CPU_SLACK_SECONDS:g} s) "
        "was reached during svm_loss(W, X, y, reg)"
    )


def test_the_file_size_limit_is_a_crash_naming_the_limit():
    died = death(ended(-signal.SIGXFSZ))
    assert (died.status, died.message) == (
        Status.CRASHED,
        "wrote a file larger than 1000 bytes during svm_loss(W, X, y, reg)",
    )


def test_sigkill_without_an_oom_count_is_not_out_of_memory():
    with_cgroup = death(ended(-signal.SIGKILL, Cgroup(0)))
    assert with_cgroup.status is Status.CRASHED
    assert with_cgroup.message == (
        "killed by SIGKILL during svm_loss(W, X, y, reg), not by the OOM killer (the run's memory cgroup "
        "counted no OOM kill): student code killed its own process or process group"
    )
    without = death(ended(-signal.SIGKILL))
    assert without.status is Status.CRASHED
    assert without.message == (
        "killed by SIGKILL during svm_loss(W, X, y, reg): without a memory cgroup the grader cannot tell "
        "the machine's OOM killer from student code killing its own process or group"
    )


def test_an_oom_count_is_out_of_memory_naming_the_cgroups_bound():
    died = death(ended(-signal.SIGKILL, Cgroup(1)))
    bound = (512 * 2**20 + sandbox_limits.CGROUP_EXTRA_BYTES) // 2**20
    assert (died.status, died.message) == (
        Status.OUT_OF_MEMORY,
        f"the kernel's OOM killer stopped the run during svm_loss(W, X, y, reg): it used more than its "
        f"memory cgroup's {bound} MiB",
    )


def test_a_kill_the_grader_ordered_keeps_its_reason():
    child = ended(-signal.SIGKILL, Cgroup(1))
    child._killed_for = (Status.TIMEOUT, "the check's limit of 20 s ran out")
    died = death(child)
    assert (died.status, died.message) == (Status.TIMEOUT, "the check's limit of 20 s ran out")
    assert child.waits[0] is None  # no grace wait: the grader already knows why


def test_a_process_that_closed_its_channel_and_kept_running_is_stopped():
    child = ended(-signal.SIGKILL, exits_on_its_own=False)
    died = death(child)
    assert child.waits[0] == EXIT_GRACE_SECONDS
    assert died.status is Status.EXITED
    assert died.message == (
        "the harness's reply channel closed during svm_loss(W, X, y, reg) while the process kept running "
        "(student code closed or replaced it); the run was stopped"
    )


def test_tampering_with_the_channel_is_invalid_output():
    child = ended(-signal.SIGKILL)
    died = child._tampered("a header of 5000 bytes")
    assert died.status is Status.INVALID_OUTPUT
    assert died.message == (
        "the reply channel carried something the harness did not send (a header of 5000 bytes; student "
        "code wrote to it or changed the harness); the run was stopped"
    )


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        (Reply("missing", (), message="svm_loss_naive"), Status.MISSING, "svm.py defines no svm_loss_naive"),
        (Reply("not_implemented", ()), Status.NOT_ATTEMPTED, "f(x) still raises NotImplementedError"),
        (
            Reply("memory", (), where="svm.py:4"),
            Status.OUT_OF_MEMORY,
            "f(x) ran out of memory at svm.py:4 (limit 512 MiB)",
        ),
        (Reply("invalid", (), message="a list"), Status.INVALID_OUTPUT, "f(x) returned a list"),
        (
            Reply("exit", (), where="svm.py:9"),
            Status.EXITED,
            "f(x) called sys.exit() at svm.py:9; exiting never counts as passing",
        ),
        (Reply("banned", (), message="imports torch"), Status.BANNED_IMPORT, "f(x): imports torch"),
        (
            Reply("error", (), message="division by zero", type="ZeroDivisionError", where="svm.py:3"),
            Status.ERROR,
            "f(x) raised ZeroDivisionError at svm.py:3: division by zero",
        ),
        (Reply("error", (), message="?"), Status.ERROR, "f(x) raised an exception: ?"),
    ],
)
def test_each_fault_the_harness_reports_has_its_verdict(reply, status, message):
    fault = ended(None)._call_fault(reply, "f(x)")
    assert type(fault) is StudentFault
    assert (fault.status, fault.message) == (status, message)


def test_an_import_that_raised_is_import_failed_and_final():
    child = ended(None)
    reply = Reply("error", (), message="name 'np' is not defined", type="NameError", where="svm.py:2")
    died = child._import_fault(reply)
    assert isinstance(died, ChildDied)
    assert (died.status, died.message) == (
        Status.IMPORT_FAILED,
        "import failed: NameError at svm.py:2: name 'np' is not defined",
    )
    stub = child._import_fault(Reply("not_implemented", (), type="NotImplementedError"))
    assert (stub.status, stub.message) == (Status.IMPORT_FAILED, "import failed: NotImplementedError: ")
    banned = child._import_fault(Reply("banned", (), message="imports torch"))
    assert isinstance(banned, ChildDied)
    assert (banned.status, banned.message) == (Status.BANNED_IMPORT, "importing svm.py: imports torch")


def test_a_timeout_names_the_limit_that_ran_out():
    child = ended(None)
    assert child._timeout_message("f(x)", ("the check's limit", 20.0), 20.0) == (
        "f(x) did not finish within the check's limit of 20 s"
    )
    assert child._timeout_message("f(x)", ("the check's limit", 20.0), 19.5) == (
        "the exercise's time budget of 6 s ran out during f(x)"
    )


def test_the_childs_environment_is_only_its_own():
    environment = clean_environment("/run/home")
    threads = str(sandbox_limits.BLAS_THREADS)
    assert environment == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/run/home",
        "TMPDIR": "/run/home",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }


def test_tree_peak_rss_reads_vmhwm_and_is_zero_for_a_process_gone():
    sleeper = subprocess.Popen(["sleep", "30"])  # a process with no child, its peak settled
    try:
        time.sleep(0.2)
        status = Path(f"/proc/{sleeper.pid}/status").read_text()
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        assert tree_peak_rss(sleeper.pid) == int(line.split()[1]) * 1024 > 0  # kB
    finally:
        sleeper.kill()
        sleeper.wait()
    assert tree_peak_rss(2**22 + 1) == 0  # above the kernel's largest pid


@pytest.mark.parametrize(
    ("bwrap", "code", "harness"),
    [
        ("/usr/bin/bwrap", 128 + 9, -9),  # bubblewrap's 128 + N: the harness died of signal N
        ("/usr/bin/bwrap", 128 + 11, -11),
        ("/usr/bin/bwrap", 128, 128),  # not a signal
        ("/usr/bin/bwrap", 3, 3),
        (None, 128 + 9, 128 + 9),  # without bubblewrap the code is the harness's own
    ],
)
def test_bubblewraps_signal_exit_codes_are_the_harness_signals(bwrap, code, harness):
    child = ended(None)
    child._layers = SimpleNamespace(bwrap=bwrap)
    assert child._exit_code(code) == harness
