"""Locate, verify, download and parse the MNIST-family data sets used for grading.

This module is trusted grader code. It depends only on the standard library and
NumPy and has no package-relative imports, so it can be imported on its own.

The data sets are the four IDX files of MNIST and Fashion-MNIST, gzipped, as
published by their authors. A data set is looked for, in this order, in

1. an explicit directory (``data_dir`` / ``--data-dir``), which may be the data
   set's folder itself or a parent holding ``<name>/``;
2. the directory named by the environment variable ``AUTOGRADER_DATA`` (same
   two layouts);
3. the per-user cache ``$XDG_CACHE_HOME/autograder/datasets/<name>/`` (by
   default ``~/.cache/autograder/datasets/<name>/``).

If it is found nowhere and downloading is allowed, the missing files are
fetched from the official mirrors into the cache, checked against their
published MD5 and written atomically.

Local files whose checksum differs from the published one are *not* rejected:
a reduced training subset (such as a 5,000-image MNIST subset used for CI) is a
legitimate input. Every file is instead checked for a valid IDX structure
(magic number, dimensions, exact byte count, image and label counts agree,
labels in range) and reported with its SHA-256 and whether it is the official
file. A file counts as official when the MD5 of the file matches the published
MD5 of the gzip archive, or when the MD5 of its decompressed content matches
the published MD5 of the raw IDX file (redistributions such as Debian's
recompress the archives, which changes the archive checksum but not the data).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import sys
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, NamedTuple

import numpy as np

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "MAX_IDX_BYTES",
    "OFFLINE_VAR",
    "Dataset",
    "DatasetUnavailable",
    "FileRecord",
    "IDXFormatError",
    "RemoteFile",
    "cache_dir",
    "download_allowed",
    "download_dataset",
    "find_data_dir",
    "load",
    "parse_idx",
    "read_idx",
    "scale",
]

#: Environment variable naming a directory that holds the data sets.
ENV_VAR = "AUTOGRADER_DATA"

#: Environment variable that, set to a non-empty value other than ``0``,
#: forbids downloading: a grading machine (or a test) that must use only the
#: data it was given.
OFFLINE_VAR = "AUTOGRADER_OFFLINE"

#: Upper bound, in bytes, for one IDX file, decompressed or stored, and for one
#: download. The largest file in use (Fashion-MNIST training images) is
#: 47,040,016 bytes decompressed.
MAX_IDX_BYTES = 64 * 2**20

#: Seconds to wait for a mirror to answer before trying the next one.
DOWNLOAD_TIMEOUT = 30.0

IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension
IMAGE_SIDE = 28
NUM_CLASSES = 10

Role = Literal["train_images", "train_labels", "test_images", "test_labels"]
ROLES: tuple[Role, ...] = ("train_images", "train_labels", "test_images", "test_labels")


class IDXFormatError(ValueError):
    """A file is not a structurally valid IDX file of the expected kind."""


class DatasetUnavailable(RuntimeError):
    """A data set could not be found locally nor downloaded."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file of a data set.

    Attributes
    ----------
    role : str
        One of ``"train_images"``, ``"train_labels"``, ``"test_images"``,
        ``"test_labels"``.
    filename : str
        File name as published, e.g. ``"t10k-images-idx3-ubyte.gz"``.
    urls : tuple of str
        Download URLs, tried in order (one per official mirror).
    md5 : str
        Published MD5 (hex) of the gzip archive.
    content_md5 : str or None
        Published MD5 (hex) of the decompressed IDX file, if known.
    """

    role: Role
    filename: str
    urls: tuple[str, ...]
    md5: str
    content_md5: str | None = None

    @property
    def raw_filename(self) -> str:
        """Name of the decompressed file (the archive name without ``.gz``)."""
        return self.filename.removesuffix(".gz")


def _files(
    mirrors: tuple[str, ...], checksums: Mapping[Role, tuple[str, str, str]]
) -> dict[Role, RemoteFile]:
    return {
        role: RemoteFile(role, name, tuple(m + name for m in mirrors), md5, raw_md5)
        for role, (name, md5, raw_md5) in checksums.items()
    }


MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

#: Data set name -> role -> published file. Archive MD5s are those published by
#: torchvision (MNIST) and by Zalando Research (Fashion-MNIST); the content MD5s
#: are those of the decompressed official files.
DATASETS: dict[str, dict[Role, RemoteFile]] = {
    "mnist": _files(
        MNIST_MIRRORS,
        {
            "train_images": (
                "train-images-idx3-ubyte.gz",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "6bbc9ace898e44ae57da46a324031adb",
            ),
            "train_labels": (
                "train-labels-idx1-ubyte.gz",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "a25bea736e30d166cdddb491f175f624",
            ),
            "test_images": (
                "t10k-images-idx3-ubyte.gz",
                "9fb629c4189551a2d022fa330f9573f3",
                "2646ac647ad5339dbf082846283269ea",
            ),
            "test_labels": (
                "t10k-labels-idx1-ubyte.gz",
                "ec29112dd5afa0611ce80d1b7f02629c",
                "27ae3e4e09519cfbb04c329615203637",
            ),
        },
    ),
    "fashion-mnist": _files(
        FASHION_MNIST_MIRRORS,
        {
            "train_images": (
                "train-images-idx3-ubyte.gz",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            ),
            "train_labels": (
                "train-labels-idx1-ubyte.gz",
                "25c81989df183df01b3e8a0aad5dffbe",
                "9018921c3c673c538a1fc5bad174d6f9",
            ),
            "test_images": (
                "t10k-images-idx3-ubyte.gz",
                "bef4ecab320f06d8554ea6380940ec79",
                "8181f5470baa50b63fa0f6fddb340f0a",
            ),
            "test_labels": (
                "t10k-labels-idx1-ubyte.gz",
                "bb300cfdad3c16e7a12a480ee83cd310",
                "15d484375f8d13e6eb1aabb0c3f46965",
            ),
        },
    ),
}


class FileRecord(NamedTuple):
    """What was loaded from one file, for the grading report.

    The first three fields are ``(filename, samples, sha256)``.

    Attributes
    ----------
    filename : str
        File name as found on disk.
    samples : int
        Number of images or labels in the file.
    sha256 : str
        SHA-256 (hex) of the file as stored.
    official : bool
        Whether the file is the official published one (see ``evidence``).
    evidence : str
        ``"archive md5"`` if the file's MD5 equals the published archive MD5,
        ``"content md5"`` if the decompressed content's MD5 equals the published
        one, ``""`` if neither (e.g. a subset).
    md5 : str
        MD5 (hex) of the file as stored.
    """

    filename: str
    samples: int
    sha256: str
    official: bool
    evidence: str
    md5: str


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set, with raw pixel values.

    Attributes
    ----------
    name : str
        Data set name, a key of `DATASETS`.
    x_train : ndarray of shape (N_train, 784), dtype uint8
        Training images, flattened row-major, pixel values 0..255.
    y_train : ndarray of shape (N_train,), dtype int64
        Training labels in 0..9.
    x_test : ndarray of shape (N_test, 784), dtype uint8
        Test images.
    y_test : ndarray of shape (N_test,), dtype int64
        Test labels in 0..9.
    files : tuple of FileRecord
        One record per file, in the order train images, train labels, test
        images, test labels.
    data_dir : Path
        Directory the files were read from.

    Notes
    -----
    All arrays are read-only.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    files: tuple[FileRecord, ...]
    data_dir: Path

    @property
    def official(self) -> bool:
        """Whether every file is the official published one."""
        return all(record.official for record in self.files)

    def scaled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the data with images as float64 in [0, 1].

        Returns
        -------
        x_train : ndarray of shape (N_train, 784), dtype float64
            Training images divided by 255.
        y_train : ndarray of shape (N_train,), dtype int64
            Training labels.
        x_test : ndarray of shape (N_test, 784), dtype float64
            Test images divided by 255.
        y_test : ndarray of shape (N_test,), dtype int64
            Test labels.
        """
        return scale(self.x_train), self.y_train, scale(self.x_test), self.y_test


