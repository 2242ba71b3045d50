"""The isolation layers themselves: what the probe finds, what the report says,
and what the child actually runs as."""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.environment import environment
from autograder.grading import Options, grade
from autograder.results import Status
from autograder.sandbox import Child, ChildDied, Limits, isolation
from tests.conftest import DATA_DIR, reference_source
from tests.sandbox.attacks.support import LAYERS, promised, require

IDENTITY = '''
import os
import resource

import numpy as np


def identity():
    """uid, gid, address-space limit, processes visible."""
    limit = resource.getrlimit(resource.RLIMIT_AS)[1]
    return np.array([os.getuid(), os.getgid(), limit, len([p for p in os.listdir("/proc") if p.isdigit()])])
'''


def test_promised_layers_are_in_force():
    """CI installs bubblewrap and libseccomp, runs the setup as root and promises
    every layer (AUTOGRADER_REQUIRE_LAYERS=all): each must be there."""
    if not promised():
        pytest.skip("AUTOGRADER_REQUIRE_LAYERS is not set: this machine promises no layer")
    assert promised() <= set(LAYERS.names()), LAYERS.describe()


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
        assert "practice mode" in isolation.setup()[0][0]
        return
    (first, _), (second, failed) = isolation.setup(), isolation.setup()
    assert second[0] == f"user {isolation.SANDBOX_USER} exists"
    assert first[-1] == second[-1] == f"isolation: {isolation.probe().describe()}"
    assert failed == [name for name in isolation.SETUP_REQUIRES if name not in LAYERS.names()]


def test_setup_fails_when_a_required_layer_does_not_work(monkeypatch, capsys):
    """``sandbox-setup`` exits 1 naming a layer that does not work after it ran."""
    if os.geteuid() != 0:
        pytest.skip("the setup only acts as root")
    broken = isolation.Layers(user=LAYERS.user, seccomp=LAYERS.seccomp, missing=("cgroups (broken)",))
    monkeypatch.setattr(isolation, "probe", _cached(broken))
    assert main(["sandbox-setup"]) == 1
    assert "not working afterwards: cgroups" in capsys.readouterr().err
    assert main(["sandbox-setup", "--require", "user"]) == 0


def _cached(layers: isolation.Layers):
    """A stand-in of ``isolation.probe`` (with its ``cache_clear``) answering ``layers``."""

    def probe() -> isolation.Layers:
        return layers

    probe.cache_clear = lambda: None
    return probe


@pytest.mark.parametrize("absent", ["user", "seccomp", "user and seccomp"])
def test_root_without_the_user_or_seccomp_layer_is_refused(monkeypatch, capsys, tmp_path, absent):
    """As root, without the sandbox user or the seccomp filter, no grading starts:
    exit 2 (usage error) and a message naming the setup; nothing is written."""
    layers = isolation.Layers(
        user=None if "user" in absent else (1, 1), seccomp=None if "seccomp" in absent else b"\0" * 8
    )
    monkeypatch.setattr(isolation, "probe", _cached(layers))
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0)
    (tmp_path / "svm.py").write_text(reference_source("svm"))
    out = tmp_path / "results.json"
    assert main(["grade", str(tmp_path), "--only", "svm", "--json", str(out)]) == 2
    message = capsys.readouterr().err
    assert f"without the {absent} layer" in message
    assert "autograder sandbox-setup" in message and "`sandbox` extra" in message
    assert not out.exists()
    assert main(["check", str(tmp_path), "--only", "svm"]) == 2
    with pytest.raises(isolation.LayersMissing):
        grade(tmp_path, Options(only=("svm",)))


def test_non_root_practice_mode_is_allowed_and_labelled(monkeypatch, tmp_path):
    """Without root there is nothing to refuse: grading runs, labelled practice mode."""
    bare = isolation.Layers(missing=("user, network, filesystem, cgroups, disk (not root)",))
    assert isolation.refusal(bare, euid=0) is not None
    assert isolation.refusal(isolation.Layers(user=(1, 1), seccomp=b"\0" * 8), euid=0) is None
    monkeypatch.setattr(isolation, "probe", _cached(bare))
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)
    assert isolation.refusal(bare, euid=1000) is None
    (tmp_path / "svm.py").write_text(reference_source("svm"))
    result = grade(tmp_path, Options(only=("svm",), data_dir=DATA_DIR))
    assert result.score == result.max_score > 0
    assert result.environment["practice_mode"] is True
    assert result.environment["isolation"].startswith("practice mode")


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
    require("disk")  # the run's tmpfs charges file pages to the run
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


