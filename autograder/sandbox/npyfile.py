"""Exchange arrays with the child through ``.npy`` files, safely.

The parent reads only regular files, never through a symbolic link, never a
file with another hard link, relative to a directory descriptor it opened
itself; it checks the header (plain numeric dtype, sane shape) and the file
size before reading any data, and never unpickles.
"""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np

ALLOWED_KINDS = frozenset("biuf")
"""Boolean, signed, unsigned and floating dtypes: nothing else is numeric."""

MAX_HEADER_BYTES = 4096
"""A numeric array's header is under 200 bytes; more is not an honest file."""

MAX_DIMS = 8
"""No exercise returns an array of more than five dimensions."""


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
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


def read_npy(dir_fd: int, name: str, max_bytes: int) -> np.ndarray:
    """Read the plain numeric array ``name`` from the directory ``dir_fd``.

    Parameters
    ----------
    dir_fd : int
        Descriptor of the exchange directory, opened by the parent.
    name : str
        File name inside that directory (no slash).
    max_bytes : int
        Largest file size accepted.

    Returns
    -------
    ndarray
        A base-class, C-contiguous, writable array of a numeric dtype.

    Raises
    ------
    BadArrayFile
        Missing file, link, not a regular file, too large, bad header,
        non-numeric dtype, or a size that does not match the header.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as error:
        raise BadArrayFile(f"{name}: cannot open ({error.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise BadArrayFile(f"{name}: not a plain file")
        if info.st_size > max_bytes:
            raise BadArrayFile(f"{name}: {info.st_size} bytes, more than {max_bytes}")
        shape, dtype = _read_header(handle, name)
        expected = handle.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.st_size != expected:
            raise BadArrayFile(f"{name}: {info.st_size} bytes where the header implies {expected}")
        data = handle.read()
    native = dtype.newbyteorder("=")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(native, copy=True)


def _read_header(handle, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Parse and vet the header of an open ``.npy`` file."""
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
            raise BadArrayFile(f"{name}: unknown .npy version {version}")
    except (ValueError, SyntaxError, OSError) as error:
        raise BadArrayFile(f"{name}: bad header ({error})") from None
    if fortran or dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise BadArrayFile(f"{name}: dtype {dtype} is not a plain numeric dtype")
    if len(shape) > MAX_DIMS or any(dim < 0 for dim in shape):
        raise BadArrayFile(f"{name}: shape {shape} refused")
    return tuple(int(dim) for dim in shape), dtype