def scale(images: np.ndarray) -> np.ndarray:
    """Convert uint8 pixel values to float64 in [0, 1].

    Parameters
    ----------
    images : ndarray of dtype uint8
        Pixel values 0..255, any shape.

    Returns
    -------
    ndarray of dtype float64
        ``images / 255``, same shape.
    """
    scaled = images.astype(np.float64)
    scaled /= 255.0  # in place: one new array, not two
    return scaled


# --------------------------------------------------------------------------- parsing


def parse_idx(data: bytes, kind: Literal["images", "labels"]) -> np.ndarray:
    """Parse the bytes of an uncompressed IDX file, strictly.

    Parameters
    ----------
    data : bytes
        The whole decompressed file.
    kind : {"images", "labels"}
        Expected content: images need magic ``0x00000803`` (unsigned bytes,
        3 dimensions), labels magic ``0x00000801`` (unsigned bytes, 1 dimension).

    Returns
    -------
    ndarray
        ``(N, rows, cols)`` uint8 for images, ``(N,)`` uint8 for labels. The
        array is a read-only view on ``data``.

    Raises
    ------
    IDXFormatError
        If the magic number is wrong, a dimension is zero or the length of
        ``data`` is not exactly header plus ``prod(dims)`` bytes.
    """
    if kind == "images":
        magic, ndim = IMAGE_MAGIC, 3
    elif kind == "labels":
        magic, ndim = LABEL_MAGIC, 1
    else:
        raise ValueError(f"kind must be 'images' or 'labels', not {kind!r}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(f"IDX {kind} file too short for its header: {len(data)} bytes")
    found = int.from_bytes(data[0:4], "big")
    if found != magic:
        raise IDXFormatError(f"bad IDX magic number 0x{found:08x} for {kind} (expected 0x{magic:08x})")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if 0 in dims:
        raise IDXFormatError(f"IDX {kind} file has a zero dimension: {dims}")
    expected = header + math.prod(dims)
    if len(data) != expected:
        raise IDXFormatError(
            f"IDX {kind} file with dimensions {dims} must be {expected} bytes, "
            f"found {len(data)} ({'truncated' if len(data) < expected else 'trailing data'})"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_capped(stream: IO[bytes], what: str) -> bytes:
    data = stream.read(MAX_IDX_BYTES + 1)
    if len(data) > MAX_IDX_BYTES:
        raise IDXFormatError(f"{what} is larger than the {MAX_IDX_BYTES}-byte limit")
    return data


def _decompress(raw: bytes, what: str) -> bytes:
    """Decompress gzip data, reading at most ``MAX_IDX_BYTES + 1`` bytes of output."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            return _read_capped(stream, f"{what} (decompressed)")
    except (OSError, EOFError) as exc:  # BadGzipFile, bad CRC, truncated stream
        raise IDXFormatError(f"{what}: invalid gzip data ({exc})") from exc


def _read_file(path: Path) -> tuple[bytes, bytes]:
    """Return ``(stored bytes, decompressed bytes)`` of an IDX file, gzipped or not."""
    if path.stat().st_size > MAX_IDX_BYTES:
        raise IDXFormatError(f"{path} is larger than the {MAX_IDX_BYTES}-byte limit")
    with path.open("rb") as stream:
        raw = _read_capped(stream, str(path))
    if raw[:2] == b"\x1f\x8b":
        return raw, _decompress(raw, str(path))
    if path.suffix == ".gz":
        raise IDXFormatError(f"{path} is named .gz but is not gzip data")
    return raw, raw


def read_idx(path: str | os.PathLike[str], kind: Literal["images", "labels"]) -> np.ndarray:
    """Read an IDX file from disk, gzipped (detected by its magic bytes) or not.

    Parameters
    ----------
    path : str or PathLike
        The file.
    kind : {"images", "labels"}
        Expected content, see `parse_idx`.

    Returns
    -------
    ndarray
        ``(N, rows, cols)`` uint8 for images, ``(N,)`` uint8 for labels.

    Raises
    ------
    IDXFormatError
        If the file is not valid gzip or IDX data, or exceeds `MAX_IDX_BYTES`.
    """
    _, data = _read_file(Path(path))
    return parse_idx(data, kind)


# --------------------------------------------------------------------------- locating


def cache_dir() -> Path:
    """Return the per-user cache directory for data sets.

    Returns
    -------
    Path
        ``$XDG_CACHE_HOME/autograder/datasets`` if ``XDG_CACHE_HOME`` is set and
        non-empty, else ``~/.cache/autograder/datasets``. It may not exist.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autograder" / "datasets"


def _spec(name: str) -> dict[Role, RemoteFile]:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise ValueError(f"unknown data set {name!r} (known: {known})") from None


def _locate_file(folder: Path, remote: RemoteFile) -> Path | None:
    for candidate in (folder / remote.filename, folder / remote.raw_filename):
        if candidate.is_file():
            return candidate
    return None


def _holds(folder: Path, name: str) -> bool:
    return folder.is_dir() and all(
        _locate_file(folder, remote) is not None for remote in _spec(name).values()
    )


def _normalized(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _candidates(name: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    others = {_normalized(other) for other in DATASETS if other != name}
    found: list[Path] = []
    for base in (data_dir, os.environ.get(ENV_VAR) or None):
        if base is not None:
            base = Path(base).expanduser()
            found.append(base / name)
            # The files of MNIST and Fashion-MNIST have the same names: a folder
            # named after another data set is not this one.
            if _normalized(base.name) not in others:
                found.append(base)
    found.append(cache_dir() / name)
    return found


def find_data_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """Find the directory holding all four files of a data set.

    Parameters
    ----------
    name : str
        Data set name, a key of `DATASETS` (``"mnist"``, ``"fashion-mnist"``).
    data_dir : str or PathLike, optional
        Explicit directory: either the data set's folder or a parent holding
        ``<name>/``. Searched first.

    Returns
    -------
    Path or None
        The first of ``data_dir/<name>``, ``data_dir``,
        ``$AUTOGRADER_DATA/<name>``, ``$AUTOGRADER_DATA``, ``cache_dir()/<name>``
        that holds the four files (each gzipped or decompressed), or None.

    Notes
    -----
    MNIST and Fashion-MNIST use the same file names, so a directory whose own
    name is that of another data set (compared ignoring case and punctuation,
    e.g. ``mnist`` when looking for ``"fashion-mnist"``) is not taken as the
    data set's folder.
    """
    _spec(name)
    for folder in _candidates(name, data_dir):
        if _holds(folder, name):
            return folder
    return None


# --------------------------------------------------------------------------- downloading


class _Progress:
    """Download progress on stderr: a bar on a TTY, plain percentage lines otherwise."""

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.done = 0
        self.tty = enabled and sys.stderr.isatty()
        self.last_step = -1

    def update(self, nbytes: int) -> None:
        self.done += nbytes
        if not self.enabled:
            return
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            if self.tty:
                filled = int(30 * fraction)
                sys.stderr.write(
                    f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                    f"{100 * fraction:5.1f}% {self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB"
                )
                sys.stderr.flush()
            elif (step := int(10 * fraction)) > self.last_step:
                self.last_step = step
                print(f"{self.label}: {10 * step}%", file=sys.stderr, flush=True)
        elif self.tty:
            sys.stderr.write(f"\r{self.label}: {self.done / 1e6:.1f} MB")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write("\n")
        elif not self.total:
            print(f"{self.label}: {self.done / 1e6:.1f} MB", file=sys.stderr)
        sys.stderr.flush()


def _fetch(url: str, dest: Path, md5: str, progress: bool) -> None:
    """Download ``url`` to ``dest`` atomically if its MD5 is ``md5``; raise otherwise."""
    from urllib.request import urlopen  # with http.client, ssl, email: 17 ms only a download needs

    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"refusing non-HTTP URL {url!r}")
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with (
            os.fdopen(fd, "wb") as out,
            urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
        ):
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if total is not None and total > MAX_IDX_BYTES:
                raise OSError(f"{url} announces {total} bytes, over the limit")
            bar = _Progress(dest.name, total, progress)
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > MAX_IDX_BYTES:
                    raise OSError(f"{url} sent more than {MAX_IDX_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
            bar.close()
            out.flush()
            os.fsync(out.fileno())
        if total is not None and size != total:
            raise OSError(f"{url}: received {size} of {total} bytes")
        if digest.hexdigest() != md5:
            raise OSError(f"{url}: MD5 {digest.hexdigest()} does not match published {md5}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _unavailable_message(name: str, data_dir: str | os.PathLike[str] | None, why: str) -> str:
    remotes = _spec(name).values()
    looked = "\n".join(f"  - {p}" for p in _candidates(name, data_dir))
    urls = "\n".join(f"  - {url}" for r in remotes for url in r.urls)
    files = ", ".join(r.filename for r in remotes)
    return (
        f"data set {name!r} is not available: {why}\n"
        f"Looked for its four files ({files}) in:\n{looked}\n"
        "Provide the data in one of these ways:\n"
        "  - pass --data-dir DIR (data_dir=DIR), DIR holding the four files "
        f"or a folder {name}/ with them;\n"
        f"  - set the environment variable {ENV_VAR}=DIR (same layouts);\n"
        f"  - put the files in the cache folder {cache_dir() / name};\n"
        f"  - or run `autograder data fetch {name}` on a machine with internet access\n"
        f"    (and {OFFLINE_VAR} unset).\n"
        f"The official files are published at:\n{urls}"
    )


def download_allowed() -> bool:
    """Whether downloading is allowed (``AUTOGRADER_OFFLINE`` unset, empty or ``0``)."""
    return os.environ.get(OFFLINE_VAR, "") in ("", "0")


def download_dataset(name: str, progress: bool = True, into: Path | None = None) -> Path:
    """Download the missing files of a data set into the per-user cache.

    Each missing file is fetched from its mirrors in order; the first response
    whose MD5 equals the published one is written atomically (temporary file,
    then `os.replace`). Files already in the cache are kept.

    Parameters
    ----------
    name : str
        Data set name, a key of `DATASETS`.
    progress : bool, default True
        Print download progress to stderr (a bar on a TTY, percentage lines
        otherwise).
    into : Path, optional
        Parent folder of the data set's folder; ``cache_dir()`` by default.

    Returns
    -------
    Path
        ``into/<name>``, now holding the four files.

    Raises
    ------
    DatasetUnavailable
        If downloading is forbidden (``AUTOGRADER_OFFLINE``) or a file could be
        downloaded from none of its mirrors.
    """
    import http.client  # only a download needs it (see _fetch)

    if not download_allowed():
        why = f"its files were not found, and downloading is off ({OFFLINE_VAR} is set)"
        raise DatasetUnavailable(_unavailable_message(name, None, why))
    folder = (into or cache_dir()) / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetUnavailable(
            _unavailable_message(name, None, f"cannot create the cache folder {folder}: {exc}")
        ) from None
    for remote in _spec(name).values():
        if _locate_file(folder, remote) is not None:
            continue
        errors: list[str] = []
        for url in remote.urls:
            try:
                _fetch(url, folder / remote.filename, remote.md5, progress)
                break
            # URLError, HTTPError and timeouts are OSErrors; a connection cut
            # mid-body raises http.client.IncompleteRead, an HTTPException.
            except (OSError, ValueError, http.client.HTTPException) as exc:
                errors.append(f"{url}: {exc}")
        else:
            why = f"could not download {remote.filename}:\n" + "\n".join(f"    {e}" for e in errors)
            raise DatasetUnavailable(_unavailable_message(name, None, why))
    return folder


# --------------------------------------------------------------------------- loading


LOADED_FILES = 8
"""Files whose arrays a process keeps (two datasets hold eight): the kNN and MLP
exercises of one grading read each file once (about 40 ms of decompression
per dataset)."""


def _version(path: Path) -> str:
    """What identifies the file's content: its real path, inode, size, and
    modification and change times (the change time cannot be set back by anyone)."""
    info = path.stat()
    return f"{path.resolve()}|{info.st_ino}|{info.st_size}|{info.st_mtime_ns}|{info.st_ctime_ns}"


@functools.lru_cache(maxsize=LOADED_FILES)
def _load_version(path: Path, remote: RemoteFile, version: str) -> tuple[np.ndarray, FileRecord]:
    """`_load_file` of one version of the file (the array is read-only: it is shared)."""
    return _read_and_check(path, remote)


def _load_file(path: Path, remote: RemoteFile) -> tuple[np.ndarray, FileRecord]:
    """The file's array and record, read once per version of the file in this process."""
    return _load_version(path, remote, _version(path))


def _read_and_check(path: Path, remote: RemoteFile) -> tuple[np.ndarray, FileRecord]:
    """Read, parse and check one file of ``remote``'s role: its array and record."""
    raw, data = _read_file(path)
    kind: Literal["images", "labels"] = "images" if remote.role.endswith("images") else "labels"
    try:
        array = parse_idx(data, kind)
    except IDXFormatError as exc:
        raise IDXFormatError(f"{path}: {exc}") from None
    if kind == "images" and array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise IDXFormatError(f"{path}: images are {array.shape[1:]}, expected 28x28")
    if kind == "labels" and array.max() >= NUM_CLASSES:
        raise IDXFormatError(f"{path}: label {array.max()} out of range 0..9")
    sums = _checksums(path, raw, data)
    if sums["md5"] == remote.md5:
        evidence = "archive md5"
    elif remote.content_md5 is not None and sums["content_md5"] == remote.content_md5:
        evidence = "content md5"
    else:
        evidence = ""
        _refuse_other_dataset(path, remote, sums["md5"], sums["content_md5"])
    record = FileRecord(
        filename=path.name,
        samples=int(array.shape[0]),
        sha256=sums["sha256"],
        official=bool(evidence),
        evidence=evidence,
        md5=sums["md5"],
    )
    return array, record


CHECKSUM_CACHE = "dataset-checksums.json"
"""Trusted cache (``sandbox.trusted_cache``) of the files' checksums."""

CHECKSUM_CACHE_ENTRIES = 64
"""Files remembered; the oldest entries go first (two datasets hold eight files)."""


def _checksums(path: Path, raw: bytes, data: bytes) -> dict[str, str]:
    """MD5 and SHA-256 of the stored bytes and MD5 of the content, computed once per file version.

    The version is `_version`; the hashes are kept in a cache only the
    grader's user can write (``sandbox.trusted_cache``).
    """
    from autograder.sandbox import trusted_cache

    key = _version(path)
    known = trusted_cache.read(CHECKSUM_CACHE)
    sums = known.get(key)
    if isinstance(sums, dict) and all(isinstance(sums.get(k), str) for k in ("md5", "sha256", "content_md5")):
        return sums
    sums = {
        "md5": hashlib.md5(raw, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "content_md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
    }
    kept = list(known.items())[-(CHECKSUM_CACHE_ENTRIES - 1) :]
    trusted_cache.write(CHECKSUM_CACHE, {**dict(kept), key: sums})
    return sums


def _refuse_other_dataset(path: Path, remote: RemoteFile, md5: str, content_md5: str) -> None:
    """Raise if a file is the official file of another data set or role."""
    for other_name, files in DATASETS.items():
        for other in files.values():
            if other is not remote and (md5 == other.md5 or content_md5 == other.content_md5):
                raise IDXFormatError(
                    f"{path} is the official {other.filename} of {other_name!r}, "
                    f"not the {remote.filename} expected here"
                )


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def load(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
    progress: bool = True,
) -> Dataset:
    """Load a data set, locating (and optionally downloading) its files.

    Parameters
    ----------
    name : str
        Data set name, a key of `DATASETS` (``"mnist"``, ``"fashion-mnist"``).
    data_dir : str or PathLike, optional
        Explicit directory searched first, see `find_data_dir`.
    download : bool, default False
        If the data set is found nowhere, download it into the cache.
    progress : bool, default True
        Show download progress on stderr.

    Returns
    -------
    Dataset
        Raw images (uint8, flattened to 784 columns), int64 labels and one
        `FileRecord` per file.

    Raises
    ------
    DatasetUnavailable
        If the files are found nowhere and downloading is off or fails.
    IDXFormatError
        If a file is not a structurally valid IDX file, or the image and label
        counts of a split differ. A checksum that differs from the published
        one is not an error (see `FileRecord.official`).
    """
    remotes = _spec(name)
    folder = find_data_dir(name, data_dir)
    if folder is None:
        if not download or not download_allowed():
            off = f", and downloading is off ({OFFLINE_VAR} is set)" if download else ""
            raise DatasetUnavailable(_unavailable_message(name, data_dir, f"its files were not found{off}"))
        folder = download_dataset(name, progress=progress)
    arrays: dict[Role, np.ndarray] = {}
    records: list[FileRecord] = []
    for role in ROLES:
        path = _locate_file(folder, remotes[role])
        if path is None:  # removed between locating and reading
            raise DatasetUnavailable(
                _unavailable_message(name, data_dir, f"{remotes[role].filename} vanished")
            )
        arrays[role], record = _load_file(path, remotes[role])
        records.append(record)
    pairs: tuple[tuple[str, Role, Role], ...] = (
        ("train", "train_images", "train_labels"),
        ("test", "test_images", "test_labels"),
    )
    for split, images, labels in pairs:
        n_images, n_labels = arrays[images].shape[0], arrays[labels].shape[0]
        if n_images != n_labels:
            raise IDXFormatError(f"{folder}: {split} split has {n_images} images but {n_labels} labels")
    return Dataset(
        name=name,
        x_train=_readonly(arrays["train_images"].reshape(-1, IMAGE_SIDE * IMAGE_SIDE)),
        y_train=_readonly(arrays["train_labels"].astype(np.int64)),
        x_test=_readonly(arrays["test_images"].reshape(-1, IMAGE_SIDE * IMAGE_SIDE)),
        y_test=_readonly(arrays["test_labels"].astype(np.int64)),
        files=tuple(records),
        data_dir=folder,
    )
