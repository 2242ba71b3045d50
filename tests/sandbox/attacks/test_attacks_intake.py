"""Attacks on the intake (the archive and notebook readers, before any sandbox)
and on the layers added with it: packages of the base interpreter, and the
system calls the seccomp filter refuses (io_uring, signals, pidfd).

Each attack is graded through the command line, as an instructor would: exit
status 0, a strict-JSON results.json, a score no higher than honest work, a
verdict naming what happened, the other exercise graded as usual, and nothing
around it changed (``Scene.assert_intact``: other results and submissions,
hidden material, no process of the sandbox user left)."""

from __future__ import annotations

import io
import json
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.results import Status
from tests.conftest import DATA_DIR, reference_source
from tests.sandbox.attacks.support import Scene, assert_contained, require, svm_attack

ONLY = "svm,optim"
"""The attacked exercise and another one, whose full marks must survive."""


def _strict(text: str):
    """Parse JSON, refusing NaN and Infinity."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))


def grade_cli(scene: Scene, handed_in: Path) -> dict:
    """``autograder grade`` of ``handed_in`` (svm and optim): exit 0, results.json."""
    out = scene.results.parent / "attack-results.json"
    status = main(["grade", str(handed_in), "--only", ONLY, "--json", str(out), "--data-dir", str(DATA_DIR)])
    assert status == 0
    return _strict(out.read_text())


def by_exercise(document: dict) -> dict[str, list[dict]]:
    """The tests of results.json, by the exercise their tags name."""
    found: dict[str, list[dict]] = {}
    for test in document["tests"]:
        for tag in test["tags"]:
            found.setdefault(tag, []).append(test)
    return found


@pytest.fixture(scope="module")
def honest_cli(tmp_path_factory) -> dict[str, float]:
    """The scores the references of svm and optim earn through the command line."""
    folder = tmp_path_factory.mktemp("honest-cli")
    for exercise in ("svm", "optim"):
        (folder / f"{exercise}.py").write_text(reference_source(exercise))
    scene = Scene.build(tmp_path_factory.mktemp("honest-scene"))
    tests = by_exercise(grade_cli(scene, folder))
    return {exercise: sum(t["score"] for t in tests[exercise]) for exercise in ("svm", "optim")}


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _notebook(*cells: str) -> str:
    code = [
        {
            "cell_type": "code",
            "id": f"c{n}",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": c,
        }
        for n, c in enumerate(cells)
    ]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": code})


def test_attack_corrupt_zip(scene, honest_cli):
    """A zip whose deflate data is corrupt (the grader once crashed on zlib.error):
    refused, worth 0, every exercise says why."""
    data = bytearray(_zip({"svm.py": reference_source("svm"), "optim.py": reference_source("optim")}))
    for where in range(60, 400):
        data[where] ^= 0x5A
    scene.folder.mkdir()
    (scene.folder / "hw.zip").write_bytes(bytes(data))
    document = grade_cli(scene, scene.folder / "hw.zip")
    assert document["score"] == 0 <= sum(honest_cli.values())
    assert not document["extra_data"].get("grader_fault")
    outputs = [t["output"] for t in document["tests"]]
    refused = "submission refused: hw.zip is not a readable zip archive"
    assert refused in document["output"]  # the cause, stated once per exercise at the top
    assert outputs and all(refused in o or "cause stated once at the top" in o for o in outputs)
    scene.assert_intact()


NESTINGS = {
    "parentheses": "(" * 100_000 + ")" * 100_000,
    "unary minus": "-" * 500_000 + "1",
    "additions": "1+" * 500_000 + "1",
    "subscripts": "x" + "[0]" * 300_000,
}


@pytest.mark.parametrize("nesting", NESTINGS)
def test_attack_notebook_cell_that_makes_the_parser_recurse(scene, honest_cli, nesting):
    """The svm function's cell nests deeper than the parser's stack: that cell is
    not taken (a note says why), svm is not submitted, optim keeps its marks."""
    deep = NESTINGS[nesting]
    svm_cell = reference_source("svm").replace("    loss = 0.0\n", f"    loss = {deep}\n", 1)
    assert svm_cell != reference_source("svm")
    scene.folder.mkdir()
    (scene.folder / "svm.ipynb").write_text(_notebook("import numpy as np", svm_cell))
    (scene.folder / "optim.py").write_text(reference_source("optim"))
    started = time.monotonic()
    tests = by_exercise(grade_cli(scene, scene.folder))
    assert time.monotonic() - started < 300.0
    assert sum(t["score"] for t in tests["svm"]) == 0
    assert {t["extra_data"]["verdict"] for t in tests["svm"]} == {Status.MISSING.value}
    assert sum(t["score"] for t in tests["optim"]) == honest_cli["optim"] > 0
    scene.assert_intact()


def test_attack_notebook_line_built_for_regex_backtracking(scene, honest_cli):
    """A 1 MB line of spaces ending in no '=' (the magic-line pattern once took
    hours on it): read in seconds, graded as the honest work it wraps."""
    bomb = " " * 1024**2 + "x"
    scene.folder.mkdir()
    (scene.folder / "svm.ipynb").write_text(
        _notebook("import numpy as np", f"{bomb}\n", reference_source("svm"))
    )
    (scene.folder / "optim.py").write_text(reference_source("optim"))
    started = time.monotonic()
    tests = by_exercise(grade_cli(scene, scene.folder))
    assert time.monotonic() - started < 300.0
    assert sum(t["score"] for t in tests["svm"]) == honest_cli["svm"]
    assert sum(t["score"] for t in tests["optim"]) == honest_cli["optim"]
    scene.assert_intact()


BASE_SITE = sysconfig.get_path("purelib", vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
"""The base interpreter's site-packages (here, pyenv's; scipy and torch are there)."""

SCIPY_FROM_THE_BASE_INTERPRETER = """
import importlib.util, sys
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "Blocker"]
where = "@BASE_SITE@/scipy/__init__.py"
spec = importlib.util.spec_from_file_location("sci" + "py", where)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""


