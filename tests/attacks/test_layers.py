"""The isolation layers themselves: what the probe finds, what the report says,
and what the child actually runs as."""

from __future__ import annotations

import os
import time

import pytest

from autograder.grading import environment
from autograder.results import Status
from autograder.sandbox import Child, ChildDied, Limits, isolation
from tests.attacks.support import LAYERS, require

ALL_LAYERS = ["process", "user", "network", "seccomp", "filesystem", "cgroups", "disk"]

IDENTITY = '''
import os
import resource

import numpy as np


def identity():
    """uid, gid, address-space limit, processes visible."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[1]
    return np.array([os.getuid(), os.getgid(), limit, len([p for p in os.listdir("/proc") if p.isdigit()])])
'''


def test_ci_machine_has_every_layer():
    """CI installs bubblewrap and libseccomp and runs the setup as root: all layers."""
    if os.environ.get("CI") != "true":
        pytest.skip("only CI promises every layer (it runs `autograder sandbox-setup` as root)")
    assert LAYERS.names() == ALL_LAYERS, LAYERS.describe()


def test_report_records_the_probed_isolation_level():
    recorded = environment()
    assert recorded["isolation"] == LAYERS.describe()
    assert recorded["practice_mode"] is LAYERS.practice_mode
    assert recorded["practice_mode"] is (LAYERS.user is None)


def test_without_a_separate_user_the_run_is_practice_mode():
    bare = isolation.Layers(missing=("user, network, filesystem, cgroups, disk (not root)",))
    assert bare.practice_mode
    assert bare.names() == ["process"]
    assert bare.describe().startswith("practice mode") and "not root" in bare.describe()


def test_setup_is_idempotent():
    if os.geteuid() != 0:
        assert "practice mode" in isolation.setup()[0]
        return
    first, second = isolation.setup(), isolation.setup()
    assert second[0] == f"user {isolation.SANDBOX_USER} exists"
    assert first[-1] == second[-1] == f"isolation: {isolation.probe().describe()}"


def test_child_runs_as_the_sandbox_user_with_its_limits(tmp_path):
    """The child is the sandbox user (it cannot raise its rlimits back) and, in its
    pid namespace, sees only its own processes."""
    require("user")
    (tmp_path / "ident.py").write_text(IDENTITY)
    limits = Limits(wall_seconds=30.0)
    child = Child(tmp_path / "ident.py", "ident", limits, time.monotonic() + 30.0, frozenset())
    try:
        uid, gid, memory, processes = child.call("identity", seconds=30.0)
    finally:
        child.close()
    assert (uid, gid) == LAYERS.user
    assert memory == limits.memory_bytes
    if LAYERS.bwrap:
        assert processes <= 3, "the child sees processes outside its pid namespace"


def test_seccomp_filter_denies_processes_but_not_threads(tmp_path):
    """The filter refuses fork and exec yet lets NumPy and threads work."""
    require("seccomp")
    source = (
        "import os, subprocess, threading\nimport numpy as np\n\n\n"
        "def run():\n"
        "    box = []\n"
        "    work = lambda: box.append(float(np.ones((64, 64)).dot(np.ones(64)).sum()))\n"
        "    thread = threading.Thread(target=work)\n"
        "    thread.start()\n    thread.join()\n"
        "    denied = 0\n"
        "    for attempt in (os.fork, lambda: subprocess.run(['true'])):\n"
        "        try:\n            attempt()\n"
        "        except PermissionError:\n            denied += 1\n"
        "    return np.array([box[0], denied])\n"
    )
    (tmp_path / "probe.py").write_text(source)
    child = Child(
        tmp_path / "probe.py", "probe", Limits(wall_seconds=30.0), time.monotonic() + 30.0, frozenset()
    )
    try:
        total, denied = child.call("run", seconds=30.0)
    finally:
        child.close()
    assert total == 64 * 64 and denied == 2


def test_cgroup_oom_count_becomes_out_of_memory(tmp_path, monkeypatch):
    """Memory the address-space limit does not see (a tmpfs file) still ends in the
    kernel's OOM killer, whose count becomes an "out of memory" verdict."""
    require("cgroups")
    if not LAYERS.disk:
        pytest.skip("needs the disk layer (the run's tmpfs) to charge file pages to the run")
    monkeypatch.setattr("autograder.sandbox.limits.CGROUP_EXTRA_BYTES", 0)
    source = (
        "import numpy as np\n\n\ndef fill():\n"
        "    chunk = b'\\1' * 2**26\n"
        "    with open('big', 'wb') as handle:\n"
        "        for _ in range(8):\n            handle.write(chunk)\n"
        "    hoard = []\n    while True:\n        hoard.append(np.ones(2**24))\n"
    )
    (tmp_path / "oom.py").write_text(source)
    limits = Limits(wall_seconds=60.0, memory_bytes=1024**3)
    child = Child(tmp_path / "oom.py", "oom", limits, time.monotonic() + 60.0, frozenset())
    try:
        with pytest.raises(ChildDied) as raised:
            child.call("fill", seconds=60.0)
    finally:
        child.close()
    assert raised.value.status is Status.OUT_OF_MEMORY
    assert "OOM killer" in raised.value.message
