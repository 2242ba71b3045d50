"""Trusted harness that runs inside the sandboxed child process.

Started by ``autograder.sandbox.child`` as ``python -I -S harness.py REQ REP``
with two pipe descriptors. It must not import the ``autograder`` package
(which holds reference solutions): it uses the standard library and, once
booted, NumPy from a private site directory holding nothing else.

Protocol: one JSON line per request on REQ. The first request is ``boot``:
apply the resource limits, import NumPy, block banned packages, import the
student module by path. Then each request (with an ``id``) is one operation
on the student's code:

- ``call``: call a function or method; the return value is described by a
  tree of leaves, each leaf one array sent after the reply's header.
- ``new``: construct an instance and keep it under a handle.
- ``get`` / ``set``: read or write an attribute of a handle.
- ``loop``: call a method once per mini-batch of given arrays (training).
- ``each``: call a function once per row of one argument (a numerical
  gradient's points), and stack one element of each result.
- ``seed``: seed NumPy's global generator (student code may draw from it).

Arguments travel as JSON; an array of up to ``INLINE_BYTES`` (in
``autograder.sandbox.child``) as ``{"$array": base64, "dtype", "shape"}``,
a larger one as ``{"$npy": file}`` in the exchange directory. Each reply
on REP is one JSON header line echoing the request's ``id`` (``status``,
``banned``, and ``tree`` with ``sizes`` or ``message``, ``type``,
``where``), then, for ``"ok"``, the result arrays as ``.npy`` bytes,
``sizes[k]`` bytes each, in the order of the tree's leaves: no result file
exists. The grader validates all of it (``autograder.sandbox.reply``).
Student exceptions are reported, never raised.
"""

import base64
import copy
import ctypes
import errno
import importlib.util
import io
import json
import os
import resource
import sys
import traceback

np = None  # NumPy, imported at boot once the limits are in place
MESSAGE_CHARS = 400  # longest exception message sent back
PR_SET_NO_NEW_PRIVS = 38  # from <linux/prctl.h>
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
BPF_INSTRUCTION_BYTES = 8  # struct sock_filter
DENIED_NOTE = (
    " (refused by the sandbox: student code may not start processes or programs, "
    "open sockets, trace, mount or leave its process group)"
)


class Refused(Exception):
    """A return value that is not made of numbers."""


class Missing(Exception):
    """A function, class, method or attribute the module does not define."""


class Blocker:
    """Meta-path finder refusing the packages an exercise bans."""

    def __init__(self, banned):
        self.banned = frozenset(banned)
        self.attempts = []

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.banned:
            self.attempts.append(top)
            raise ImportError(f"{top} may not be used here: only NumPy and the standard library")
        return None


