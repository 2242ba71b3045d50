"""The parent reads back only plain numeric arrays and writes inputs never through links."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from autograder.sandbox import npyfile
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


# -- unit tests of each rule at its edge (issue 14, item 4) --------------------------


def v1(header: str, data: bytes = b"") -> bytes:
    """A version 1.0 payload with exactly ``header`` as its header text."""
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


def header_of(descr: str, shape: tuple, fortran: bool = False, length: int = 0) -> str:
    """The header text of ``descr`` and ``shape``, padded with spaces to ``length`` bytes."""
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    return text + " " * max(0, length - len(text) - 1) + "\n"


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_every_npy_version_reads_back(version):
    buffer = io.BytesIO()
    array = np.arange(6.0).reshape(2, 3)
    np.lib.format.write_array(buffer, array, version=version)
    np.testing.assert_array_equal(read(buffer.getvalue()), array)


def test_an_unknown_version_is_refused():
    data = bytearray(npy(np.ones(2)))
    data[6:8] = b"\x04\x00"
    with pytest.raises(BadArrayFile, match=r"unknown \.npy version 4\.0"):
        read(bytes(data))


@pytest.mark.parametrize("size", [0, 4, 7])
def test_a_payload_shorter_than_the_magic_is_refused(size):
    with pytest.raises(BadArrayFile, match="bad magic"):
        read(npy(np.ones(2))[:size])


def test_a_payload_cut_inside_the_header_length_is_refused():
    with pytest.raises(BadArrayFile, match="bad header"):
        read(npy(np.ones(2))[:9])


def test_a_header_of_4096_bytes_is_taken_and_one_more_is_refused():
    data = np.arange(3.0).tobytes()
    np.testing.assert_array_equal(read(v1(header_of("<f8", (3,), length=4096), data)), [0.0, 1.0, 2.0])
    with pytest.raises(BadArrayFile, match="length 4097, at most 4096"):
        read(v1(header_of("<f8", (3,), length=4097), data))


def test_a_header_longer_than_the_payload_is_refused_before_it_is_read():
    data = v1(header_of("<f8", (1,), length=100), np.ones(1).tobytes())
    with pytest.raises(BadArrayFile, match="do not fit in a 50-byte payload"):
        read(data, size=50)


def test_extra_bytes_after_the_data_are_refused():
    data = npy(np.ones(2)) + b"\x00" * 8
    with pytest.raises(BadArrayFile, match=r"header implies \d+"):
        read(data)


@pytest.mark.parametrize(
    "array",
    [
        np.ones(2, dtype=np.complex128),
        np.array(["ab"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "<f8")]),
        np.ones((2, 2), order="F"),
    ],
)
def test_only_plain_numeric_c_ordered_arrays_are_taken(array):
    with pytest.raises(BadArrayFile, match="not a plain numeric dtype"):
        read(npy(array))


def test_a_header_numpy_cannot_parse_is_bad():
    with pytest.raises(BadArrayFile, match="bad header"):
        read(v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)\n", np.ones(1).tobytes()))


def test_dimensions_up_to_eight_are_taken_and_nine_refused():
    assert read(npy(np.ones((1,) * 8))).shape == (1,) * 8
    with pytest.raises(BadArrayFile, match="refused"):
        read(npy(np.ones((1,) * 9)))


def test_an_axis_up_to_2_to_the_31_is_taken_and_longer_or_negative_refused():
    assert read(v1(header_of("<f8", (0, 2**31)))).shape == (0, 2**31)
    for shape in [(0, 2**31 + 1), (-1,)]:
        with pytest.raises(BadArrayFile, match="refused"):
            read(v1(header_of("<f8", shape)))


def test_an_empty_array_whose_other_axes_overflow_is_refused():
    with pytest.raises(BadArrayFile, match="refused"):
        read(v1(header_of("<f8", (0, 2**31, 2**31, 2**31))))


def test_an_empty_array_reads_no_data():
    class NoData(BytesReader):
        def readinto(self, view):
            raise AssertionError("an empty array has no data to read")

    data = npy(np.zeros((0, 3)))
    assert read_array(NoData(data), len(data)).shape == (0, 3)


@pytest.mark.parametrize("dtype", [">f8", ">u2", "<f4", "|u1", "|b1", ">i8"])
def test_values_come_back_in_native_byte_order(dtype):
    array = np.array([1, 0, 1, 1], dtype=dtype)
    back = read(npy(array))
    assert back.dtype.isnative and back.dtype.kind == array.dtype.kind
    assert back.dtype.itemsize == array.dtype.itemsize
    np.testing.assert_array_equal(back, [1, 0, 1, 1])


def test_a_written_file_is_the_array_c_ordered_and_readable_by_all(folder):
    path, fd = folder
    transposed = np.arange(6.0).reshape(2, 3).T
    (path / "in.npy").write_text("planted")
    write_npy(fd, "in.npy", transposed)
    np.testing.assert_array_equal(np.load(path / "in.npy"), transposed)
    umask = os.umask(0)
    os.umask(umask)
    assert (path / "in.npy").stat().st_mode & 0o777 == 0o644 & ~umask
    data = (path / "in.npy").read_bytes()
    np.testing.assert_array_equal(read(data), transposed)
    assert b"'fortran_order': False" in data


@pytest.mark.parametrize("array", [np.array(2.5), np.zeros((0, 3)), np.arange(6.0).reshape(2, 3)[:, ::2]])
def test_a_written_file_keeps_the_arrays_shape(folder, array):
    """A 0-d input stays 0-d (``np.ascontiguousarray`` would make it (1,))."""
    path, fd = folder
    write_npy(fd, "in.npy", array)
    back = np.load(path / "in.npy")
    assert back.shape == array.shape and back.flags.c_contiguous
    np.testing.assert_array_equal(back, array)


def refusal(data: bytes, size: int | None = None) -> str:
    with pytest.raises(BadArrayFile) as refused:
        read(data, size)
    return str(refused.value)


def test_each_refusal_says_what_was_wrong():
    good = npy(np.ones(2))
    assert refusal(good[:4]) == "not a .npy payload (bad magic)"
    assert refusal(good[:6] + b"\x04\x00" + good[8:]) == "unknown .npy version 4.0"
    assert refusal(good[:9]) == "bad header (length 118, at most 4096)"  # one byte of the two-byte length
    header = header_of("<f8", (3,), length=4097)
    assert refusal(v1(header, np.ones(3).tobytes())) == "bad header (length 4097, at most 4096)"
    assert refusal(v1(header_of("<f8", (1,), length=100), np.ones(1).tobytes()), size=50) == (
        "bad header: 100 bytes do not fit in a 50-byte payload"
    )
    assert refusal(good + b"\x00" * 8) == f"{len(good) + 8} bytes where the header implies {len(good)}"
    assert refusal(npy(np.array([1j]))) == "dtype complex128 is not a plain numeric dtype"
    assert refusal(npy(np.ones((1,) * 9))) == f"shape {(1,) * 9} refused"
    assert refusal(npy(np.array([True]))[:-1] + b"\x02") == "a boolean array holding bytes other than 0 and 1"
    assert refusal(v1(header_of("<f8", (0, 2**31, 2**31, 2**31)))).startswith(
        f"shape {(0, 2**31, 2**31, 2**31)} refused ("
    )
    assert refusal(v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)\n", b"\0" * 8)).startswith(
        "bad header ("
    )


def test_a_link_planted_again_after_the_unlink_is_not_written_through(folder, tmp_path_factory, monkeypatch):
    path, fd = folder
    target = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    target.write_text("intact")
    os.symlink(target, path / "in.npy")
    # the child wins the race: its link is back when the parent opens the name
    monkeypatch.setattr(npyfile.os, "unlink", lambda name, dir_fd: None)
    with pytest.raises(OSError):
        write_npy(fd, "in.npy", np.zeros(2))
    assert target.read_text() == "intact"
