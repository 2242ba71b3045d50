"""Grade a folder of submissions, one entry per student, with progress and resume.

Flow: every entry of ``SUBMISSIONS_DIR`` gets a *submission hash*; an entry
whose ``OUT/<student>/results.json`` already records the same hash, grader
version, mode and exercise set is skipped (resume). The others become
``Job`` records (plain data) submitted to a ``concurrent.futures`` executor
(``autograder.executors``); a worker checks that the intake takes the entry
(``submission.entries.gradable_entry``), grades it and returns plain dicts. The
parent writes ``feedback.html``, ``instructor.json`` then ``results.json`` of
each student atomically (``reports.files.write_atomic``: a synced temporary
file renamed onto the destination) as results arrive, so a batch killed at any
moment keeps every finished student and leaves no half-written file;
``gradebook.csv`` and ``summary.html`` are rebuilt from the stored records at
the end. ``results.json`` and the page show what a student may see
(``reports.visibility.student_view``); ``instructor.json`` holds the full
result, hidden checks' messages included.

A record whose grading ended in a grader fault is graded again on resume: the
fault is ours, not the student's. A local grading process that dies (its memory
bound, the machine's OOM killer, a crash) takes down only the submission it was
grading, recorded as ``grader resources exceeded``: not a fault, so a resumed
batch does not grade it again and again. A lost Dask worker is a grader fault.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from autograder import __version__
from autograder.checks import EXERCISES
from autograder.executors import WorkerDied
from autograder.grading import Options, grade
from autograder.reports.files import TEMPORARY_SUFFIX, write_atomic
from autograder.reports.gradebook import gradebook_csv, summary_html
from autograder.reports.html import notice_html, to_html
from autograder.reports.safe import json_text, one_line
from autograder.reports.similarity_html import PAGE_NAME
from autograder.reports.visibility import instructor_document, student_view
from autograder.results import Status, result_to_dict
from autograder.submission.entries import UnsupportedSubmission, entry_hash, gradable_entry, student_name

RESULTS_NAME = "results.json"
INSTRUCTOR_NAME = "instructor.json"
FEEDBACK_NAME = "feedback.html"
GRADEBOOK_NAME = "gradebook.csv"
SUMMARY_NAME = "summary.html"


@dataclass(frozen=True)
class Job:
    """One submission to grade: plain data, picklable for any executor.

    Attributes
    ----------
    student : str
        Name of the entry without its suffix (``alice.zip`` -> ``alice``).
    entry : str
        Path of the entry in the submissions folder.
    submission_hash : str
        ``entry_hash`` of the entry.
    mode : str
        ``"dev"`` or ``"test"``.
    only : tuple of str or None
        Exercise ids to grade; all when None.
    data_dir : str or None
        Folder holding the datasets.
    """

    student: str
    entry: str
    submission_hash: str
    mode: str
    only: tuple[str, ...] | None
    data_dir: str | None

    def key(self) -> dict[str, Any]:
        """What a stored result must match to be reused on resume: the same
        submission graded by the same grader with the same checks (by id)."""
        return {
            "submission_hash": self.submission_hash,
            "grader_version": __version__,
            "mode": self.mode,
            "only": list(self.only) if self.only else None,
            "checks": checks_digest(self.mode, self.only),
        }


def checks_digest(mode: str, only: tuple[str, ...] | None) -> str:
    """SHA-256 of the ids of the checks run in ``mode`` on the exercises ``only``."""
    exercises = [EXERCISES[e] for e in (only or EXERCISES)]
    ids = [exercise.check_id(check) for exercise in exercises for check in exercise.checks_for(mode)]
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def grade_job(job: Job) -> dict[str, Any]:
    """Grade one job (runs in a worker process).

    Returns
    -------
    dict
        ``record`` (what ``results.json`` stores), ``instructor`` (the record
        with the full result, for ``instructor.json``) and ``feedback`` (the
        HTML page); plain data only. Nothing raised here stops the batch: an
        unsupported entry and a fault of the grader become the record's
        ``problem``.
    """
    started = time.monotonic()
    try:
        data_dir = Path(job.data_dir) if job.data_dir else None
        options = Options(mode=job.mode, only=job.only, data_dir=data_dir)
        result = grade(gradable_entry(Path(job.entry)), options)
        feedback = to_html(result, f"Feedback for {job.student}")
    except UnsupportedSubmission as unsupported:
        return not_graded(job, str(unsupported), fault=False)
    except MemoryError:  # the grading process's bound (executors.GRADER_MEMORY_BYTES)
        problem = f"{Status.GRADER_RESOURCES.value}: the grader ran out of memory grading this submission"
        return not_graded(job, problem, fault=False)
    except Exception as error:  # a bug of ours must not stop the other submissions
        where = traceback.extract_tb(error.__traceback__)[-1]
        problem = (
            f"grader fault: {type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"
        )
        return not_graded(job, problem, fault=True)
    record = {
        "student": job.student,
        **job.key(),
        "problem": "",
        "result": result_to_dict(student_view(result)),
        "grader_fault": result.grader_fault,
        "batch_seconds": time.monotonic() - started,
    }
    return {"record": record, "instructor": {**record, **instructor_document(result)}, "feedback": feedback}


def not_graded(job: Job, problem: str, fault: bool) -> dict[str, Any]:
    """The outcome of a job that could not be graded: why, and a page saying so."""
    record = {"student": job.student, **job.key(), "problem": problem, "result": None, "grader_fault": fault}
    return {
        "record": record,
        "instructor": {**record, **instructor_document(None)},
        "feedback": notice_html(f"Feedback for {job.student}", problem),
    }


def read_record(folder: Path) -> dict[str, Any] | None:
    """The record stored in ``folder/results.json``, or None if absent or unreadable."""
    try:
        return json.loads((folder / RESULTS_NAME).read_text())
    except (OSError, ValueError):
        return None


def is_current(record: dict[str, Any] | None, job: Job) -> bool:
    """Whether a stored record is the result of ``job`` (so it is skipped)."""
    if record is None or record.get("grader_fault"):
        return False
    return all(record.get(name) == value for name, value in job.key().items())


def write_outcome(out: Path, outcome: dict[str, Any]) -> None:
    """Write one student's feedback and instructor record, then the record that
    marks them done; each atomically, as strict JSON."""
    folder = out / outcome["record"]["student"]
    write_atomic(folder / FEEDBACK_NAME, outcome["feedback"])
    write_atomic(folder / INSTRUCTOR_NAME, json_text(outcome["instructor"]))
    write_atomic(folder / RESULTS_NAME, json_text(outcome["record"]))


class Progress:
    """A progress bar with ETA on a terminal, one plain line per submission otherwise."""

    BAR = 30  # characters of the bar

    def __init__(self, total: int, stream: TextIO = sys.stderr):
        self.total = total
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()
        self.tty = stream.isatty()

    def advance(self, student: str, note: str) -> None:
        """Count one finished submission (``student`` and ``note`` shown as one line)."""
        student, note = one_line(student), one_line(note)
        self.done += 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        if self.tty:
            filled = round(self.BAR * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (self.BAR - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} ETA {eta:4.0f} s  {student[:30]:<30}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {student}: {note} ({elapsed:.1f} s elapsed)\n")
        self.stream.flush()


@dataclass(frozen=True)
class BatchReport:
    """What a batch run did: students graded now and students skipped (resumed)."""

    graded: list[str]
    skipped: list[str]
    faults: list[str]


def plan(submissions: Path, mode: str, only: tuple[str, ...] | None, data_dir: Path | None) -> list[Job]:
    """A job for every entry of ``submissions`` (hidden entries are ignored)."""
    entries = sorted(p for p in submissions.iterdir() if not p.name.startswith("."))
    names = [student_name(p) for p in entries]
    unique = len(set(names)) == len(names)
    return [
        Job(
            student=student_name(entry) if unique else entry.name,
            entry=str(entry.resolve()),
            submission_hash=entry_hash(entry),
            mode=mode,
            only=only,
            data_dir=str(data_dir.resolve()) if data_dir else None,
        )
        for entry in entries
    ]


def run_batch(
    jobs: list[Job],
    out: Path,
    executor: Executor,
    stream: TextIO = sys.stderr,
    similarity: float | None = None,
) -> BatchReport:
    """Grade every job not already done, store each result as it arrives, and
    rebuild the gradebook and the summary. With a ``similarity`` threshold,
    also compare every pair of students (``autograder.similarity``) first, so
    that the summary links to that page."""
    for stale in out.glob(f"*/.*{TEMPORARY_SUFFIX}"):  # left by a batch killed mid-write
        stale.unlink()
    pending = [job for job in jobs if not is_current(read_record(out / job.student), job)]
    skipped = [job.student for job in jobs if job not in pending]
    if skipped:
        stream.write(f"resuming: {len(skipped)} of {len(jobs)} submissions already graded\n")
    progress = Progress(len(pending), stream)
    futures: dict[Future, Job] = {executor.submit(grade_job, job): job for job in pending}
    faults = []
    for future in as_completed(futures):
        job = futures[future]
        outcome = _outcome(future, job)
        write_outcome(out, outcome)
        record = outcome["record"]
        if record.get("grader_fault"):
            faults.append(job.student)
        progress.advance(job.student, _score_note(record))
    if similarity is not None:
        from autograder.checks import EXERCISES
        from autograder.similarity import write_similarity

        students = [(job.student, Path(job.entry)) for job in jobs]
        exercises = list(jobs[0].only or EXERCISES) if jobs else []
        write_similarity(students, exercises, out, executor, similarity)
    write_summaries(out, [job.student for job in jobs])
    return BatchReport(graded=[job.student for job in pending], skipped=skipped, faults=faults)


def _outcome(future: Future, job: Job) -> dict[str, Any]:
    """The worker's outcome; if the worker died, a record saying so."""
    try:
        return future.result()
    except WorkerDied as died:
        problem = f"{Status.GRADER_RESOURCES.value}: {died} while grading this submission"
        return not_graded(job, problem, fault=False)
    except Exception as error:  # a lost Dask worker
        problem = f"grader fault: the worker grading this submission failed: {type(error).__name__}: {error}"
        return not_graded(job, problem, fault=True)


def _score_note(record: dict[str, Any]) -> str:
    if record["result"] is None:
        return record["problem"]
    exercises = record["result"]["exercises"]
    score = sum(c["score"] for e in exercises for c in e["checks"])
    total = sum(c["max_score"] for e in exercises for c in e["checks"])
    return f"{score:g} / {total:g}"


def write_summaries(out: Path, students: list[str]) -> None:
    """Rebuild ``gradebook.csv`` and ``summary.html`` from the stored records."""
    records = [record for student in students if (record := read_record(out / student)) is not None]
    write_atomic(out / GRADEBOOK_NAME, gradebook_csv(records))
    similarity = PAGE_NAME if (out / PAGE_NAME).is_file() else None
    write_atomic(out / SUMMARY_NAME, summary_html(records, similarity))
