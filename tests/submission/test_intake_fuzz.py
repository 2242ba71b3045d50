"""The intake under fuzzing: random bytes, truncated and corrupted archives and
notebooks, deeply nested and huge-line modules. Whatever arrives, the intake
answers with a ``Submission`` or refuses it (``SubmissionRefused``), within its
time bound, and nothing else escapes it; its child's memory is bounded."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.grading import Options, grade
from autograder.results import Status
from autograder.submission import intake
from autograder.submission.formats import SubmissionRefused
from autograder.submission.intake import take_in
from autograder.submission.locate import Submission
from autograder.submission.notebooks import is_magic
from tests.conftest import DATA_DIR, reference_source

BANNED = {"svm": frozenset({"torch", "scipy"}), "knn": frozenset({"torch"})}

FUZZ = settings(
    max_examples=10,
    deadline=None,  # each example starts the intake's child (about 0.5 s, more on a loaded machine)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _take_in(folder: Path, name: str, data: bytes):
    """The intake of one file ``name`` holding ``data``: a Submission, or the refusal."""
    handed = folder / name
    handed.write_bytes(data)
    work = folder.parent / f"work-{time.monotonic_ns()}"
    work.mkdir()
    started = time.monotonic()
    try:
        return take_in([handed], BANNED, work)
    except SubmissionRefused as refusal:
        return refusal
    finally:
        assert time.monotonic() - started < intake.INTAKE_WALL_SECONDS + 10.0


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _notebook(*cells: str) -> bytes:
    document = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": c,
            }
            for i, c in enumerate(cells)
        ],
    }
    return json.dumps(document).encode()


GOOD_ZIP = _zip({"hw/svm.py": reference_source("svm").encode(), "hw/notes.txt": b"x" * 5000})
STORED_ZIP = _zip({"svm.py": reference_source("svm").encode()}, zipfile.ZIP_STORED)
GOOD_NOTEBOOK = _notebook("import numpy as np", reference_source("svm"))


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "in").mkdir()
    return tmp_path / "in"


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_as_a_zip_are_refused_or_read(folder, data):
    outcome = _take_in(folder, "hw.zip", data)
    assert isinstance(outcome, SubmissionRefused)  # random bytes are no zip


@FUZZ
@given(cut=st.integers(0, len(GOOD_ZIP) - 1))
def test_a_truncated_zip_is_refused(folder, cut):
    outcome = _take_in(folder, "hw.zip", GOOD_ZIP[:cut])
    assert isinstance(outcome, SubmissionRefused), outcome


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(0, len(GOOD_ZIP) - 1), st.integers(1, 255)), min_size=1, max_size=8)
)
def test_a_corrupted_zip_is_refused_or_read(folder, flips):
    """Flipped bytes: a bad CRC, corrupt deflate data, a lying directory... or a
    flip that leaves the module readable. Either way an answer, never a crash."""
    data = bytearray(GOOD_ZIP)
    for where, mask in flips:
        data[where] ^= mask
    outcome = _take_in(folder, "hw.zip", bytes(data))
    assert isinstance(outcome, SubmissionRefused) or set(outcome.modules) <= {"svm"}


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=4096),
        st.integers(0, len(GOOD_NOTEBOOK) - 1).map(lambda cut: GOOD_NOTEBOOK[:cut]),
        st.text(max_size=2000).map(lambda cell: _notebook(cell)),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=30,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_a_broken_notebook_is_read_or_refused(folder, data):
    outcome = _take_in(folder, "svm.ipynb", data)
    assert isinstance(outcome, SubmissionRefused) or set(outcome.modules) <= {"svm"}


@FUZZ
@given(
    opener=st.sampled_from(["(", "[", "{", "-", "not ", "lambda:", "x if y else ", "1+", "f(", "[0]"]),
    depth=st.integers(10, 300_000),
    wrap=st.sampled_from(["module", "notebook"]),
)
def test_deeply_nested_code_is_read_or_refused(folder, opener, depth, wrap):
    """Nesting that exhausts the parser's stack or memory: a syntax verdict, a
    note, or a refusal, never an uncaught error."""
    closer = {"(": ")", "[": "]", "{": "}", "f(": ")"}.get(opener, "")
    code = f"def svm_loss_naive(W, X, y, reg):\n    return {opener * depth}1{closer * depth}\n"
    name, data = ("svm.py", code.encode()) if wrap == "module" else ("svm.ipynb", _notebook(code))
    outcome = _take_in(folder, name, data)
    if not isinstance(outcome, SubmissionRefused) and "svm" in outcome.sources:
        source = outcome.sources["svm"]
        assert source.syntax_error or source.tree is not None


@FUZZ
@given(
    line=st.sampled_from([" " * 2_000_000 + "x", "x = " + " " * 2_000_000 + "!", "a" * 2_000_000 + "= 1"]),
    wrap=st.sampled_from(["module", "notebook"]),
)
def test_huge_lines_are_read_quickly(folder, line, wrap):
    """A 2 MB line (the old magic-line pattern took hours on such lines)."""
    name, data = ("svm.py", line.encode()) if wrap == "module" else ("svm.ipynb", _notebook(line))
    started = time.monotonic()
    _take_in(folder, name, data)
    assert time.monotonic() - started < 30.0


@FUZZ
@given(line=st.text(alphabet=" \t=!%,.[]xa()", max_size=60))
def test_magic_lines_are_recognized_as_the_old_pattern_did(line):
    """``is_magic`` is the old regular expression, rewritten to be linear."""
    import re

    old = re.compile(r"^\s*(?:[%!]|[\w.,\s\[\]]+=\s*[%!])")
    assert is_magic(line) == bool(old.match(line))


def test_the_intake_child_memory_is_bounded(folder, monkeypatch):
    """Cells whose parsing needs more than the intake's memory are each a note (the
    rest of the submission is still taken), and an intake that cannot work within
    its memory at all is refused: the grader's own memory never holds what the
    child could not."""
    monkeypatch.setattr(intake, "INTAKE_MEMORY_BYTES", 300 * 1024**2)
    outcome = _take_in(folder, "svm.ipynb", _notebook(*["x = 1\n" * 20_000] * 20))
    assert isinstance(outcome, Submission)
    # Parsed cells keep their pieces, so the bound is reached part-way: the cells from
    # there on are notes, and the reading still ends with a submission.
    assert any("does not parse (MemoryError)" in note for note in outcome.notes), outcome.notes
    monkeypatch.setattr(intake, "INTAKE_MEMORY_BYTES", 40 * 1024**2)
    (folder.parent / "again").mkdir()
    refused = _take_in(folder.parent / "again", "svm.ipynb", _notebook("def f():\n    return 1\n"))
    # Where a 40 MB interpreter gives up varies (a MemoryError, named as the bound, or
    # an import failing half-way): either way it is the submission's refusal.
    assert isinstance(refused, SubmissionRefused), refused


def test_the_intake_wall_clock_is_bounded(folder, monkeypatch):
    monkeypatch.setattr(intake, "INTAKE_WALL_SECONDS", 0.05)
    outcome = _take_in(folder, "hw.zip", GOOD_ZIP)
    assert isinstance(outcome, SubmissionRefused) and "longer than the intake's 0.05 s" in str(outcome)


def test_a_legitimate_submission_passes_the_intake(folder):
    outcome = _take_in(folder, "hw.zip", GOOD_ZIP)
    assert set(outcome.modules) == {"svm"} and outcome.ignored == ["notes.txt"]
    assert outcome.sources["svm"].syntax_error is None and outcome.sources["svm"].tree is not None


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("hw.zip", GOOD_ZIP[: len(GOOD_ZIP) // 2], "not a readable zip"),
        ("hw.zip", STORED_ZIP.replace(b"np.zeros", b"np.zeroz"), "Bad CRC-32"),
    ],
)
def test_a_refused_submission_still_gets_results_and_no_fault(tmp_path, name, data, words):
    """Through ``grade``: every exercise says ``submission refused: <why>``, worth 0."""
    assert data not in (GOOD_ZIP, STORED_ZIP)
    (tmp_path / name).write_bytes(data)
    result = grade(tmp_path / name, Options(only=("svm", "knn"), data_dir=DATA_DIR))
    assert result.score == 0 and not result.grader_fault
    assert {c.status for e in result.exercises for c in e.checks} == {Status.IMPORT_FAILED}
    assert all(e.verdict.startswith("submission refused: ") and words in e.verdict for e in result.exercises)
