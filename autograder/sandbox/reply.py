"""The grader's side of the reply channel: parse what the child sends back.

Everything here is data from untrusted code. One reply answers one request:

- a header: one JSON object on one line of at most ``REPLY_MAX_BYTES``,
  checked against a strict schema (exact keys, types, string and list
  lengths, tree depth, the request's id, banned names the exercise bans);
- when its status is ``"ok"``, ``len(sizes)`` result payloads follow on the
  same pipe, payload ``k`` exactly ``sizes[k]`` bytes: a ``.npy`` of a plain
  numeric dtype (``npyfile.read_array``). Their sum must fit the call's byte
  budget before any is read, and the tree refers to each payload exactly once,
  in order, so the grader never holds more than the budget per reply.

No result file exists, so there is nothing the child could change, swap or
link after it was checked. ``parse_reply`` is a pure function of a byte
source, fuzzed without a child; every malformation raises ``Malformed``,
which the caller turns into the student's ``invalid output``.
"""

from __future__ import annotations

import json
import os
import select
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.sandbox import limits as sandbox_limits
from autograder.sandbox.npyfile import BadArrayFile, read_array

MAX_TREE_DEPTH = 4
"""Nesting of a result: ``(loss, dW)`` is depth 1, ``(next_w, {"m": ...})``
depth 2; four leaves room for any exercise's return value."""

MAX_TEXT_CHARS = 1024
"""Longest text field of a reply: the harness cuts an exception message at
400 characters and may add a 150-character note about refused syscalls."""

MAX_NAME_CHARS = 128
"""Longest exception type name, dict key, banned package or source location."""

FAULT_STATUSES = frozenset({"missing", "not_implemented", "error", "memory", "invalid", "banned", "exit"})
"""Statuses of a reply reporting that student code did not give a result."""

CHUNK_BYTES = 65536
"""Bytes read from the pipe at a time while looking for the end of a header."""

_REQUIRED = {
    "ready": {"id", "status", "banned"},
    "ok": {"id", "status", "banned", "tree", "sizes"},
    "fault": {"id", "status", "banned", "message"},
}
_OPTIONAL = {"ready": set(), "ok": set(), "fault": {"type", "where", "phase"}}


class Malformed(Exception):
    """The reply is not one the harness sends: student code wrote to the channel."""


class ChannelClosed(Exception):
    """The child closed its end of the reply pipe (it exited or closed it)."""


class ChannelTimeout(Exception):
    """No complete reply within the time allowed."""


@dataclass(frozen=True)
class Reply:
    """A header that passed the schema.

    Attributes
    ----------
    status : str
        ``"ready"``, ``"ok"`` or one of ``FAULT_STATUSES``.
    banned : tuple of str
        Banned packages student code tried to import.
    tree : list or None
        Shape of the result (``"ok"`` only).
    sizes : tuple of int
        Byte size of each result payload (``"ok"`` only).
    message, type, where : str
        What went wrong (faults only).
    """

    status: str
    banned: tuple[str, ...]
    tree: Any = None
    sizes: tuple[int, ...] = ()
    message: str = ""
    type: str = ""
    where: str = ""