class Harness:
    """State of one child: the student module, its handles, the exchange dir."""

    def __init__(self, boot, blocker):
        self.io_dir = boot["io_dir"]
        self.path = boot["module_path"]
        self.max_leaves = boot["max_leaves"]
        self.max_depth = boot["max_depth"]
        self.text_chars = boot["text_chars"]
        self.name_chars = boot["name_chars"]
        self.blocker = blocker
        self.handles = {}
        self.module = None
        self.filtered = bool(boot.get("seccomp"))

    def import_module(self, name):
        spec = importlib.util.spec_from_file_location(name, self.path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        self.module = module

    def resolve(self, target):
        if target.startswith("$"):
            handle, _, attribute = target[1:].partition(".")
            owner = self.handles[handle]
        else:
            owner, attribute = self.module, target
        try:
            return getattr(owner, attribute)
        except AttributeError:
            raise Missing(attribute) from None

    def decode(self, value):
        if isinstance(value, dict):
            if "$array" in value:
                data = base64.b64decode(value["$array"])
                return np.frombuffer(data, np.dtype(value["dtype"])).reshape(value["shape"]).copy()
            if "$npy" in value:
                path = os.path.join(self.io_dir, value["$npy"])
                return np.load(path, allow_pickle=False)
            if "$handle" in value:
                return self.handles[value["$handle"]]
            return {key: self.decode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        return value

    def encode(self, value, leaves, depth=0):
        """The tree describing ``value``; its arrays are appended to ``leaves``.

        Refuses what the grader would refuse: deeper than ``max_depth``, more
        than ``max_leaves`` items in a tuple or dict, long dict keys.
        """
        if value is None:
            return ["none"]
        nested = isinstance(value, (tuple, dict)) or (
            isinstance(value, list)
            and any(isinstance(item, (tuple, list, dict, np.ndarray)) for item in value)
        )
        if nested and (depth >= self.max_depth or len(value) > self.max_leaves):
            raise Refused(f"containers nested deeper than {self.max_depth} or longer than {self.max_leaves}")
        if isinstance(value, dict):
            for key in value:
                if len(str(key)) > self.name_chars:
                    raise Refused(f"a dict key longer than {self.name_chars} characters")
            return ["dict", {str(key): self.encode(item, leaves, depth + 1) for key, item in value.items()}]
        if nested:
            return ["tuple", [self.encode(item, leaves, depth + 1) for item in value]]
        array = numbers(value)
        if len(leaves) >= self.max_leaves:
            raise Refused(f"more than {self.max_leaves} arrays")
        leaves.append(array)
        return ["leaf", len(leaves) - 1]

    def handle(self, request):
        op = request["op"]
        args = self.decode(request.get("args", []))
        kwargs = self.decode(request.get("kwargs", {}))
        if op == "new":
            self.handles[request["handle"]] = self.resolve(request["target"])(*args, **kwargs)
            return None
        if op == "call":
            return self.keep(self.resolve(request["target"])(*args, **kwargs), request.get("keep"))
        if op == "get":
            return self.resolve(request["target"])
        if op == "set":
            handle, _, attribute = request["target"][1:].partition(".")
            setattr(self.handles[handle], attribute, args[0])
            return None
        if op == "seed":
            np.random.seed(args[0])
            return None
        if op == "loop":
            return self.loop(self.resolve(request["target"]), *args)
        if op == "each":
            return self.each(self.resolve(request["target"]), args, kwargs, request["vary"], request["pick"])
        raise ValueError(f"unknown operation {op!r}")

    def keep(self, result, keep):
        """Keep element ``index`` of a returned tuple here, as handle ``name``.

        A kept element (a layer's cache) never leaves the child; ``None``
        stands in its place in the reply.
        """
        if not keep:
            return result
        index, name = keep
        if not isinstance(result, tuple) or not 0 <= index < len(result):
            raise Refused(f"a {type(result).__name__}, not a tuple with an element {index}")
        self.handles[name] = result[index]
        return (*result[:index], None, *result[index + 1 :])

    def loop(self, method, x, y, order, batch_size):
        """Call ``method(x[batch], y[batch])`` for each batch of each row of
        ``order`` (one row per epoch); return the losses as floats."""
        losses = []
        for epoch in order:
            for start in range(0, len(epoch), batch_size):
                batch = epoch[start : start + batch_size]
                losses.append(float(method(x[batch], y[batch])))
        return np.asarray(losses, dtype=np.float64)

    def each(self, function, args, kwargs, vary, pick):
        """Call ``function`` once per row of ``args[vary]`` (a fresh copy of the row
        in its place, fresh copies of the other arguments, as separate calls
        would get), in order; return element ``pick`` of every result (the
        whole result when ``pick`` is None), stacked: a tuple of results gives
        the tuple of its elements stacked."""
        results, layouts = [], []
        for point in args[vary]:
            before, after = copy.deepcopy(args[:vary]), copy.deepcopy(args[vary + 1 :])
            value = function(*before, point.copy(), *after, **copy.deepcopy(kwargs))
            if pick is not None:
                if not isinstance(value, tuple) or not 0 <= pick < len(value):
                    raise Refused(f"a {type(value).__name__}, not a tuple with an element {pick}")
                value = value[pick]
            if isinstance(value, tuple):
                parts = tuple(numbers(part) for part in value)
                layout = ("tuple", [part.shape for part in parts])
            else:
                parts = numbers(value)
                layout = ("array", parts.shape)
            if layouts and layout != layouts[0]:
                raise Refused(f"results laid out as {layout} at one point and {layouts[0]} at another")
            results.append(parts)
            layouts.append(layout)
        if layouts[0][0] == "tuple":
            return tuple(np.stack([parts[k] for parts in results]) for k in range(len(layouts[0][1])))
        return np.stack(results)

    def where(self, error):
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == self.path]
        return f"{os.path.basename(self.path)}:{frames[-1].lineno}" if frames else ""

    def describe(self, error):
        """Reply fields for an exception raised by (or through) student code."""
        if isinstance(error, Missing):
            return {"status": "missing", "message": text_of(error)[: self.name_chars]}
        if isinstance(error, Refused):
            return {"status": "invalid", "message": text_of(error)[: self.text_chars]}
        if isinstance(error, SyntaxError) and error.filename == self.path:
            where = f"{os.path.basename(self.path)}:{error.lineno}"
            message = text_of(error.msg)[: self.text_chars]
            return {"status": "error", "type": "SyntaxError", "message": message, "where": where}
        kinds = {NotImplementedError: "not_implemented", MemoryError: "memory", SystemExit: "exit"}
        status = next((s for k, s in kinds.items() if isinstance(error, k)), "error")
        if self.blocker.attempts and isinstance(error, ImportError):
            status = "banned"
        message = text_of(error)[:MESSAGE_CHARS]
        if self.filtered and isinstance(error, OSError) and error.errno == errno.EPERM:
            message += DENIED_NOTE
        return {
            "status": status,
            "type": type(error).__name__[: self.name_chars],
            "message": message,
            "where": self.where(error)[: self.name_chars],
        }

    def run(self, request):
        """The reply header to ``request`` and the arrays that follow it."""
        leaves = []
        try:
            tree = self.encode(self.handle(request), leaves)
            payloads = [npy_parts(array) for array in leaves]
            reply = {"status": "ok", "tree": tree, "sizes": [len(h) + d.nbytes for h, d in payloads]}
        except BaseException as error:  # student code may raise anything
            reply, payloads = self.describe(error), []
        reply["id"] = request["id"]
        reply["banned"] = sorted(set(self.blocker.attempts))
        return reply, payloads


def numbers(value):
    """``value`` as a new array of numbers, or ``Refused``."""
    array = np.array(value, copy=True, order="C")
    if array.dtype.kind not in "biuf":
        raise Refused(f"a {type(value).__name__} holding {array.dtype}, not numbers")
    return array


def text_of(value):
    """``str(value)``, whatever student code made of ``__str__`` (one that raises,
    or returns something other than a string, must not end the harness)."""
    try:
        text = str(value)
    except BaseException:  # student code may raise anything
        return f"<{type(value).__name__} whose str() raised>"
    return text if type(text) is str else f"<{type(value).__name__} whose str() is not text>"


def apply_limits(limits):
    pairs = {
        resource.RLIMIT_AS: limits["memory_bytes"],
        resource.RLIMIT_CPU: limits["cpu_seconds"],
        resource.RLIMIT_FSIZE: limits["file_bytes"],
        resource.RLIMIT_CORE: 0,
    }
    if limits.get("processes"):
        pairs[resource.RLIMIT_NPROC] = limits["processes"]
    for which, value in pairs.items():
        resource.setrlimit(which, (value, value))


class SockFprog(ctypes.Structure):
    """``struct sock_fprog``: a BPF program for ``PR_SET_SECCOMP``."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_filter(program_hex):
    """Load the parent's compiled seccomp filter; from now on it binds this
    process and every thread it starts. Called while single-threaded."""
    program = bytes.fromhex(program_hex)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // BPF_INSTRUCTION_BYTES, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def npy_parts(array):
    """The ``.npy`` header of a C-ordered ``array`` and a byte view of its data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    return header.getvalue(), memoryview(array.reshape(-1).view(np.uint8))


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def send(fd, reply, payloads=()):
    """Write one reply: its JSON header line, then each array's bytes."""
    write_all(fd, (json.dumps(reply) + "\n").encode())
    for header, data in payloads:
        write_all(fd, header)
        write_all(fd, data)


def main():
    global np
    requests = os.fdopen(int(sys.argv[1]), "rb")
    reply_fd = int(sys.argv[2])
    boot = json.loads(requests.readline())
    apply_limits(boot["limits"])
    if boot.get("seccomp"):
        install_filter(boot["seccomp"])
    sys.path.append(boot["site_dir"])
    import numpy

    np = numpy
    blocker = Blocker(boot["banned"])
    sys.meta_path.insert(0, blocker)
    harness = Harness(boot, blocker)
    try:
        harness.import_module(boot["module_name"])
        reply = {"status": "ready"}
    except BaseException as error:  # student code may raise anything
        reply = harness.describe(error)
        reply["phase"] = "import"
    reply["id"] = 0
    reply["banned"] = sorted(set(blocker.attempts))
    send(reply_fd, reply)
    if reply["status"] != "ready":
        return
    for line in requests:
        send(reply_fd, *harness.run(json.loads(line)))


if __name__ == "__main__":
    main()
