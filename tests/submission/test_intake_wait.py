"""``intake.exit_code``: the intake child's exit code, or a kill after its time.

Both ways of waiting are run: the pidfd (woken by the exit) and, where the
system has none, ``Popen.wait``'s polling."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest

from autograder.submission.intake import exit_code


@pytest.fixture(params=["pidfd", "polling"])
def waiting(request, monkeypatch):
    if request.param == "polling":

        def no_pidfd(pid: int) -> int:
            raise OSError("pidfd_open is not implemented")

        monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    return request.param


def python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


def test_the_exit_code_is_returned(waiting):
    assert exit_code(python("raise SystemExit(3)"), 60.0) == 3


def test_a_death_by_signal_is_a_negative_code(waiting):
    code = f"import os; os.kill(os.getpid(), {int(signal.SIGTERM)})"
    assert exit_code(python(code), 60.0) == -signal.SIGTERM


def test_a_process_past_its_time_is_killed_and_reaped(waiting):
    process = python("import time; time.sleep(5)")
    with pytest.raises(subprocess.TimeoutExpired):
        exit_code(process, 0.2)
    assert process.returncode == -signal.SIGKILL


def test_a_process_is_waited_for_with_over_a_thousand_descriptors_open(waiting):
    """A busy grader may hold many descriptors: select() refuses those above 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"at most {hard} descriptors here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.dup(0))
        assert exit_code(python("raise SystemExit(4)"), 60.0) == 4
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