def test_attack_scipy_from_the_base_interpreters_site_packages(scene, honest):
    """scipy, installed in the base interpreter's site-packages, loaded from its
    file with the import blocker removed: the file is not there in the sandbox
    (the error names the path, so the payload did run)."""
    require("filesystem")
    assert Path(BASE_SITE, "scipy", "__init__.py").is_file()  # what the attack reaches for is there
    payload = SCIPY_FROM_THE_BASE_INTERPRETER.replace("@BASE_SITE@", BASE_SITE)
    result = scene.grade({"svm.py": svm_attack(payload)})
    assert_contained(result, honest, scene, (Status.ERROR, Status.BANNED_IMPORT), "scipy/__init__.py")


SYSCALL_ATTACK = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
buffer = ctypes.create_string_buffer(256)
pid = os.getpid()
arguments = [ctypes.addressof(buffer) if a == "buffer" else pid if a == "pid" else a for a in @ARGS@]
if libc.syscall(ctypes.c_long(@NUMBER@), *(ctypes.c_long(a) for a in arguments)) == -1:
    raise OSError(ctypes.get_errno(), "@NAME@ refused")
"""

SYSCALL_CLASSES = {
    "io_uring": ("io_uring_setup", (1, "buffer")),
    "signals to a thread": ("tgkill", ("pid", "pid", 0)),
    "queued signals": ("rt_sigqueueinfo", ("pid", 0, "buffer")),
    "pidfd": ("pidfd_open", ("pid", 0)),
}
"""One system call of each class the filter refuses, with arguments that succeed
without it (see tests/sandbox/attacks/test_layers.py for the control run)."""


@pytest.mark.parametrize("kind", SYSCALL_CLASSES)
def test_attack_system_call_the_filter_refuses(scene, honest, kind):
    """If the call went through, the honest answer would follow and no check would
    fail; refused, the attack's functions raise with the kernel's errno."""
    require("seccomp")
    import pyseccomp as sc

    name, args = SYSCALL_CLASSES[kind]
    payload = (
        SYSCALL_ATTACK.replace("@NUMBER@", str(sc.resolve_syscall(sc.Arch.NATIVE, name)))
        .replace("@ARGS@", repr(list(args)))
        .replace("@NAME@", name)
    )
    result = scene.grade({"svm.py": svm_attack(payload)})
    assert_contained(result, honest, scene, (Status.ERROR,), f"{name} refused")
