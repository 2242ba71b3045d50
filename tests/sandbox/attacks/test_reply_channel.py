"""Attacks on the reply channel: what the child sends back is data to validate.

Student code runs in the harness's process, so it can write to the reply
pipe (``sys.argv[2]``) and replace the harness's functions (``__main__``).
Each attack must end in ``invalid output`` with the reason only its payload
can cause (which proves the payload ran), no grader fault, no more points
than the honest submission, and nothing around it touched.
"""

from __future__ import annotations

import pytest

from autograder.results import Status
from tests.sandbox.attacks.support import assert_contained, require, svm_attack

BUDGET_SECONDS = 8.0
"""Exercise budget of each attack run: the honest svm.py needs about 1 s."""

SLOW_BUDGET_SECONDS = 60.0
"""Budget of an attack that writes a gigabyte before the first call."""

INVALID = (Status.INVALID_OUTPUT,)

SEND_HOOK = """
import __main__ as _harness
import os as _os

_real_send = _harness.send


def _hooked_send(fd, reply, payloads=()):
    if reply.get("status") != "ok":
        return _real_send(fd, reply, payloads)
@BODY@


_harness.send = _hooked_send
"""

PARTS_HOOK = """
import io as _io
import __main__ as _harness

_real_parts = _harness.npy_parts


def _hooked_parts(array):
@BODY@


_harness.npy_parts = _hooked_parts
"""


def hook(template: str, body: str) -> str:
    """Module code replacing one harness function by ``body``."""
    return template.replace("@BODY@", "\n".join("    " + line for line in body.splitlines()))


