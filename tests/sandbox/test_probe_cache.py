"""The isolation probe's answer and the trusted caches it is kept in (issue 13, item 2)."""

from __future__ import annotations

import os
import pwd

import pytest

from autograder.sandbox import isolation, probe_cache, trusted_cache

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the probe is stored for root only")

LAYERS = isolation.Layers(
    user=(999, 999),
    bwrap="/usr/bin/bwrap",
    seccomp=b"\x00\x01bpf",
    cgroups=True,
    disk=False,
    missing=("disk (cannot mount a tmpfs)",),
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setattr(trusted_cache, "cache_dir", lambda: folder)
    return folder


class Counting:
    """A stand-in probe that counts its runs."""

    def __init__(self, layers: isolation.Layers = LAYERS) -> None:
        self.layers, self.runs = layers, 0

    def __call__(self) -> isolation.Layers:
        self.runs += 1
        return self.layers


def test_second_probe_comes_from_the_cache_unchanged(cache):
    compute = Counting()
    assert probe_cache.remembered(compute) == LAYERS
    assert probe_cache.remembered(compute) == LAYERS
    assert compute.runs == 1
    assert (cache / probe_cache.CACHE_NAME).stat().st_mode & 0o777 == 0o644


def test_a_configuration_change_probes_again(cache, monkeypatch):
    compute = Counting()
    probe_cache.remembered(compute)
    real = probe_cache.configuration
    monkeypatch.setattr(probe_cache, "configuration", lambda: {**real(), "sandbox_user": [1, 2]})
    probe_cache.remembered(compute)
    assert compute.runs == 2


def test_the_key_covers_boot_user_binaries_and_sandbox_code():
    key = probe_cache.configuration()
    assert key["kernel"]["/proc/sys/kernel/random/boot_id"]
    assert key["euid"] == 0
    assert {"bwrap", "setpriv", "python", "numpy", "isolation", "harness"} <= set(key["files"])
    assert key["files"]["isolation"][2] == os.stat(isolation.__file__).st_mtime_ns


@pytest.mark.parametrize(
    "tamper", ["file writable by others", "folder writable by group", "file of another user"]
)
def test_an_untrusted_cache_is_ignored(cache, tamper):
    compute = Counting()
    probe_cache.remembered(compute)
    stored = cache / probe_cache.CACHE_NAME
    if tamper == "file writable by others":
        stored.chmod(0o646)
    elif tamper == "folder writable by group":
        cache.chmod(0o775)
    else:
        nobody = pwd.getpwnam("nobody")
        os.chown(stored, nobody.pw_uid, nobody.pw_gid)
    probe_cache.remembered(compute)
    assert compute.runs == 2


def test_a_corrupt_cache_is_recomputed(cache):
    compute = Counting()
    probe_cache.remembered(compute)
    (cache / probe_cache.CACHE_NAME).write_text('{"key": 1, "layers": ')
    assert probe_cache.remembered(compute) == LAYERS
    assert compute.runs == 2


def test_forget_drops_the_stored_answer(cache):
    compute = Counting()
    probe_cache.remembered(compute)
    probe_cache.forget()
    probe_cache.remembered(compute)
    assert compute.runs == 2


def test_cached_probe_equals_a_fresh_probe_on_this_machine(cache):
    isolation.probe.cache_clear()
    try:
        first = isolation.probe()  # by trial, stored
        isolation.probe.cache_clear()
        assert isolation.probe() == first == isolation._probe_by_trial()
    finally:
        isolation.probe.cache_clear()
