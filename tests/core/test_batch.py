"""Unit tests of ``batch.py`` with ``grade`` faked and an executor that runs
each job at once in this process: the records and files written, resume,
and what a fault, a dying worker or an unsupported entry comes to."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from concurrent.futures import Executor, Future
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import __version__, batch
from autograder.checks import EXERCISES
from autograder.executors import WorkerDied
from autograder.reports import similarity_html
from autograder.results import CheckResult, ExerciseResult, GradingResult, Status


class InProcess(Executor):
    """Runs each submitted call at once; ``fail`` maps a student to the error
    their worker raises instead of returning."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.fail = fail or {}
        self.submitted: list[str] = []

    def submit(self, fn, job):
        self.submitted.append(job.student)
        future: Future = Future()
        if job.student in self.fail:
            future.set_exception(self.fail[job.student])
        else:
            future.set_result(fn(job))
        return future


def fake_result(score: float, visibility: str = "visible") -> GradingResult:
    check = CheckResult(
        name="loss",
        exercise="svm",
        max_score=2.0,
        score=score,
        status=Status.PASSED if score else Status.FAILED,
        visibility=visibility,
        message="" if score else "loss: expected 1.5 at [3], got 2",
        id="svm/loss",
    )
    exercise = ExerciseResult("svm", "SVM", "graded", [check], peak_memory_bytes=3 * 2**20)
    return GradingResult([exercise], mode="dev", seed=231, environment={"grader_version": __version__})


@pytest.fixture
def graded(monkeypatch):
    """``batch.grade`` faked: a folder holding ``good.py`` scores 2 of 2, anything else 0;
    a folder holding ``bug.py`` makes the grader raise. Returns the folders graded."""
    seen: list[tuple[Path, object]] = []

    def grade(folder, options):
        seen.append((folder, options))
        names = {p.name for p in folder.iterdir()} if folder.is_dir() else {folder.name}
        if "bug.py" in names:
            raise ZeroDivisionError("a grader bug")
        if "big.py" in names:
            raise MemoryError
        return fake_result(
            2.0 if "good.py" in names else 0.0, "hidden" if "hidden.py" in names else "visible"
        )

    monkeypatch.setattr(batch, "grade", grade)
    return seen


