"""Verdicts tell the truth: each way a child stops gets its own verdict and names
the limit that ran out; "out of memory" only when the harness reported a
MemoryError or the kernel's OOM count says so."""

from __future__ import annotations

import secrets
import time

import pytest

from autograder.results import Status
from autograder.sandbox import Child, ChildDied, Limits, StudentFault, isolation
from autograder.sandbox import limits as sandbox_limits

SECONDS = 30.0
"""Budget of one direct ``Child`` run here (each needs about 1 s)."""

MODULE = """
import os, signal, time


def sleep():
    time.sleep(3600)


def kill_own_group():
    os.kill(0, signal.SIGKILL)


def segfault():
    import ctypes
    ctypes.string_at(0)


def allocate():
    return bytearray(2**40)


def nested():
    value = 1.0
    for _ in range(10):
        value = (value,)
    return value


def many():
    return {str(k): None for k in range(100)}


def one():
    return 1.0
"""


def start(tmp_path, source: str, budget: float = SECONDS) -> Child:
    folder = tmp_path / secrets.token_hex(4)
    folder.mkdir()
    (folder / "svm.py").write_text(source)
    return Child(
        folder / "svm.py", "svm", Limits(wall_seconds=budget), time.monotonic() + budget, frozenset()
    )


def death(tmp_path, target: str, seconds: float = SECONDS) -> ChildDied:
    child = start(tmp_path, MODULE)
    try:
        with pytest.raises(ChildDied) as caught:
            child.call(target, seconds=seconds)
    finally:
        child.close()
    return caught.value


def test_start_timeout_names_the_start_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox_limits, "START_SECONDS", 2.0)
    with pytest.raises(ChildDied) as caught:
        start(tmp_path, "import time\ntime.sleep(3600)\n")
    assert caught.value.status is Status.TIMEOUT
    assert "importing svm.py did not finish within the start limit of 2 s" in caught.value.message


def test_start_cut_by_the_exercise_budget_names_the_budget(tmp_path):
    with pytest.raises(ChildDied) as caught:
        start(tmp_path, "import time\ntime.sleep(3600)\n", budget=3.0)
    assert caught.value.status is Status.TIMEOUT
    assert "the exercise's time budget of 3 s ran out during importing svm.py" in caught.value.message


def test_check_limit_names_the_check_limit(tmp_path):
    died = death(tmp_path, "sleep", seconds=1.0)
    assert died.status is Status.TIMEOUT
    assert "sleep did not finish within the check's limit of 1 s" in died.message


def test_self_kill_is_not_called_out_of_memory(tmp_path):
    died = death(tmp_path, "kill_own_group")
    assert died.status is Status.CRASHED, died.message
    assert "SIGKILL" in died.message and "out of memory" not in died.message


def test_sigkill_with_an_oom_count_is_out_of_memory(tmp_path, monkeypatch):
    """The same SIGKILL, when the run's memory cgroup counted an OOM kill."""
    if not isolation.probe().cgroups:
        pytest.skip("needs the cgroups layer")
    monkeypatch.setattr(isolation.RunCgroup, "oom_kills", lambda self: 1)
    died = death(tmp_path, "kill_own_group")
    assert died.status is Status.OUT_OF_MEMORY
    assert "OOM killer" in died.message


def test_signal_death_names_the_signal(tmp_path):
    died = death(tmp_path, "segfault")
    assert died.status is Status.CRASHED and "SIGSEGV" in died.message


def test_memory_error_is_out_of_memory(tmp_path):
    child = start(tmp_path, MODULE)
    try:
        with pytest.raises(Exception) as caught:
            child.call("allocate", seconds=SECONDS)
    finally:
        child.close()
    assert caught.value.status is Status.OUT_OF_MEMORY
    assert "ran out of memory" in caught.value.message


@pytest.mark.parametrize("target", ["nested", "many"])
def test_a_return_value_the_grader_would_refuse_is_refused_by_the_harness(tmp_path, target):
    """Too deep or too long: the student's invalid output, and the child stays usable."""
    child = start(tmp_path, MODULE)
    try:
        with pytest.raises(StudentFault) as caught:
            child.call(target, seconds=SECONDS)
        assert child.call("one", seconds=SECONDS) == 1.0
    finally:
        child.close()
    assert type(caught.value) is StudentFault and caught.value.status is Status.INVALID_OUTPUT
    assert "nested deeper than 4 or longer than 64" in caught.value.message
