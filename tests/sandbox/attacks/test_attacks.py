"""Attacks that are one svm.py each: the reference plus a payload.

Each row is an attack: the payload its two functions run first (or its module
runs at import), the verdicts it must get and the words that name what
happened, and the layers its defence needs (skipped, with the reason, on a
machine without them: a non-root practice run).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autograder.results import Status
from tests.sandbox.attacks.support import assert_contained, require, svm_attack

BUDGET_SECONDS = 8.0
"""Exercise budget of each attack run: the honest svm.py needs about 1 s, the
payloads that stall are stopped within it."""

SLOW_BUDGET_SECONDS = 60.0
"""Budget of an attack that must reach a limit by work (touching 2 GB of
memory takes seconds on a loaded 2-core machine) rather than be timed out."""

ERROR, FAILED, INVALID = Status.ERROR, Status.FAILED, Status.INVALID_OUTPUT


@dataclass(frozen=True)
class Attack:
    """One attack submission and what it must end in."""

    payload: str = ""
    at_import: str = ""
    statuses: tuple[Status, ...] = (ERROR,)
    words: str = ""
    layers: tuple[str, ...] = ()
    budget: float = BUDGET_SECONDS


ATTACKS = {
    "overwrite another submission's results.json": Attack(
        'open("@RESULTS@/results.json", "w").write(\'{"score": 100.0}\')',
        words="results.json",
        layers=("user",),
    ),
    "create Gradescope's results file": Attack(
        "import os\n"
        'os.makedirs("/autograder/results", exist_ok=True)\n'
        'open("/autograder/results/results.json", "w").write(\'{"score": 100.0}\')',
        words="/autograder",
        layers=("user",),
    ),
    "monkeypatch numpy's comparisons": Attack(
        "return 0.0, np.zeros_like(W)",
        at_import="np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)",
        statuses=(FAILED,),
        words="expected",
    ),
    "monkeypatch the harness to reply 'passed'": Attack(
        at_import='import __main__\n__main__.Harness.run = lambda self, request: {"status": "passed"}',
        statuses=(INVALID,),
        words="did not send",
    ),
    "ndarray subclass with a lying __eq__": Attack(
        "class Liar(np.ndarray):\n"
        "    def __eq__(self, other):\n        return np.True_\n"
        "    def __ne__(self, other):\n        return np.False_\n"
        "loss, dW = _honest['naive'](W, X, y, reg)\n"
        "return np.float64(loss + 1.0), (dW + 1.0).view(Liar)",
        statuses=(FAILED,),
        words="expected",
    ),
    "__array__ hook returning objects": Attack(
        "class Hook:\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        '        return np.array([{"score": 100}], dtype=object)\n'
        "return Hook(), Hook()",
        statuses=(INVALID,),
        words="not numbers",
    ),
    "NaN and inf results": Attack(
        'return float("nan"), np.full_like(W, np.inf)', statuses=(INVALID,), words="finite"
    ),
    "fake 'passed' output": Attack(
        "import sys\n"
        "print('svm: 12/12 passed'); print('TOTAL 12 / 12')\n"
        'sys.stderr.write(\'{"score": 12.0, "tests": []}\\n\')\n'
        "return 0.0, np.zeros_like(W)",
        statuses=(FAILED,),
        words="expected",
    ),
    "sys.exit(0)": Attack("import sys\nsys.exit(0)", statuses=(Status.EXITED,), words="sys.exit()"),
    "os._exit(0)": Attack("import os\nos._exit(0)", statuses=(Status.EXITED,), words="exited with status 0"),
    "read the reference solution": Attack(
        'open("@SOLUTIONS@/svm.py").read()', words="no such file", layers=("filesystem",)
    ),
    "read the hidden test labels": Attack(
        'open("@DATA@/mnist/t10k-labels-idx1-ubyte.gz", "rb").read()',
        words="no such file",
        layers=("filesystem",),
    ),
    "fork bomb": Attack(
        "import os\nwhile True:\n    os.fork()", words="refused by the sandbox", layers=("seccomp",)
    ),
    "thread bomb": Attack(
        "import threading, time\n"
        "while True:\n"
        "    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()",
        words="can't start new thread",
    ),
    "orphan daemon (double fork, setsid)": Attack(
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(600)\n"
        "    os._exit(0)",
        words="refused by the sandbox",
        layers=("seccomp",),
    ),
    "sleeping past the limit": Attack(
        "import time\ntime.sleep(3600)", statuses=(Status.TIMEOUT,), words="time budget"
    ),
    "memory bomb": Attack(
        at_import="hoard = []\nwhile True:\n    hoard.append(np.ones(2**24))",
        statuses=(Status.OUT_OF_MEMORY,),
        words="out of memory",
        budget=SLOW_BUDGET_SECONDS,
    ),
    "filling the disk": Attack(
        at_import="chunk = b'\\0' * 2**26\n"
        "for i in range(400):\n"
        "    with open(f'fill-{i}', 'wb') as handle:\n"
        "        for _ in range(4):\n"
        "            handle.write(chunk)",
        statuses=(Status.IMPORT_FAILED,),
        words="no space left",
        layers=("disk",),
    ),
    "computed import of torch, visible to the source check": Attack(
        'import importlib\nimportlib.import_module("to" + "rch")',
        statuses=(Status.BANNED_IMPORT,),
        words="computed at run time",
    ),
    "computed import of torch, hidden from the source check": Attack(
        'import builtins\ngetattr(builtins, "__imp" + "ort__")("to" + "rch")',
        statuses=(Status.BANNED_IMPORT,),
        words="torch",
    ),
    "import torch after removing the blocker": Attack(
        "import importlib, sys\n"
        'sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "Blocker"]\n'
        "sys.path.extend(@SITE_PACKAGES@)\n"
        'getattr(importlib, "import_" + "module")("to" + "rch")',
        words="no module named 'torch'",
        layers=("filesystem",),
    ),
    "overwrite another student's submission": Attack(
        'open("@OTHER@/svm.py", "w").write("def svm_loss_naive(*args):\\n    return 0\\n")',
        words="svm.py",
        layers=("user",),
    ),
    "become root again, raise the rlimits back": Attack(
        "import os, resource\n"
        "os.setresuid(0, 0, 0)\n"
        "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
        words="not permitted",
        layers=("user",),
    ),
    "an exception whose __str__ raises": Attack(
        "class Unprintable(Exception):\n"
        "    def __str__(self):\n        raise RuntimeError('no text for you')\n"
        "raise Unprintable()",
        words="whose str() raised",
    ),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_contained(name, scene, honest, short_budget):
    attack = ATTACKS[name]
    require(*attack.layers)
    short_budget(attack.budget)
    result = scene.grade({"svm.py": svm_attack(attack.payload, attack.at_import)})
    assert_contained(result, honest, scene, attack.statuses, attack.words)