SYSCALL_PROBE = '''
import ctypes
import os

import numpy as np

ARGUMENTS = @ARGUMENTS@


def attempt():
    """errno of each system call (0 when it succeeded), in ARGUMENTS' order."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    params = ctypes.create_string_buffer(256)  # io_uring_params, perf_event_attr...: zeroed
    pid = os.getpid()
    codes = []
    for number, args in ARGUMENTS:
        values = [ctypes.addressof(params) if a == "buffer" else pid if a == "pid" else a for a in args]
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(number), *(ctypes.c_long(v) for v in values))
        codes.append(ctypes.get_errno() if result == -1 else 0)
    return np.array(codes)
'''

HARMLESS_CALLS = {
    "io_uring_setup": (1, "buffer"),
    "tkill": ("pid", 0),
    "tgkill": ("pid", "pid", 0),
    "pidfd_open": ("pid", 0),
    "keyctl": (0, -2, 1),  # KEYCTL_GET_KEYRING_ID of the process keyring, created
    "personality": (0xFFFFFFFF,),  # a query
}
"""Calls that succeed without the filter (a control run shows it) and harm nothing:
signal 0 to oneself, a handle on oneself, a query."""

REFUSED_CALLS = {
    **HARMLESS_CALLS,
    "io_uring_enter": (-1, 0, 0, 0, 0, 0),
    "io_uring_register": (-1, 0, 0, 0),
    "rt_sigqueueinfo": ("pid", 0, "buffer"),
    "rt_tgsigqueueinfo": ("pid", "pid", 0, "buffer"),
    "pidfd_send_signal": (-1, 0, 0, 0),
    "pidfd_getfd": (-1, 0, 0),
    "process_madvise": (-1, 0, 0, 0, 0),
    "add_key": (0, 0, 0, 0, 0),
    "request_key": (0, 0, 0, 0),
    "bpf": (0, 0, 0),
    "perf_event_open": ("buffer", 0, -1, -1, 0),
    "userfaultfd": (0,),
    "kexec_load": (0, 0, 0, 0),
    "kexec_file_load": (-1, -1, 0, 0, 0),
    "ptrace": (0, 0, 0, 0),  # PTRACE_TRACEME
}
"""Each system call the filter must refuse, with arguments that could do no
harm even if it did not (bad descriptors, null pointers, no flags)."""


def _syscall_probe(calls: dict[str, tuple]) -> str:
    import pyseccomp as sc

    arguments = [(sc.resolve_syscall(sc.Arch.NATIVE, name), args) for name, args in calls.items()]
    return SYSCALL_PROBE.replace("@ARGUMENTS@", repr(arguments))


def test_seccomp_filter_refuses_io_uring_signals_pidfd_and_kernel_calls(tmp_path):
    """Every call of REFUSED_CALLS fails with EPERM (or ENOSYS) inside the child."""
    require("seccomp")
    (tmp_path / "calls.py").write_text(_syscall_probe(REFUSED_CALLS))
    child = Child(
        tmp_path / "calls.py", "calls", Limits(wall_seconds=30.0), time.monotonic() + 30.0, frozenset()
    )
    try:
        codes = child.call("attempt", seconds=30.0)
    finally:
        child.close()
    got = dict(zip(REFUSED_CALLS, codes.tolist(), strict=True))
    assert {name: code for name, code in got.items() if code not in (errno.EPERM, errno.ENOSYS)} == {}


def test_the_harmless_calls_succeed_without_the_filter(tmp_path):
    """The control of the test above: outside the sandbox the same calls work, so
    the refusals it sees are the filter's."""
    (tmp_path / "calls.py").write_text(_syscall_probe(HARMLESS_CALLS))
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import calls; print(calls.attempt().tolist())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [0] * len(HARMLESS_CALLS)


def test_abort_under_the_filter_still_ends_the_child(tmp_path):
    """``tgkill`` is refused, so glibc's ``abort()`` cannot raise SIGABRT: it still
    ends the process (its fallback), and the run is a crash, not a hang."""
    require("seccomp")
    (tmp_path / "ender.py").write_text("import os\n\nimport numpy as np\n\n\ndef end():\n    os.abort()\n")
    child = Child(
        tmp_path / "ender.py", "ender", Limits(wall_seconds=30.0), time.monotonic() + 30.0, frozenset()
    )
    started = time.monotonic()
    try:
        with pytest.raises(ChildDied) as raised:
            child.call("end", seconds=30.0)
    finally:
        child.close()
    assert time.monotonic() - started < 20.0
    assert raised.value.status in (Status.CRASHED, Status.EXITED), raised.value.message


