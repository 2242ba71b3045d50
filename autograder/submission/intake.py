"""The intake, run in a limited child process of the grader's own code.

Unpacking an archive, reading notebooks and parsing modules are the first
things a submission's bytes meet, before any sandbox starts: a corrupt
archive, a cell nested deep enough to exhaust the parser's stack, a line
built to make a parser work for hours. ``take_in`` therefore runs the whole
intake (``formats.open_submission``, then ``inspect.inspect_source`` for each
module found) in a child of the grader's interpreter that runs no student
code but has an address-space and CPU limit, a wall-clock timeout and a
bounded reply. Whatever goes wrong there (an exception, a crash, a limit)
becomes ``SubmissionRefused`` with the reason, which grading turns into
``submission refused: <why>`` for every exercise.

The child answers in JSON: the modules it wrote into the work folder, its
notes and ignored files, and each module's ``SourceReport`` field by field
(every JSON-able field rides along; the syntax tree is parsed again by the
grader, from the same bytes the child just parsed within its limits).
"""

from __future__ import annotations

import ast
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import autograder
from autograder.submission.formats import SubmissionRefused, open_submission
from autograder.submission.inspect import SourceReport, inspect_source
from autograder.submission.locate import Submission

INTAKE_WALL_SECONDS = 120.0
"""Wall-clock time of the whole intake. A class-sized legitimate submission (a
repository zip of thousands of members, notebooks of a few MB) takes under
10 s on a loaded machine; a parser made to stall is stopped here."""

INTAKE_CPU_SECONDS = 60
"""CPU time of the intake child (``RLIMIT_CPU``): half the wall budget, so a
busy loop is stopped by the kernel even when the machine is idle."""

INTAKE_MEMORY_BYTES = 2 * 1024**3
"""Address space of the intake child (``RLIMIT_AS``). Reading the largest
notebook accepted (``notebooks.MAX_NOTEBOOK_BYTES``, 32 MB of JSON) with
nbformat's validation stays under 1 GB; twice that leaves room."""

INTAKE_REPLY_BYTES = 16 * 1024**2
"""Largest reply read from the child: names of up to ``zipfiles.MAX_MEMBERS``
ignored files and six module reports fit in a few MB."""

STDERR_TAIL_BYTES = 2000
"""How much of the child's error output names what went wrong."""

REPLY_NAME = "intake.json"

CHILD_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
"""The child's whole environment: nothing of the grader's (secrets, or a
variable long enough to make starting it fail) reaches it."""

BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from autograder.submission.intake import child_main; child_main(sys.argv[2])"
)
"""The child's program: the grader's own package, first on the path."""


def take_in(paths: Sequence[Path], banned: dict[str, frozenset[str]], work: Path) -> Submission:
    """Open the submission and inspect its modules in a limited child.

    Parameters
    ----------
    paths : sequence of Path
        What was handed in (see ``formats.open_submission``).
    banned : dict of str to frozenset of str
        Exercise id to the modules it may not import; its keys are the
        exercises looked for.
    work : Path
        An empty folder for unpacked and generated modules; must outlive grading.

    Returns
    -------
    Submission
        With a ``SourceReport`` per module found.

    Raises
    ------
    SubmissionRefused
        With the reason, for an unsafe or unreadable submission and for an
        intake that broke one of its limits.
    """
    request = {
        "paths": [str(Path(p).absolute()) for p in paths],
        "banned": {exercise: sorted(names) for exercise, names in banned.items()},
        "work": str(work),
        "memory_bytes": INTAKE_MEMORY_BYTES,
        "cpu_seconds": INTAKE_CPU_SECONDS,
    }
    package_parent = str(Path(autograder.__file__).resolve().parents[1])
    argv = [sys.executable, "-I", "-c", BOOT, package_parent, json.dumps(request)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
            env=CHILD_ENVIRONMENT,
        )
        try:
            returncode = exit_code(process, INTAKE_WALL_SECONDS)
        except subprocess.TimeoutExpired:
            raise SubmissionRefused(
                f"reading it took longer than the intake's {INTAKE_WALL_SECONDS:g} s"
            ) from None
        if returncode != 0:
            raise SubmissionRefused(_failure(returncode, _tail(errors)))
    return _parse_reply(work / REPLY_NAME)


