"""Dataset files are read once per file version in a process, and their checksums
computed once per file version across processes (issue 13, item 2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from autograder import datasets as ds
from autograder.sandbox import trusted_cache
from tests.data.test_datasets import make_arrays, write_dataset


class CountingMd5:
    """``hashlib.md5`` that counts its calls."""

    def __init__(self, md5) -> None:
        self.md5, self.calls = md5, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.md5(*args, **kwargs)


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CountingMd5:
    """Counts the hashing of files read from disk; every load here reads them from
    disk, as a new process would (the process's own copies are forgotten)."""
    monkeypatch.setattr(trusted_cache, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(ds, "_load_file", lambda path, remote: ds._read_and_check(path, remote))
    counter = CountingMd5(ds.hashlib.md5)
    monkeypatch.setattr(ds.hashlib, "md5", counter)
    return counter


def test_second_load_reuses_the_checksums(tmp_path: Path, counted: CountingMd5) -> None:
    write_dataset(tmp_path / "data" / "mnist", make_arrays())
    first = ds.load("mnist", tmp_path / "data")
    hashed = counted.calls
    second = ds.load("mnist", tmp_path / "data")
    assert hashed > 0 and counted.calls == hashed
    assert first.files == second.files


def test_a_changed_file_is_hashed_again(tmp_path: Path, counted: CountingMd5) -> None:
    folder = tmp_path / "data" / "mnist"
    write_dataset(folder, make_arrays(seed=1))
    first = ds.load("mnist", tmp_path / "data")
    labels = folder / "train-labels-idx1-ubyte.gz"
    info = labels.stat()
    write_dataset(folder, make_arrays(seed=2))  # same sizes, other content
    os.utime(labels, ns=(info.st_atime_ns, info.st_mtime_ns))  # even with the old mtime
    second = ds.load("mnist", tmp_path / "data")
    assert first.files[1].md5 != second.files[1].md5
    assert second.files[1].md5 == ds.hashlib.md5.md5(labels.read_bytes()).hexdigest()


def test_an_untrusted_cache_is_not_believed(tmp_path: Path, counted: CountingMd5) -> None:
    write_dataset(tmp_path / "data" / "mnist", make_arrays())
    ds.load("mnist", tmp_path / "data")
    stored = tmp_path / "cache" / ds.CHECKSUM_CACHE
    stored.chmod(0o666)  # anyone could have written it
    hashed = counted.calls
    ds.load("mnist", tmp_path / "data")
    assert counted.calls > hashed


def test_a_process_reads_each_file_version_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trusted_cache, "cache_dir", lambda: tmp_path / "cache")
    reads: list[str] = []
    read_file = ds._read_file
    monkeypatch.setattr(ds, "_read_file", lambda path: reads.append(path.name) or read_file(path))
    folder = tmp_path / "data" / "mnist"
    write_dataset(folder, make_arrays(seed=1))
    first = ds.load("mnist", tmp_path / "data")
    assert len(reads) == 4
    second = ds.load("mnist", tmp_path / "data")
    assert len(reads) == 4 and second.files == first.files
    np.testing.assert_array_equal(second.x_train, first.x_train)
    labels = folder / "train-labels-idx1-ubyte.gz"
    info = labels.stat()
    write_dataset(folder, make_arrays(seed=2))  # same sizes, other content, old mtime
    os.utime(labels, ns=(info.st_atime_ns, info.st_mtime_ns))
    third = ds.load("mnist", tmp_path / "data")
    assert len(reads) == 8
    assert third.files[1].md5 != first.files[1].md5
    assert not third.x_train.flags.writeable
