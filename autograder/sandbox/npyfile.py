"""Exchange arrays with the child as ``.npy`` bytes, safely.

Inputs (grader to child) are files written relative to a directory
descriptor the parent opened, never through a link a child planted. Results
(child to grader) are ``.npy`` payloads on the reply pipe (see
``autograder.sandbox.reply``): the parent checks the header (plain numeric
dtype, sane shape, data size equal to the announced size) before reading any
data, reads the data straight into the array, and never unpickles.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from typing import Protocol

import numpy as np

ALLOWED_KINDS = frozenset("biuf")
"""Boolean, signed, unsigned and floating dtypes: nothing else is numeric."""

MAX_HEADER_BYTES = 4096
"""A numeric array's header is under 200 bytes; more is not an honest file."""

MAX_DIMS = 8
"""No exercise returns an array of more than five dimensions."""


MAX_DIM_LENGTH = 2**31
"""Longest axis accepted, even of an empty array: the largest array of any
exercise has 60,000 rows; a longer axis only serves to overflow a product."""

MAGIC = b"\x93NUMPY"
HEADER_LENGTH_BYTES = {(1, 0): 2, (2, 0): 4, (3, 0): 4}
"""Size of the header-length field of each ``.npy`` format version."""


class ArrayReader(Protocol):
    """A bounded byte source: ``read(n)`` returns exactly ``n`` bytes and
    ``readinto(view)`` fills ``view``; both raise when the source ends early."""

    def read(self, count: int) -> bytes: ...

    def readinto(self, view: memoryview) -> None: ...


class BadArrayFile(Exception):
    """A file that is not a plain numeric ``.npy`` array."""


def write_npy(dir_fd: int, name: str, array: np.ndarray) -> None:
    """Write ``array`` as ``name`` in the directory ``dir_fd``.

    A file or link already at that name (planted by the child) is removed
    first, so the parent never writes through a link.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as handle:
        np.save(handle, np.asarray(array, order="C"), allow_pickle=False)  # 0-d stays 0-d


def read_array(reader: ArrayReader, size: int) -> np.ndarray:
    """Read one ``.npy`` payload of exactly ``size`` bytes from ``reader``.

    The header is read first (at most ``MAX_HEADER_BYTES``) and vetted; the
    data then goes straight into an array of the announced shape, so nothing
    beyond ``size`` bytes is ever held and a header that lies about the data's
    size is refused before any data is read.

    Parameters
    ----------
    reader : ArrayReader
        Gives exact byte counts (``read``) and fills buffers (``readinto``).
    size : int
        Bytes the sender announced for this payload.

    Returns
    -------
    ndarray
        A base-class, C-contiguous, writable array of a native numeric dtype.

    Raises
    ------
    BadArrayFile
        Bad magic or header, non-numeric dtype, or a size that does not match
        the header.
    """
    magic = reader.read(min(size, len(MAGIC) + 2))
    if len(magic) < len(MAGIC) + 2 or not magic.startswith(MAGIC):
        raise BadArrayFile("not a .npy payload (bad magic)")
    length_bytes = HEADER_LENGTH_BYTES.get((magic[-2], magic[-1]))
    if length_bytes is None:
        raise BadArrayFile(f"unknown .npy version {magic[-2]}.{magic[-1]}")
    prefix = magic + reader.read(min(length_bytes, size - len(magic)))
    length = int.from_bytes(prefix[len(magic) :], "little")
    if len(prefix) < len(magic) + length_bytes or length > MAX_HEADER_BYTES:
        raise BadArrayFile(f"bad header (length {length}, at most {MAX_HEADER_BYTES})")
    if len(prefix) + length > size:
        raise BadArrayFile(f"bad header: {length} bytes do not fit in a {size}-byte payload")
    shape, dtype = _read_header(io.BytesIO(prefix + reader.read(length)))
    data_bytes = math.prod(shape) * dtype.itemsize
    if len(prefix) + length + data_bytes != size:
        raise BadArrayFile(f"{size} bytes where the header implies {len(prefix) + length + data_bytes}")
    try:
        array = np.empty(shape, dtype)
    except ValueError as error:  # an empty array whose other axes overflow
        raise BadArrayFile(f"shape {shape} refused ({error})") from None
    if data_bytes:
        reader.readinto(memoryview(array.reshape(-1).view(np.uint8)))
    if data_bytes and dtype.kind == "b" and array.view(np.uint8).max() > 1:
        raise BadArrayFile("a boolean array holding bytes other than 0 and 1")
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def _read_header(handle: io.BytesIO) -> tuple[tuple[int, ...], np.dtype]:
    """Parse and vet a ``.npy`` header (magic, length and text)."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                handle, max_header_size=MAX_HEADER_BYTES
            )
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                handle, max_header_size=MAX_HEADER_BYTES
            )
        else:
            raise BadArrayFile(f"unknown .npy version {version}")
    except Exception as error:  # NumPy's parser of crafted text raises many types (TokenError...)
        raise BadArrayFile(f"bad header ({error})") from None
    if fortran or dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise BadArrayFile(f"dtype {dtype} is not a plain numeric dtype")
    if len(shape) > MAX_DIMS or any(not 0 <= dim <= MAX_DIM_LENGTH for dim in shape):
        raise BadArrayFile(f"shape {shape} refused")
    return tuple(int(dim) for dim in shape), dtype