IMPORT_PROBE = '''
import ctypes
import importlib
import importlib.machinery
import importlib.util
import os
import site
import sys

import numpy as np

NAME, SITE, BASE_SITE = @WHERE@


def _load(name, location):
    spec = importlib.util.spec_from_file_location(name, location)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Finder:
    """A meta path finder that looks only in the hidden site-packages."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        return importlib.machinery.PathFinder.find_spec(name, [SITE, BASE_SITE])


ATTEMPTS = {
    "import": lambda: importlib.import_module(NAME),
    "sys.path": lambda: (sys.path.insert(0, SITE), importlib.import_module(NAME)),
    "addsitedir (.pth)": lambda: (site.addsitedir(SITE), importlib.import_module(NAME + "_pth")),
    "meta_path": lambda: (sys.meta_path.insert(0, _Finder), importlib.import_module(NAME)),
    "from file": lambda: _load(NAME, os.path.join(SITE, NAME, "__init__.py")),
    "ctypes": lambda: ctypes.CDLL(os.path.join(SITE, NAME, "lib.so")),
    "open": lambda: open(os.path.join(SITE, NAME, "__init__.py")).read(),
    "scipy by sys.path": lambda: (sys.path.insert(0, BASE_SITE), importlib.import_module("scipy.linalg")),
    "scipy from file": lambda: _load("scipy", os.path.join(BASE_SITE, "scipy", "__init__.py")),
}


def attempt():
    """1 for each attempt of ATTEMPTS that reached the hidden package, else 0."""
    reached = []
    for how in ATTEMPTS.values():
        saved = (list(sys.path), list(sys.meta_path))
        try:
            how()
            reached.append(1)
        except BaseException:
            reached.append(0)
        sys.path[:], sys.meta_path[:] = saved
        for name in [m for m in sys.modules if m.startswith((NAME, "scipy"))]:
            del sys.modules[name]
    return np.array(reached)
'''


@pytest.fixture
def planted_package():
    """A throwaway package (module, .pth file, shared library) in the base
    interpreter's site-packages, removed afterwards: the child must not reach it."""
    base_site = sysconfig.get_path("purelib", vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    name = f"autograder_canary_{os.getpid()}"
    package = Path(base_site, name)
    extra = Path(base_site, f"{name}_extra")
    pth = Path(base_site, f"{name}.pth")
    library = next(Path(p) for p in glob.glob("/lib*/*/libm.so.6") + glob.glob("/usr/lib*/*/libm.so.6"))
    try:
        package.mkdir()
        (package / "__init__.py").write_text("PLANTED = True\n")
        shutil.copyfile(library, package / "lib.so")
        extra.mkdir()
        (extra / f"{name}_pth.py").write_text("PLANTED = True\n")
        pth.write_text(f"{extra}\n")
        yield name, base_site
    finally:
        shutil.rmtree(package, ignore_errors=True)
        shutil.rmtree(extra, ignore_errors=True)
        pth.unlink(missing_ok=True)


def _import_probe(tmp_path: Path, name: str, base_site: str) -> Path:
    where = repr((name, base_site, base_site))
    (tmp_path / "reach.py").write_text(IMPORT_PROBE.replace("@WHERE@", where))
    return tmp_path / "reach.py"


def test_filesystem_hides_every_package_of_the_base_interpreter(tmp_path, planted_package):
    """No way reaches a package planted in the base interpreter's site-packages, nor
    scipy (installed there): importlib, sys.path, a .pth file, meta_path, loading
    from the file, ctypes, reading it."""
    require("filesystem")
    module = _import_probe(tmp_path, *planted_package)
    child = Child(module, "reach", Limits(wall_seconds=30.0), time.monotonic() + 30.0, frozenset())
    try:
        reached = child.call("attempt", seconds=30.0)
    finally:
        child.close()
    assert reached.tolist() == [0] * len(reached), reached


def test_the_planted_package_is_reachable_without_the_sandbox(tmp_path, planted_package):
    """The control of the test above: outside the sandbox every attempt succeeds,
    so the zeros it sees are the filesystem layer's."""
    pytest.importorskip("scipy")
    _import_probe(tmp_path, *planted_package)
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import reach; print(reach.attempt().tolist())"
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {1}