def entries(root: Path, layout: dict[str, dict[str, str] | str]) -> Path:
    """Submission entries: a dict is a folder of files, a string a file's text."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in layout.items():
        if isinstance(content, dict):
            (root / name).mkdir()
            for file, text in content.items():
                (root / name / file).write_text(text)
        else:
            (root / name).write_text(content)
    return root


def test_entry_hash_is_the_sha256_of_relative_paths_and_bytes(tmp_path):
    folder = tmp_path / "alice"
    (folder / "sub").mkdir(parents=True)
    (folder / "svm.py").write_text("a")
    (folder / "sub" / "knn.py").write_text("bc")
    sha = hashlib.sha256()
    for relative, data in [("sub/knn.py", b"bc"), ("svm.py", b"a")]:
        sha.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
    assert batch.entry_hash(folder) == sha.hexdigest()
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "svm.pyc").write_text("cache")
    (folder / "link.py").symlink_to(folder / "svm.py")
    assert batch.entry_hash(folder) == sha.hexdigest()
    (folder / "svm.py").write_text("A")
    assert batch.entry_hash(folder) != sha.hexdigest()


def test_entry_hash_of_a_file_and_of_a_link(tmp_path):
    (tmp_path / "bob.zip").write_bytes(b"zip bytes")
    expected = hashlib.sha256(hashlib.sha256(b"zip bytes").digest()).hexdigest()
    assert batch.entry_hash(tmp_path / "bob.zip") == expected
    (tmp_path / "eve.zip").symlink_to(tmp_path / "bob.zip")
    assert batch.entry_hash(tmp_path / "eve.zip") == hashlib.sha256(b"not a file: eve.zip").hexdigest()


def test_plan_makes_a_job_per_visible_entry_named_by_student(tmp_path):
    root = entries(tmp_path / "in", {"bob.zip": "z", "alice": {"svm.py": ""}, ".DS_Store": ""})
    jobs = batch.plan(root, "test", ("svm",), tmp_path)
    assert [job.student for job in jobs] == ["alice", "bob"]
    alice = jobs[0]
    assert (alice.entry, alice.mode, alice.only, alice.data_dir) == (
        str(root / "alice"),
        "test",
        ("svm",),
        str(tmp_path),
    )
    assert alice.submission_hash == batch.entry_hash(root / "alice")
    assert batch.plan(root, "dev", None, None)[0].data_dir is None


def test_plan_keeps_the_suffix_when_two_entries_would_share_a_name(tmp_path):
    root = entries(tmp_path / "in", {"bob.zip": "z", "bob": {"svm.py": ""}, "carol.py": ""})
    assert [job.student for job in batch.plan(root, "dev", None, None)] == ["bob", "bob.zip", "carol.py"]


def test_a_jobs_key_names_what_a_stored_record_must_match():
    job = batch.Job("alice", "/in/alice", "abc", "test", ("svm", "knn"), None)
    assert job.key() == {
        "submission_hash": "abc",
        "grader_version": __version__,
        "mode": "test",
        "only": ["svm", "knn"],
        "checks": batch.checks_digest("test", ("svm", "knn")),
    }
    assert batch.Job("a", "/a", "abc", "dev", None, None).key()["only"] is None
    digests = {batch.checks_digest(mode, only) for mode in ("dev", "test") for only in (None, ("svm",))}
    assert len(digests) == 4


def test_is_current_only_for_the_same_key_and_no_fault():
    job = batch.Job("alice", "/in/alice", "abc", "dev", None, None)
    record = {"student": "alice", **job.key(), "grader_fault": False}
    assert batch.is_current(record, job)
    assert not batch.is_current(None, job)
    assert not batch.is_current({**record, "grader_fault": True}, job)
    for name, value in [
        ("submission_hash", "abd"),
        ("grader_version", "0"),
        ("mode", "test"),
        ("checks", ""),
    ]:
        assert not batch.is_current({**record, name: value}, job)
    assert not batch.is_current({k: v for k, v in record.items() if k != "checks"}, job)


def test_read_record_is_none_when_absent_or_unreadable(tmp_path):
    assert batch.read_record(tmp_path) is None
    (tmp_path / batch.RESULTS_NAME).write_text("{half")
    assert batch.read_record(tmp_path) is None
    (tmp_path / batch.RESULTS_NAME).write_text('{"student": "a"}')
    assert batch.read_record(tmp_path) == {"student": "a"}


def job_for(entry: Path, mode: str = "dev") -> batch.Job:
    return batch.Job(entry.stem, str(entry), batch.entry_hash(entry), mode, None, None)


def test_a_graded_job_records_what_a_student_may_see(tmp_path, graded):
    root = entries(tmp_path, {"alice": {"hidden.py": ""}})
    outcome = batch.grade_job(job_for(root / "alice", "test"))
    record = outcome["record"]
    assert record["student"] == "alice" and record["problem"] == "" and record["grader_fault"] is False
    assert {k: record[k] for k in batch.Job.key(job_for(root / "alice", "test"))} == job_for(
        root / "alice", "test"
    ).key()
    (check,) = record["result"]["exercises"][0]["checks"]
    assert "expected 1.5" not in check["message"] and "withheld" in check["message"]
    (full,) = outcome["instructor"]["result"]["exercises"][0]["checks"]
    assert full["message"] == "loss: expected 1.5 at [3], got 2"
    assert "Feedback for alice" in outcome["feedback"]
    folder, options = graded[0]
    assert folder == root / "alice" and (options.mode, options.only, options.data_dir) == ("test", None, None)


@pytest.mark.parametrize(
    ("layout", "problem", "fault"),
    [
        ({"bug": {"bug.py": ""}}, "grader fault: ZeroDivisionError: a grader bug (test_batch.py:", True),
        ({"big": {"big.py": ""}}, "grader resources exceeded: the grader ran out of memory", False),
        ({"notes.txt": "x"}, "unsupported submission format: notes.txt is a .txt file;", False),
        ({"README": "x"}, "unsupported submission format: README is a suffix-less file;", False),
    ],
)
def test_a_job_that_cannot_be_graded_says_why(tmp_path, graded, layout, problem, fault):
    (name,) = layout
    outcome = batch.grade_job(job_for(entries(tmp_path / "in", layout) / name))
    record = outcome["record"]
    assert record["problem"].startswith(problem)
    assert (record["result"], record["grader_fault"]) == (None, fault)
    assert outcome["instructor"]["result"] is None
    assert "Feedback for" in outcome["feedback"]


def test_a_linked_entry_is_not_followed(tmp_path, graded):
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}})
    (root / "eve").symlink_to(root / "alice")
    record = batch.grade_job(job_for(root / "eve"))["record"]
    assert record["problem"].startswith("unsupported submission format: eve is a link")
    assert graded == []


@pytest.mark.parametrize("name", ["carol.zip", "carol.ipynb", "carol.py"])
def test_an_archive_a_notebook_or_a_module_goes_to_the_intake(tmp_path, graded, name):
    root = entries(tmp_path / "in", {name: "x"})
    assert batch.grade_job(job_for(root / name))["record"]["problem"] == ""
    assert graded[0][0] == root / name


def gradebook(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / batch.GRADEBOOK_NAME).read_text())))


def test_run_batch_writes_each_students_files_and_the_gradebook(tmp_path, graded):
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}, "bob": {"bad.py": ""}, "eve": {"bug.py": ""}})
    out = tmp_path / "out"
    stream = io.StringIO()
    report = batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(), stream)
    assert (report.graded, report.skipped, report.faults) == (["alice", "bob", "eve"], [], ["eve"])
    for student in ("alice", "bob", "eve"):
        names = sorted(p.name for p in (out / student).iterdir())
        assert names == [batch.FEEDBACK_NAME, batch.INSTRUCTOR_NAME, batch.RESULTS_NAME]
        assert json.loads((out / student / batch.INSTRUCTOR_NAME).read_text())["student"] == student
    rows = {row["student"]: row for row in gradebook(out)}
    assert (rows["alice"]["total"], rows["alice"]["max_score"], rows["alice"]["svm"]) == ("2", "2", "2")
    assert (rows["bob"]["total"], rows["bob"]["peak_memory_mib"]) == ("0", "3")
    assert rows["eve"]["total"] == "0" and rows["eve"]["verdicts"].startswith("grader fault")
    assert (out / batch.SUMMARY_NAME).is_file()
    # one line per student, in the order they finish
    assert "/3] alice: 2 / 2 (" in stream.getvalue() and "/3] bob: 0 / 2 (" in stream.getvalue()
    assert "/3] eve: grader fault: ZeroDivisionError" in stream.getvalue()


def test_a_resumed_batch_grades_only_what_changed_or_faulted(tmp_path, graded):
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}, "bob": {"bad.py": ""}, "eve": {"bug.py": ""}})
    out = tmp_path / "out"
    batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(), io.StringIO())
    (root / "bob" / "bad.py").write_text("changed")
    (out / "alice" / ".results.json-1234.tmp").write_text("half")
    stream = io.StringIO()
    executor = InProcess()
    report = batch.run_batch(batch.plan(root, "dev", None, None), out, executor, stream)
    assert executor.submitted == ["bob", "eve"]
    assert (report.graded, report.skipped) == (["bob", "eve"], ["alice"])
    assert "resuming: 1 of 3 submissions already graded" in stream.getvalue()
    assert not (out / "alice" / ".results.json-1234.tmp").exists()
    assert [row["student"] for row in gradebook(out)] == ["alice", "bob", "eve"]


def test_a_dying_worker_is_grader_resources_and_a_lost_one_a_fault(tmp_path, graded):
    root = entries(
        tmp_path / "in", {"alice": {"good.py": ""}, "bob": {"good.py": ""}, "carol": {"good.py": ""}}
    )
    fail = {
        "alice": WorkerDied("the grading process was killed (signal 9)"),
        "bob": OSError("connection lost"),
    }
    out = tmp_path / "out"
    report = batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(fail), io.StringIO())
    assert report.faults == ["bob"]
    alice, bob = batch.read_record(out / "alice"), batch.read_record(out / "bob")
    assert alice["problem"] == (
        "grader resources exceeded: the grading process was killed (signal 9) while grading this submission"
    )
    assert alice["grader_fault"] is False
    assert bob["problem"] == (
        "grader fault: the worker grading this submission failed: OSError: connection lost"
    )
    assert bob["grader_fault"] is True
    assert batch.read_record(out / "carol")["problem"] == ""


def test_the_summary_links_to_the_similarity_page_only_when_it_exists(tmp_path, graded):
    out = tmp_path / "out"
    out.mkdir()
    batch.write_summaries(out, [])
    assert similarity_html.PAGE_NAME not in (out / batch.SUMMARY_NAME).read_text()
    (out / similarity_html.PAGE_NAME).write_text("<html></html>")
    batch.write_summaries(out, ["nobody"])
    assert f'href="{similarity_html.PAGE_NAME}"' in (out / batch.SUMMARY_NAME).read_text()
    assert gradebook(out) == []


def test_the_batch_writes_the_files_the_contract_names():
    assert (batch.RESULTS_NAME, batch.INSTRUCTOR_NAME, batch.FEEDBACK_NAME) == (
        "results.json",
        "instructor.json",
        "feedback.html",
    )
    assert (batch.GRADEBOOK_NAME, batch.SUMMARY_NAME, similarity_html.PAGE_NAME) == (
        "gradebook.csv",
        "summary.html",
        "similarity.html",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        batch.Job("a", "/a", "h", "dev", None, None).mode = "test"


def test_a_job_passes_its_data_dir_and_times_itself(tmp_path, graded):
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}})
    job = batch.Job("alice", str(root / "alice"), "h", "dev", ("svm",), str(tmp_path / "data"))
    outcome = batch.grade_job(job)
    assert graded[0][1].data_dir == tmp_path / "data" and graded[0][1].only == ("svm",)
    assert 0 <= outcome["record"]["batch_seconds"] < 60
    assert "<title>Feedback for alice</title>" in outcome["feedback"]
    assert outcome["instructor"]["instructor_only"].startswith("instructor-only")
    assert outcome["instructor"]["student"] == "alice"


def test_an_unsupported_entry_says_what_to_hand_in(tmp_path, graded):
    root = entries(tmp_path / "in", {"notes.txt": "x"})
    outcome = batch.grade_job(job_for(root / "notes.txt"))
    assert outcome["record"]["problem"] == (
        "unsupported submission format: notes.txt is a .txt file; "
        "hand in a folder, a .zip or notebooks holding the exercise modules"
    )
    assert "<title>Feedback for notes</title>" in outcome["feedback"]
    assert outcome["instructor"]["instructor_only"].startswith("instructor-only")
    assert outcome["instructor"]["problem"] == outcome["record"]["problem"]


def test_a_grader_fault_is_located_where_it_was_raised(tmp_path, monkeypatch):
    def deeper():
        raise ZeroDivisionError("a grader bug")

    monkeypatch.setattr(batch, "grade", lambda folder, options: deeper())
    root = entries(tmp_path / "in", {"alice": {"svm.py": ""}})
    problem = batch.grade_job(job_for(root / "alice"))["record"]["problem"]
    line = deeper.__code__.co_firstlineno + 1
    assert problem == f"grader fault: ZeroDivisionError: a grader bug (test_batch.py:{line})"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_rewritten_bar_with_the_eta(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(batch, "time", SimpleNamespace(monotonic=lambda: now[0]))
    terminal = Terminal()
    progress = batch.Progress(4, terminal)
    now[0] = 110.0
    progress.advance("ada", "3 / 20")  # 10 s for 1 of 4: 30 s to go; 30 * 1/4 = 7.5 rounds to 8
    now[0] = 120.0
    progress.advance("bob", "20 / 20")  # 20 s for 2 of 4: 20 s to go
    progress.advance("cy", "")
    progress.advance("dee", "")
    lines = terminal.getvalue().split("\r")
    assert lines[1] == f"[{'#' * 8}{'.' * 22}] 1/4 ETA   30 s  {'ada':<30}"
    assert lines[2] == f"[{'#' * 15}{'.' * 15}] 2/4 ETA   20 s  {'bob':<30}"
    assert lines[4] == f"[{'#' * 30}] 4/4 ETA    0 s  {'dee':<30}\n"
    assert lines[3].endswith(" ") and "\n" not in lines[3]


def test_progress_elsewhere_is_a_line_per_submission(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(batch, "time", SimpleNamespace(monotonic=lambda: now[0]))
    log = io.StringIO()
    progress = batch.Progress(2, log)
    now[0] = 112.5
    progress.advance("ada", "3 / 20")
    progress.advance("bob\x1b[2J", "20 / 20")
    assert (
        log.getvalue() == "[1/2] ada: 3 / 20 (12.5 s elapsed)\n[2/2] bob\\x1b[2J: 20 / 20 (12.5 s elapsed)\n"
    )


def test_a_resumed_batch_says_so_on_its_first_line(tmp_path, graded):
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}, "bob": {"bad.py": ""}})
    out = tmp_path / "out"
    batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(), io.StringIO())
    (root / "bob" / "bad.py").write_text("changed")
    stream = io.StringIO()
    batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(), stream)
    assert stream.getvalue().splitlines()[0] == "resuming: 1 of 2 submissions already graded"


def test_progress_of_one_submission_fills_the_bar_and_cuts_long_names(monkeypatch):
    monkeypatch.setattr(batch, "time", SimpleNamespace(monotonic=lambda: 5.0))
    terminal = Terminal()
    batch.Progress(1, terminal).advance("a" * 40, "")
    assert terminal.getvalue() == f"\r[{'#' * 30}] 1/1 ETA    0 s  {'a' * 30}\n"


def test_similarity_compares_every_student_on_the_graded_exercises(tmp_path, graded, monkeypatch):
    from autograder import similarity

    asked = {}

    def write_similarity(students, exercises, out, executor, threshold):
        asked.update(students=students, exercises=exercises, threshold=threshold)

    monkeypatch.setattr(similarity, "write_similarity", write_similarity)
    root = entries(tmp_path / "in", {"alice": {"good.py": ""}, "bob": {"bad.py": ""}})
    out = tmp_path / "out"
    batch.run_batch(batch.plan(root, "dev", ("svm",), None), out, InProcess(), io.StringIO(), similarity=0.7)
    assert asked == {
        "students": [("alice", root / "alice"), ("bob", root / "bob")],
        "exercises": ["svm"],
        "threshold": 0.7,
    }
    batch.run_batch(batch.plan(root, "dev", None, None), out, InProcess(), io.StringIO(), similarity=0.7)
    assert asked["exercises"] == list(EXERCISES)
    (root / "bob" / "bad.py").unlink()
    (root / "bob").rmdir()  # a class of one
    batch.run_batch(batch.plan(root, "dev", ("knn",), None), out, InProcess(), io.StringIO(), similarity=0.7)
    assert asked["exercises"] == ["knn"] and len(asked["students"]) == 1
