"""Unpack a submitted zip archive without trusting it.

The whole central directory is vetted before anything is written: a member
whose name is absolute or climbs out with ``..``, a link or special file, an
archive with too many members, or a member compressed suspiciously well (a
zip bomb) refuses the archive. Only the members a submission can use
(``.py`` modules and ``.ipynb`` notebooks) are written, each read with a cap
on its bytes, so a size that lies in the directory gains nothing.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 10_000
"""Most members an archive may hold. A course repository zipped with its
datasets and git history has a few thousand; more only serves to make the
grader spend its time on the listing."""

MAX_EXTRACTED_BYTES = 64 * 1024**2
"""Most bytes written from one archive. Only modules (under 1 MB each) and
notebooks (a few MB with their plots) are written; 64 MB holds dozens."""

MAX_RATIO = 100
"""Largest uncompressed/compressed size ratio of a member of at least
``RATIO_FLOOR_BYTES``. Source and notebooks deflate 3-10x, images and data
barely; a ratio of hundreds is a member built to expand (a zip bomb)."""

RATIO_FLOOR_BYTES = 1024**2
"""Members smaller than this are harmless whatever their ratio (a file of
blank lines compresses 1000x), so the ratio is only judged above it."""

TAKEN_SUFFIXES = (".py", ".ipynb")
"""Members written to disk: what a submission's exercises can come from."""

CHUNK_BYTES = 1024**2


class UnsafeArchive(Exception):
    """The archive is refused; the message says which member and why."""


def extract_zip(archive: Path, destination: Path) -> list[str]:
    """Write the modules and notebooks of ``archive`` under ``destination``.

    Parameters
    ----------
    archive : Path
        The submitted ``.zip``.
    destination : Path
        An empty folder.

    Returns
    -------
    list of str
        Names of the members not written (neither module nor notebook).

    Raises
    ------
    UnsafeArchive
        When the archive is unreadable or breaks one of the limits above.
    """
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            _vet(members)
            return _write(zipped, members, destination)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        EOFError,
    ) as error:  # a bad CRC, corrupt deflate data, a truncated or encrypted member
        raise UnsafeArchive(f"{archive.name} is not a readable zip archive ({error})") from None
    except OSError as error:  # members whose paths collide (a file and a folder of one name)
        raise UnsafeArchive(f"{archive.name} cannot be unpacked: {error}") from None


def member_parts(name: str) -> tuple[str, ...]:
    """The path components of a member name, refusing absolute and climbing names."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise UnsafeArchive(f"member {name!r} has an absolute path")
    parts = tuple(part for part in PurePosixPath(unified).parts if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArchive(f"member {name!r} climbs out of the archive's folder with '..'")
    return parts


def _vet(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise UnsafeArchive(f"the archive holds {len(members)} members; at most {MAX_MEMBERS} are accepted")
    for info in members:
        member_parts(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchive(f"member {info.filename!r} is a symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise UnsafeArchive(f"member {info.filename!r} is not a regular file")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
            raise UnsafeArchive(
                f"member {info.filename!r} expands {ratio:.0f}x ({info.file_size} bytes); "
                f"at most {MAX_RATIO}x is accepted (a zip bomb?)"
            )


def _write(zipped: zipfile.ZipFile, members: list[zipfile.ZipInfo], destination: Path) -> list[str]:
    skipped = []
    budget = MAX_EXTRACTED_BYTES
    for info in members:
        parts = member_parts(info.filename)
        if info.is_dir() or not parts:
            continue
        if not parts[-1].endswith(TAKEN_SUFFIXES) or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
            skipped.append("/".join(parts))
            continue
        target = destination.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            output = target.open("xb")
        except FileExistsError:
            raise UnsafeArchive(f"member {info.filename!r} appears twice") from None
        with output, zipped.open(info) as source:
            while chunk := source.read(CHUNK_BYTES):
                budget -= len(chunk)
                if budget < 0:
                    raise UnsafeArchive(
                        f"the archive's modules and notebooks exceed {MAX_EXTRACTED_BYTES // 1024**2} MB"
                    )
                output.write(chunk)
    return skipped
