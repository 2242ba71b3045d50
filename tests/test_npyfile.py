"""The parent reads back only plain numeric arrays, never through links."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from autograder.sandbox.npyfile import BadArrayFile, read_npy, write_npy


@pytest.fixture
def folder(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield tmp_path, fd
    os.close(fd)


def test_round_trip(folder):
    _path, fd = folder
    array = np.arange(12.0).reshape(3, 4)
    write_npy(fd, "a.npy", array)
    back = read_npy(fd, "a.npy", 1 << 20)
    assert type(back) is np.ndarray and back.flags.writeable
    np.testing.assert_array_equal(back, array)


def test_refuses_a_symlink_to_a_reference_file(folder, tmp_path_factory):
    path, fd = folder
    secret = tmp_path_factory.mktemp("hidden") / "expected.npy"
    np.save(secret, np.ones(3))
    os.symlink(secret, path / "out.npy")
    with pytest.raises(BadArrayFile, match="cannot open"):
        read_npy(fd, "out.npy", 1 << 20)


def test_refuses_a_hard_link(folder, tmp_path_factory):
    path, fd = folder
    secret = tmp_path_factory.mktemp("hidden") / "expected.npy"
    np.save(secret, np.ones(3))
    os.link(secret, path / "out.npy")
    with pytest.raises(BadArrayFile, match="not a plain file"):
        read_npy(fd, "out.npy", 1 << 20)


def test_refuses_object_arrays_and_pickles(folder):
    path, fd = folder
    np.save(path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadArrayFile, match="not a plain numeric dtype"):
        read_npy(fd, "obj.npy", 1 << 20)
    (path / "pickle.npy").write_bytes(pickle.dumps(np.ones(3)))
    with pytest.raises(BadArrayFile, match="bad header"):
        read_npy(fd, "pickle.npy", 1 << 20)


def test_refuses_oversized_header_and_size_mismatch(folder):
    path, fd = folder
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), " + " " * 20000 + "}\n"
    (path / "big.npy").write_bytes(b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header.encode())
    with pytest.raises(BadArrayFile, match="bad header"):
        read_npy(fd, "big.npy", 1 << 20)
    np.save(path / "short.npy", np.ones(100))
    data = (path / "short.npy").read_bytes()
    (path / "short.npy").write_bytes(data[:-8])
    with pytest.raises(BadArrayFile, match="header implies"):
        read_npy(fd, "short.npy", 1 << 20)


def test_refuses_too_large_files_before_reading(folder):
    path, fd = folder
    np.save(path / "large.npy", np.ones(1000))
    with pytest.raises(BadArrayFile, match="more than"):
        read_npy(fd, "large.npy", 1000)


def test_writing_replaces_a_planted_link_instead_of_following_it(folder, tmp_path_factory):
    path, fd = folder
    target = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    target.write_text("intact")
    os.symlink(target, path / "in.npy")
    write_npy(fd, "in.npy", np.zeros(2))
    assert target.read_text() == "intact"
    assert not (path / "in.npy").is_symlink()