def exit_code(process: subprocess.Popen, seconds: float) -> int:
    """Wait for ``process`` to end and return its exit code; kill it after ``seconds``.

    The wait is woken by the process's exit through a pidfd: ``Popen.wait``
    with a timeout polls with sleeps of up to 50 ms, which was half of the
    intake's time. Without pidfds (Linux before 5.3) it falls back to that.

    Raises
    ------
    subprocess.TimeoutExpired
        When ``seconds`` passed first (the process is killed and reaped).
    """
    try:
        try:
            handle = os.pidfd_open(process.pid)
        except (AttributeError, OSError):
            return process.wait(seconds)
        try:
            exited = select.poll()  # not select.select: it refuses descriptors above 1023
            exited.register(handle, select.POLLIN)
            if not exited.poll(seconds * 1000):
                raise subprocess.TimeoutExpired(process.args, seconds)
        finally:
            os.close(handle)
        return process.wait()
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def child_main(request_text: str) -> None:
    """The child's side: limit itself (as the grader's request says), do the
    intake, write the JSON reply."""
    request = json.loads(request_text)
    memory, cpu = request["memory_bytes"], request["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    work = Path(request["work"])
    try:
        reply = _intake([Path(p) for p in request["paths"]], request["banned"], work)
    except SubmissionRefused as refusal:
        reply = {"refused": str(refusal)}
    except MemoryError:
        reply = {"refused": _memory_refusal(memory)}
    except RecursionError:
        reply = {"refused": "it is nested too deeply to be read"}
    except (OSError, ValueError) as error:  # unreadable bytes, names, encodings
        reply = {"refused": f"it cannot be read ({type(error).__name__}: {str(error)[:200]})"}
    (work / REPLY_NAME).write_text(json.dumps(reply, default=_jsonable))


def _intake(paths: list[Path], banned: dict[str, list[str]], work: Path) -> dict[str, Any]:
    submission = open_submission(paths, list(banned), work)
    sources = {
        exercise: report_to_json(inspect_source(path, frozenset(banned[exercise])))
        for exercise, path in submission.modules.items()
    }
    return {
        "root": str(submission.root),
        "modules": {exercise: str(path) for exercise, path in submission.modules.items()},
        "ignored": submission.ignored,
        "notes": submission.notes,
        "sources": sources,
    }


def report_to_json(report: SourceReport) -> dict[str, Any]:
    """Every field of ``report`` but its syntax tree (parsed again by the grader)."""
    return {f.name: getattr(report, f.name) for f in fields(report) if f.name != "tree"}


def report_from_json(data: dict[str, Any], path: Path) -> SourceReport:
    """The ``SourceReport`` of ``report_to_json``, its tree parsed again from ``path``
    (the child parsed these bytes within its limits, so this parse is bounded too)."""
    known = {f.name for f in fields(SourceReport) if f.init and f.name != "tree"}
    report = SourceReport(**{name: value for name, value in data.items() if name in known})
    if report.syntax_error is None:
        try:
            report.tree = ast.parse(path.read_bytes().decode("utf-8", "replace"), filename=path.name)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:  # a deeper stack here
            report.syntax_error = f"the module cannot be parsed: {type(error).__name__}"
    return report


def _parse_reply(reply: Path) -> Submission:
    if not reply.is_file() or reply.stat().st_size > INTAKE_REPLY_BYTES:
        raise SubmissionRefused("the intake gave no usable answer")
    data = json.loads(reply.read_text())
    if "refused" in data:
        raise SubmissionRefused(str(data["refused"]))
    modules = {exercise: Path(path) for exercise, path in data["modules"].items()}
    return Submission(
        root=Path(data["root"]),
        modules=modules,
        ignored=list(data["ignored"]),
        notes=list(data["notes"]),
        sources={e: report_from_json(source, modules[e]) for e, source in data["sources"].items()},
    )


def _failure(returncode: int, stderr: str) -> str:
    """Why the child ended without an answer, in the student's words."""
    if returncode == -signal.SIGXCPU:
        return f"reading it needed more than the intake's {INTAKE_CPU_SECONDS} s of CPU time"
    if returncode == -signal.SIGKILL:
        return "reading it was stopped by the intake's CPU or memory limit"
    if returncode < 0:
        return f"reading it crashed the intake (signal {-returncode})"
    last = stderr.strip().splitlines()[-1:] or [f"exit status {returncode}"]
    if "MemoryError" in last[0]:
        return _memory_refusal(INTAKE_MEMORY_BYTES)
    return f"the intake could not read it ({last[0][:200]})"


def _memory_refusal(memory_bytes: int) -> str:
    return f"reading it needed more than the intake's {memory_bytes / 1024**2:.0f} MB of memory"


def _tail(handle: Any) -> str:
    size = handle.seek(0, 2)
    handle.seek(max(0, size - STDERR_TAIL_BYTES))
    return handle.read().decode("utf-8", "replace")


def _jsonable(value: Any) -> Any:
    """JSON for the sets a report field may hold (as sorted lists)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-able")