ATTACKS = {
    "forged 'passed' reply written to the reply pipe": (
        "import json, os, sys\n"
        'request = sys._getframe(1).f_locals["request"]\n'
        'forged = {"id": request["id"], "status": "passed", "banned": []}\n'
        'os.write(int(sys.argv[2]), (json.dumps(forged) + "\\n").encode())',
        "",
        "status 'passed'",
    ),
    "forged reply with a field the grader might trust": (
        "",
        hook(SEND_HOOK, 'reply["score"] = 100.0\nreturn _real_send(fd, reply, payloads)'),
        "fields",
    ),
    "deeply nested reply header": (
        "",
        hook(SEND_HOOK, "_os.write(fd, b'{\"id\": 1, \"tree\": ' + b'[' * 60000 + b'\\n')"),
        "not json",
    ),
    "result tree deeper than any return value": (
        "",
        hook(
            SEND_HOOK,
            "tree = reply['tree']\n"
            "for _ in range(10):\n"
            "    tree = ['tuple', [tree]]\n"
            "reply['tree'] = tree\n"
            "return _real_send(fd, reply, payloads)",
        ),
        "deeper than 4",
    ),
    "one large result referenced many times": (
        "",
        hook(
            SEND_HOOK,
            "reply['tree'] = ['tuple', [['leaf', 0]] * 64]\n"
            "reply['sizes'] = reply['sizes'][:1]\n"
            "return _real_send(fd, reply, payloads[:1])",
        ),
        "each is used once",
    ),
    "result sizes beyond the call's budget": (
        "",
        hook(
            SEND_HOOK,
            "reply['sizes'] = [2**40] * len(reply['sizes'])\nreturn _real_send(fd, reply, payloads)",
        ),
        "budget",
    ),
    "bytes after a valid reply": (
        "",
        hook(SEND_HOOK, "_real_send(fd, reply, payloads)\n_os.write(fd, b'{\"id\": 99}\\n')"),
        "did not send",
    ),
    "flooding the reply pipe": (
        "import os, sys\nwhile True:\n    os.write(int(sys.argv[2]), b'x' * 65536)",
        "",
        "longer than 65536 bytes",
    ),
    "npy header lying about the data size": (
        "",
        hook(
            PARTS_HOOK,
            "header, data = _real_parts(array)\n"
            "liar = _io.BytesIO()\n"
            "np.lib.format.write_array_header_1_0(\n"
            "    liar, {'descr': '<f8', 'fortran_order': False, 'shape': (10**8,)}\n"
            ")\n"
            "return liar.getvalue(), data",
        ),
        "header implies",
    ),
    "oversized npy header": (
        "",
        hook(
            PARTS_HOOK,
            "return b'\\x93NUMPY\\x02\\x00' + (10**6).to_bytes(4, 'little') + b' ' * 10**6, memoryview(b'')",
        ),
        "bad header (length 1000000",
    ),
    "pickle payload in a returned npy": (
        "",
        "import os\n\n\nclass Boom:\n"
        "    def __reduce__(self):\n"
        '        return (os.system, ("touch @RESULTS@/pwned",))\n'
        + hook(
            PARTS_HOOK,
            "pickled = _io.BytesIO()\n"
            "np.lib.format.write_array(pickled, np.array([Boom()], dtype=object), allow_pickle=True)\n"
            "return pickled.getvalue(), memoryview(b'')",
        ),
        "not a plain numeric dtype",
    ),
    "booleans holding other bytes": (
        "",
        hook(
            PARTS_HOOK,
            "header, data = _real_parts(np.ones(np.shape(array), dtype=bool))\n"
            "return header, memoryview(bytes([7]) * len(data))",
        ),
        "boolean",
    ),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_reply_channel_attack_is_contained(name, scene, honest, short_budget):
    payload, at_import, words = ATTACKS[name]
    short_budget(BUDGET_SECONDS)
    result = scene.grade({"svm.py": svm_attack(payload, at_import)})
    assert_contained(result, honest, scene, INVALID, words)
    assert not (scene.results / "pwned").exists()


TRAPS = """
import os

_exchange = os.path.join(os.path.dirname(os.getcwd()), "io")
_planted = 0
for _i in range(60):
    for _k in range(6):
        os.mkdir(os.path.join(_exchange, f"in-{_i}-{_k}.npy"))
        os.mkfifo(os.path.join(_exchange, f"out-{_i}-{_k}.npy"))
        os.symlink("@SOLUTIONS@/svm.py", os.path.join(_exchange, f"in-{_i}-{_k}-link.npy"))
        _planted += 3
"""


def test_directories_fifos_and_links_planted_where_files_once_went(scene, honest, short_budget):
    """The exchange folder is the child's: it fills it with directories, FIFOs and
    links at every name results and inputs ever had. The naive loss (which says how
    many it planted, proving the payload ran) raises; every other check scores as
    the honest submission does, since no result is a file and inputs get names
    the child cannot guess."""
    short_budget(BUDGET_SECONDS)
    source = svm_attack(at_import=TRAPS).replace(
        "def svm_loss_naive(W, X, y, reg):\n",
        "def svm_loss_naive(W, X, y, reg):\n    raise RuntimeError(f'planted {_planted} traps')\n",
        1,
    )
    result = scene.grade({"svm.py": source})
    assert_contained(result, honest, scene, (Status.ERROR,), "planted 1080 traps")
    honest_by_name = {c.name: c for e in honest.exercises for c in e.checks}
    # The attack template dispatches through its ``_honest`` table, which the loop
    # check (it follows calls) sees reaching the naive loops: not the reply channel's doing.
    untouched = ("svm_loss_naive", "numerical gradient", "no loops")
    for check in (c for e in result.exercises for c in e.checks):
        if not any(part in check.name for part in untouched):
            assert check.status == honest_by_name[check.name].status, (check.name, check.message)


FILL_THE_FOLDER = """
import os

_chunk = b"\\0" * 2**24
_files = 0
try:
    while True:  # files of 256 MiB: one file may not pass RLIMIT_FSIZE (512 MiB)
        with open(f"fill-{_files}", "wb") as _handle:
            for _ in range(16):
                _handle.write(_chunk)
        _files += 1
except OSError:
    pass
"""


def test_filling_the_run_folder_before_the_inputs_arrive(scene, honest, short_budget):
    """The child fills its tmpfs (and survives it), so the grader cannot write the
    next call's inputs: that is the student's doing, not a grader fault."""
    require("disk")
    short_budget(SLOW_BUDGET_SECONDS)
    result = scene.grade({"svm.py": svm_attack(at_import=FILL_THE_FOLDER)})
    assert_contained(result, honest, scene, (Status.ERROR,), "is full: student code filled it")
