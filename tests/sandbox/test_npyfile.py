"""The parent reads back only plain numeric arrays and writes inputs never through links."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from autograder.sandbox.npyfile import BadArrayFile, read_array, write_npy
from autograder.sandbox.reply import BytesReader


@pytest.fixture
def folder(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield tmp_path, fd
    os.close(fd)


def npy(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def read(data: bytes, size: int | None = None) -> np.ndarray:
    return read_array(BytesReader(data), len(data) if size is None else size)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12.0).reshape(3, 4),
        np.float64(2.5),
        np.zeros((0, 3)),
        np.array([True, False]),
        np.arange(6, dtype=">i4"),
    ],
)
def test_round_trip(array):
    back = read(npy(np.asarray(array)))
    assert type(back) is np.ndarray and back.flags.writeable and back.flags.c_contiguous
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_refuses_object_arrays_and_pickles():
    with pytest.raises(BadArrayFile, match="not a plain numeric dtype"):
        read(npy(np.array([{"a": 1}], dtype=object), allow_pickle=True))
    with pytest.raises(BadArrayFile, match="bad magic"):
        read(pickle.dumps(np.ones(3)))


def test_refuses_oversized_header_and_size_mismatch():
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), " + " " * 20000 + "}\n"
    with pytest.raises(BadArrayFile, match="bad header"):
        read(b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header.encode())
    data = npy(np.ones(100))
    with pytest.raises(BadArrayFile, match="header implies"):
        read(data[:-8])


def test_a_header_announcing_more_data_than_sent_is_refused_before_reading():
    """A header claiming 10**8 elements in a 200-byte payload allocates nothing."""
    data = npy(np.ones(3)).replace(b"(3,)", b"(99999999,)")
    with pytest.raises(BadArrayFile, match="header implies"):
        read(data)


def test_refuses_booleans_holding_other_bytes():
    data = npy(np.array([True, False]))
    with pytest.raises(BadArrayFile, match="boolean"):
        read(data[:-1] + b"\x07")


def test_writing_replaces_a_planted_link_instead_of_following_it(folder, tmp_path_factory):
    path, fd = folder
    target = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    target.write_text("intact")
    os.symlink(target, path / "in.npy")
    write_npy(fd, "in.npy", np.zeros(2))
    assert target.read_text() == "intact"
    assert not (path / "in.npy").is_symlink()