class BytesReader:
    """A byte source over a ``bytes`` object (tests and fuzzing)."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.position = 0

    def readline(self, limit: int) -> bytes:
        """The next line, newline excluded; ``Malformed`` past ``limit`` bytes."""
        end = bytes(self.data[self.position : self.position + limit + 1]).find(b"\n")
        if end < 0:
            if len(self.data) - self.position > limit:
                raise Malformed(f"a header longer than {limit} bytes")
            raise ChannelClosed
        line = bytes(self.data[self.position : self.position + end])
        self.position += end + 1
        return line

    def read(self, count: int) -> bytes:
        """Exactly ``count`` bytes, or ``ChannelClosed``."""
        if self.position + count > len(self.data):
            raise ChannelClosed
        self.position += count
        return bytes(self.data[self.position - count : self.position])

    def readinto(self, view: memoryview) -> None:
        """Fill ``view``, or ``ChannelClosed``."""
        view[:] = self.read(len(view))

    def pending(self) -> bool:
        """Whether bytes follow the reply read so far."""
        return self.position < len(self.data)


class PipeReader:
    """A byte source over the reply pipe, bounded in time by ``end``.

    Bytes read past a header wait in a buffer of at most ``CHUNK_BYTES``.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.end = 0.0
        self.buffer = b""

    def _wait(self) -> None:
        remaining = self.end - time.monotonic()
        if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
            raise ChannelTimeout

    def _chunk(self, count: int) -> bytes:
        self._wait()
        chunk = os.read(self.fd, count)
        if not chunk:
            raise ChannelClosed
        return chunk

    def readline(self, limit: int) -> bytes:
        """The next line, newline excluded; ``Malformed`` past ``limit`` bytes."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > limit:
                raise Malformed(f"a header longer than {limit} bytes")
            self.buffer += self._chunk(CHUNK_BYTES)
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > limit:
            raise Malformed(f"a header longer than {limit} bytes")
        return line

    def read(self, count: int) -> bytes:
        """Exactly ``count`` bytes (``count`` is bounded by the caller)."""
        data = bytearray(count)
        self.readinto(memoryview(data))
        return bytes(data)

    def readinto(self, view: memoryview) -> None:
        """Fill ``view``: buffered bytes first, then straight from the pipe."""
        taken = min(len(self.buffer), len(view))
        view[:taken] = self.buffer[:taken]
        self.buffer = self.buffer[taken:]
        while taken < len(view):
            self._wait()
            count = os.readv(self.fd, [view[taken:]])
            if not count:
                raise ChannelClosed
            taken += count

    def pending(self) -> bool:
        """Whether bytes follow the reply read so far (the harness sends none)."""
        return bool(self.buffer) or bool(select.select([self.fd], [], [], 0)[0])


def _reject_constant(name: str) -> None:
    raise Malformed(f"{name} in a header")


def parse_header(line: bytes, request_id: int, banned: frozenset[str]) -> Reply:
    """Check one header line against the schema.

    Parameters
    ----------
    line : bytes
        The header, without its newline.
    request_id : int
        Id of the request it must answer (0 for the start).
    banned : frozenset of str
        The packages the exercise bans: the only names ``banned`` may hold.

    Raises
    ------
    Malformed
        Anything the harness does not send.
    """
    try:
        header = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise Malformed(f"a header that is not JSON ({type(error).__name__})") from None
    if not isinstance(header, dict):
        raise Malformed("a header that is not a JSON object")
    status = header.get("status")
    if not isinstance(status, str):
        raise Malformed(f"status {_show(status)} that is not a string")
    kind = "fault" if status in FAULT_STATUSES else status
    if kind not in _REQUIRED or (status == "ready" and request_id) or (status == "ok" and not request_id):
        raise Malformed(f"status {_show(status)} where it cannot be")
    keys = set(header)
    if not _REQUIRED[kind] <= keys <= _REQUIRED[kind] | _OPTIONAL[kind]:
        raise Malformed(f"fields {sorted(keys)} for a reply {_show(status)}")
    if type(header["id"]) is not int or header["id"] != request_id:
        raise Malformed(f"reply id {_show(header['id'])} to request {request_id}")
    names = header["banned"]
    if not isinstance(names, list) or len(names) > len(banned) or not set(map(_hashable, names)) <= banned:
        raise Malformed("banned imports the exercise does not ban")
    fields = {name: _text(header, name, MAX_NAME_CHARS) for name in ("type", "where", "phase")}
    if kind == "fault":
        message = _text(header, "message", MAX_TEXT_CHARS)
        return Reply(status, tuple(names), message=message, type=fields["type"], where=fields["where"])
    if kind == "ready":
        return Reply(status, tuple(names))
    sizes = header["sizes"]
    if not isinstance(sizes, list) or len(sizes) > sandbox_limits.MAX_LEAVES:
        raise Malformed(f"more than {sandbox_limits.MAX_LEAVES} results or sizes that are not a list")
    if not all(type(size) is int and size >= 0 for size in sizes):
        raise Malformed("result sizes that are not byte counts")
    check_tree(header["tree"], len(sizes))
    return Reply(status, tuple(names), tree=header["tree"], sizes=tuple(sizes))


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str) else None


def _text(header: dict[str, Any], name: str, limit: int) -> str:
    value = header.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise Malformed(f"field {name} is not a string of at most {limit} characters")
    return value


def _show(value: Any) -> str:
    """A short, printable rendering of a value from a header (for messages)."""
    return ascii(value)[:40]


def check_tree(tree: Any, count: int) -> None:
    """Check a result tree: ``["none"]``, ``["leaf", k]``, ``["tuple", [...]]``
    or ``["dict", {...}]``, at most ``MAX_TREE_DEPTH`` deep, whose leaves are
    ``0 .. count - 1``, each once, in order."""
    leaves = _walk(tree, 0, 0)
    if leaves != count:
        raise Malformed(f"a tree of {leaves} results for {count} payloads")


def _walk(tree: Any, depth: int, seen: int) -> int:
    """Validate ``tree``; return the number of leaves seen after it."""
    if not isinstance(tree, list) or not tree or depth > MAX_TREE_DEPTH:
        raise Malformed(f"a result tree node that is not a node or deeper than {MAX_TREE_DEPTH}")
    kind = tree[0]
    if kind == "none" and len(tree) == 1:
        return seen
    if kind == "leaf" and len(tree) == 2 and type(tree[1]) is int:
        if tree[1] != seen:
            raise Malformed(f"result {_show(tree[1])} where result {seen} comes (each is used once)")
        return seen + 1
    if kind in ("tuple", "dict") and len(tree) == 2:
        items = tree[1]
        if kind == "tuple" and isinstance(items, list) and len(items) <= sandbox_limits.MAX_LEAVES:
            for item in items:
                seen = _walk(item, depth + 1, seen)
            return seen
        if kind == "dict" and isinstance(items, dict) and len(items) <= sandbox_limits.MAX_LEAVES:
            for key, item in items.items():
                if len(key) > MAX_NAME_CHARS:
                    raise Malformed(f"a dict key longer than {MAX_NAME_CHARS} characters")
                seen = _walk(item, depth + 1, seen)
            return seen
    raise Malformed(f"a result tree node {_show(tree)}")


def result_budget(input_bytes: int, result_bytes: int | None = None) -> int:
    """Bytes the results of one call may take in all.

    ``result_bytes`` when the caller knows the output's size, else
    ``RESULT_FLOOR_BYTES`` plus ``RESULT_INPUT_FACTOR`` times the inputs'
    bytes; never more than ``RESULT_MAX_BYTES``.
    """
    if result_bytes is None:
        result_bytes = sandbox_limits.RESULT_FLOOR_BYTES + sandbox_limits.RESULT_INPUT_FACTOR * input_bytes
    return min(result_bytes, sandbox_limits.RESULT_MAX_BYTES)


def read_results(reader: Any, reply: Reply, budget: int) -> Any:
    """Read the payloads of an ``"ok"`` reply and rebuild its value.

    Raises
    ------
    Malformed
        Payloads over ``budget`` in all, or one that is not a plain numeric array.
    """
    total = sum(reply.sizes)
    if total > budget:
        raise Malformed(f"results of {total} bytes, more than this call's budget of {budget}")
    arrays = []
    for size in reply.sizes:
        try:
            arrays.append(read_array(reader, size))
        except BadArrayFile as error:
            raise Malformed(f"unreadable result: {error}") from None
    return _build(reply.tree, iter(arrays))


def _build(tree: list[Any], arrays: Any) -> Any:
    kind = tree[0]
    if kind == "none":
        return None
    if kind == "leaf":
        return next(arrays)
    if kind == "tuple":
        return tuple(_build(item, arrays) for item in tree[1])
    return {key: _build(item, arrays) for key, item in tree[1].items()}


def parse_reply(reader: Any, request_id: int, banned: frozenset[str], budget: int) -> tuple[Reply, Any]:
    """Read one whole reply from ``reader``: its header and, if ``"ok"``, its value.

    Parameters
    ----------
    reader : BytesReader or PipeReader
        The byte source.
    request_id : int
        The request it answers.
    banned : frozenset of str
        Packages the exercise bans.
    budget : int
        Bytes the results may take in all (``result_budget``).

    Returns
    -------
    (Reply, value)
        The header and the rebuilt value (None unless ``"ok"``).

    Raises
    ------
    Malformed, ChannelClosed, ChannelTimeout
    """
    reply = parse_header(reader.readline(sandbox_limits.REPLY_MAX_BYTES), request_id, banned)
    value = read_results(reader, reply, budget) if reply.status == "ok" else None
    if reader.pending():
        raise Malformed("bytes after the reply (the harness sends nothing unasked)")
    return reply, value


def array_bytes(value: Any) -> int:
    """Bytes of the arrays inside a request's arguments (for ``result_budget``)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(array_bytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(array_bytes(item) for item in value)
    return 0
