"""Unit tests of grading's phases (``grading.py``, ``checks/outcome.py``) with
fake exercises, a fake run and a fake intake: no child process is started.

A grader bug costs one check, not the submission; the seed is ``--seed``, the
keyed seed of the submission, or the dev seed; each way an exercise cannot run
has its verdict."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import platform
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

from autograder import __version__, environment, grading, phases
from autograder.checks import outcome
from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, DataUnavailable, Exercise
from autograder.checks.session import DEV_SEED
from autograder.phases import PhaseClock
from autograder.references import ReferenceUnavailable
from autograder.results import Status
from autograder.sandbox import ChildDied, StudentFault
from autograder.submission.formats import SubmissionRefused
from autograder.submission.inspect import SourceReport

SECRET = b"the course secret"


def grade_exercise(exercise, submission, options, seed, secret=b"", recording=None):
    """``grading.grade_exercise`` on a fresh phase clock (its one caller in the package passes one)."""
    return grading.grade_exercise(exercise, submission, options, seed, secret, PhaseClock(), recording)


def passes(session) -> None:
    session.record(ratio=12.5)


def wrong(session) -> None:
    raise CheckFailed("dW", "1", "2", hint="look at the margin")


def wrong_without_hint(session) -> None:
    raise CheckFailed("loss", "1", "2")


def malformed(session) -> None:
    raise CheckFailed("dW", "shape (3,)", "shape (2,)", status=Status.INVALID_OUTPUT)


def times_out(session) -> None:
    raise ChildDied(Status.TIMEOUT, "the check's limit of 20 s ran out")


def raises(session) -> None:
    raise StudentFault(Status.ERROR, "ValueError: bad input (svm.py:3)")


def no_data(session) -> None:
    raise DataUnavailable("mnist is not on this machine")


def no_reference(session) -> None:
    raise ReferenceUnavailable("no reference for svm")


def grader_bug(session) -> None:
    lookup("missing")  # a bug of the grader's own check code, one call down


def lookup(key: str) -> None:
    {}[key]


def grader_oom(session) -> None:
    raise MemoryError


def seen_seed(session) -> None:
    session.record(seed=session.seed)


def make_check(run, name: str, visibility: str = VISIBLE, points: float = 2.0) -> Check:
    return Check(name, points, run, f"hint of {name}", visibility, id=name)


SVM = Exercise(
    "svm",
    "SVM",
    (
        make_check(passes, "passes"),
        make_check(grader_bug, "grader bug"),
        make_check(wrong, "wrong"),
        make_check(seen_seed, "hidden seed", HIDDEN, 3.0),
    ),
)
KNN = Exercise(
    "knn", "kNN", (make_check(passes, "passes", points=0.5), make_check(wrong, "wrong", points=0.5))
)


class FakeRun:
    """An ``ExerciseRun`` with no child: what ``grade_check`` and ``grade_exercise`` use."""

    made: ClassVar[list[FakeRun]] = []

    def __init__(self, exercise, path, source, *, mode, seed, secret, data_dir, expectations, clock):
        self.exercise, self.path, self.source, self.mode = exercise, path, source, mode
        self.seed, self.secret, self.data_dir, self.clock = seed, secret, data_dir, clock
        self.expectations = expectations
        self.banned_attempts: set[str] = set()
        self.waited, self.peak_rss, self.closed = 1.25, 4096, False
        FakeRun.made.append(self)

    def close(self) -> None:
        self.closed = True

    def dataset_records(self):
        return {"mnist": [{"name": "train.gz"}]}


def fake_run(exercise=SVM, mode="test", seed=77) -> FakeRun:
    return FakeRun(
        exercise,
        Path("svm.py"),
        SourceReport(),
        mode=mode,
        seed=seed,
        secret=SECRET,
        data_dir=None,
        expectations=None,
        clock=None,
    )


# -- one check --------------------------------------------------------------------


def test_a_passing_check_earns_its_points_and_keeps_its_details():
    result = outcome.grade_check(fake_run(), make_check(passes, "passes"))
    assert (result.status, result.score, result.max_score) == (Status.PASSED, 2.0, 2.0)
    assert (result.message, result.hint, result.details) == ("", "", {"ratio": 12.5})
    assert (result.id, result.exercise, result.visibility, result.name) == (
        "svm/passes",
        "svm",
        VISIBLE,
        "passes",
    )
    assert 0 <= result.seconds < 60


@pytest.mark.parametrize(
    ("run", "status", "message", "hint"),
    [
        (wrong, Status.FAILED, "dW: expected 1, got 2", "look at the margin"),
        (wrong_without_hint, Status.FAILED, "loss: expected 1, got 2", "hint of c"),
        (malformed, Status.INVALID_OUTPUT, "dW: expected shape (3,), got shape (2,)", "hint of c"),
        (times_out, Status.TIMEOUT, "the check's limit of 20 s ran out", "hint of c"),
        (raises, Status.ERROR, "ValueError: bad input (svm.py:3)", "hint of c"),
        (no_data, Status.DATA_UNAVAILABLE, "mnist is not on this machine", ""),
        (
            no_reference,
            Status.GRADER_FAULT,
            "no reference for svm; install the grader with its solutions",
            "hint of c",
        ),
        (
            grader_oom,
            Status.GRADER_RESOURCES,
            "grader resources exceeded: the grader ran out of memory while running this check",
            "hint of c",
        ),
    ],
)
def test_each_way_a_check_ends_has_its_verdict_and_no_points(run, status, message, hint):
    result = outcome.grade_check(fake_run(), make_check(run, "c"))
    assert (result.status, result.score, result.max_score) == (status, 0.0, 2.0)
    assert (result.message, result.hint) == (message, hint)


def test_a_grader_bug_is_a_grader_fault_naming_the_error_and_where():
    result = outcome.grade_check(fake_run(), make_check(grader_bug, "c"))
    assert result.status is Status.GRADER_FAULT and result.score == 0.0
    line = lookup.__code__.co_firstlineno + 1  # where it was raised, not where the check called
    assert result.message == f"grader fault: KeyError: 'missing' (test_grading.py:{line})"


def test_a_visible_check_sees_the_dev_seed_and_a_hidden_one_the_submissions():
    run = fake_run(seed=77)
    assert outcome.grade_check(run, make_check(seen_seed, "v")).details == {"seed": DEV_SEED}
    assert outcome.grade_check(run, make_check(seen_seed, "h", HIDDEN)).details == {"seed": 77}


# -- one exercise ---------------------------------------------------------------


@pytest.fixture
def runs(monkeypatch):
    FakeRun.made = []
    monkeypatch.setattr(grading, "ExerciseRun", FakeRun)
    return FakeRun.made


def submission(sources: dict[str, SourceReport] | None = None, **fields) -> SimpleNamespace:
    sources = {"svm": SourceReport(notes=["nbsp on line 3"])} if sources is None else sources
    return SimpleNamespace(
        modules={name: Path(f"/sub/{name}.py") for name in sources},
        sources=sources,
        notes=fields.get("notes", []),
        ignored=fields.get("ignored", []),
        digest=lambda: "abc123",
    )


def test_a_grader_bug_costs_one_check_not_the_exercise(runs):
    result = grade_exercise(SVM, submission(), grading.Options(mode="test"), seed=5, secret=SECRET)
    by_name = {check.name: check for check in result.checks}
    assert [check.name for check in result.checks] == ["passes", "grader bug", "wrong", "hidden seed"]
    assert by_name["grader bug"].status is Status.GRADER_FAULT
    assert by_name["passes"].status is Status.PASSED and by_name["hidden seed"].status is Status.PASSED
    assert by_name["wrong"].status is Status.FAILED
    assert (result.score, result.max_score) == (5.0, 9.0)
    assert result.verdict == "graded"
    assert (result.seconds, result.peak_memory_bytes) == (1.25, 4096)
    assert result.notes == ["nbsp on line 3"] and result.datasets == {"mnist": [{"name": "train.gz"}]}
    (run,) = runs
    assert run.closed and (run.mode, run.seed, run.secret) == ("test", 5, SECRET)
    assert run.path == Path("/sub/svm.py")


def test_dev_mode_runs_the_visible_checks_only(runs):
    result = grade_exercise(SVM, submission(), grading.Options(mode="dev"), seed=5)
    assert [check.name for check in result.checks] == ["passes", "grader bug", "wrong"]
    assert runs[0].secret == b""  # no secret unless given


def test_the_run_is_closed_when_a_check_escapes(runs):
    def escapes(session):
        raise KeyboardInterrupt

    exercise = Exercise("svm", "SVM", (make_check(escapes, "escapes"),))
    with pytest.raises(KeyboardInterrupt):
        grade_exercise(exercise, submission(), grading.Options(), seed=5)
    assert runs[0].closed


def test_a_missing_module_is_not_submitted(runs):
    result = grade_exercise(KNN, submission(), grading.Options(mode="test"), seed=5)
    assert result.verdict == "not submitted" and runs == []
    assert {(check.status, check.message, check.hint) for check in result.checks} == {
        (Status.MISSING, "knn.py is not in the submission", "")
    }


def test_an_unparsable_module_fails_every_check_with_the_syntax_error(runs):
    source = SourceReport(syntax_error="SyntaxError at svm.py:3: invalid syntax", notes=["a note"])
    result = grade_exercise(SVM, submission({"svm": source}), grading.Options(mode="dev"), seed=5)
    assert result.verdict == "import failed: SyntaxError at svm.py:3: invalid syntax"
    assert {check.status for check in result.checks} == {Status.IMPORT_FAILED}
    assert result.score == 0 and result.notes == ["a note"] and runs == []
    assert result.checks[0].hint == "hint of passes"
    assert {check.seconds for check in result.checks} == {0.0}


def test_a_banned_import_scores_zero_before_anything_runs(runs):
    source = SourceReport(banned=["torch (line 1)"])
    result = grade_exercise(SVM, submission({"svm": source}), grading.Options(), seed=5)
    assert runs == [] and result.score == 0
    assert {check.status for check in result.checks} == {Status.BANNED_IMPORT}
    assert result.verdict == (
        "svm.py imports torch (line 1): this exercise allows only NumPy and the standard library, "
        "so it scores 0"
    )


def test_a_banned_import_attempted_at_run_time_scores_zero(runs, monkeypatch):
    class Caught(FakeRun):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.banned_attempts = {"torch", "scipy"}

    monkeypatch.setattr(grading, "ExerciseRun", Caught)
    result = grade_exercise(SVM, submission(), grading.Options(), seed=5)
    assert result.score == 0 and {check.status for check in result.checks} == {Status.BANNED_IMPORT}
    assert result.verdict.startswith("svm.py imports scipy, torch: ")


def test_expected_values_are_recorded_by_exercise_when_asked(runs):
    recording: dict = {}
    grade_exercise(SVM, submission(), grading.Options(), seed=5, recording=recording)
    assert recording == {"svm": {}}
    assert runs[0].expectations.recording is recording["svm"]
    grade_exercise(SVM, submission(), grading.Options(), seed=5)
    assert runs[1].expectations.recording is None


def test_the_checks_own_time_is_what_the_phases_timed_inside_them_leave(runs, monkeypatch):
    now = SimpleNamespace(seconds=10.0)
    monkeypatch.setattr(phases, "time", SimpleNamespace(monotonic=lambda: now.seconds))
    clock = phases.PhaseClock()
    clock.add("student", 1.0)

    def spends(session):
        now.seconds += 4.0  # the check takes 4 s, 2.5 of which a phase timed (the student's code)
        clock.add("student", 2.5)

    exercise = Exercise("svm", "SVM", (make_check(spends, "spends"),))
    grading.grade_exercise(exercise, submission(), grading.Options(), 5, b"", clock, None)
    assert clock.seconds["checks"] == pytest.approx(1.5)
    assert clock.seconds["student"] == pytest.approx(3.5)


# -- verdicts ---------------------------------------------------------------------


def results(*statuses: Status) -> list:
    return [
        outcome.check_result(SVM, make_check(passes, f"c{k}"), status, f"message {k}", "")
        for k, status in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((Status.PASSED, Status.FAILED, Status.INVALID_OUTPUT, Status.ERROR), "graded"),
        ((Status.PASSED, Status.TIMEOUT, Status.CRASHED), "timeout: message 1"),
        ((Status.OUT_OF_MEMORY,), "out of memory: message 0"),
        ((Status.FAILED, Status.EXITED), "exited early: message 1"),
        ((Status.CRASHED, Status.TIMEOUT), "crashed: message 0"),
        ((Status.IMPORT_FAILED,), "import failed: message 0"),
        (
            (Status.TIMEOUT, Status.DATA_UNAVAILABLE),
            "not graded: a dataset is unavailable on the grading machine",
        ),
        ((Status.GRADER_FAULT, Status.PASSED), "graded"),
        ((), "graded"),
    ],
)
def test_the_exercise_verdict(statuses, verdict):
    assert outcome.exercise_verdict(results(*statuses)) == verdict


@pytest.mark.parametrize("status", list(Status))
def test_only_a_passed_check_earns_points_and_the_hint_shows_where_there_is_something_to_debug(status):
    (result,) = [outcome.check_result(SVM, make_check(passes, "c", points=1.5), status, "m", "the hint")]
    assert result.score == (1.5 if status is Status.PASSED else 0.0)
    hidden = {Status.PASSED, Status.NOT_ATTEMPTED, Status.MISSING, Status.DATA_UNAVAILABLE}
    assert result.hint == ("" if status in hidden else "the hint")


def test_a_refused_submission_costs_every_check_of_the_mode():
    result = outcome.refused_result(SVM, "dev", "not a zip file")
    assert len(result.checks) == 3
    assert {check.status for check in result.checks} == {Status.IMPORT_FAILED}
    assert result.verdict == "submission refused: not a zip file"
    assert result.checks[0].message == "submission refused: not a zip file"


# -- the seed ---------------------------------------------------------------------


def test_the_seed_is_the_given_one_then_the_keyed_one_in_test_mode_then_the_dev_seed():
    handed = submission()
    assert grading.hidden_seed(handed, grading.Options(mode="test", seed=0), SECRET) == 0
    assert grading.hidden_seed(handed, grading.Options(mode="dev", seed=12), SECRET) == 12
    keyed = hmac.new(SECRET, b"submission/abc123", hashlib.sha256).digest()[:4]
    assert grading.hidden_seed(handed, grading.Options(mode="test"), SECRET) == int.from_bytes(keyed, "big")
    assert grading.hidden_seed(handed, grading.Options(mode="dev"), SECRET) == DEV_SEED


# -- the whole run, with every outside piece faked ------------------------------


@pytest.fixture
def faked(monkeypatch, runs):
    """``grade`` with fake exercises, isolation and intake; returns what the intake got."""
    taken: dict = {}
    handed = submission(notes=["intake note"], ignored=["notes.txt", "sub/knn.py", "mlp.py"])

    def take_in(paths, banned, work):
        taken.update(paths=paths, banned=banned)
        if taken.get("refuse"):
            raise SubmissionRefused("a zip bomb")
        return handed

    layers = SimpleNamespace(
        require_layers=lambda: taken.setdefault("layers", True),
        probe=lambda: None,
        report=lambda: {"isolation": "fake"},
    )
    for module in (grading, outcome):
        monkeypatch.setattr(module, "EXERCISES", {"svm": SVM, "knn": KNN})
    for module in (grading, environment):
        monkeypatch.setattr(module, "isolation", layers)
    monkeypatch.setattr(grading, "take_in", take_in)
    monkeypatch.setattr(grading, "course_secret", lambda: SECRET)
    return taken


def test_grade_runs_every_exercise_and_assembles_the_result(faked, runs):
    result = grading.grade(Path("/sub"), grading.Options(mode="test", seed=9))
    assert faked["layers"] and faked["paths"] == [Path("/sub")]
    assert faked["banned"] == {"svm": SVM.banned, "knn": KNN.banned}
    assert [e.exercise for e in result.exercises] == ["svm", "knn"]
    assert (result.mode, result.seed, result.score, result.max_score) == ("test", 9, 5.0, 10.0)
    assert result.exercises[1].verdict == "not submitted"
    assert runs[0].secret == SECRET
    assert result.environment["isolation"] == "fake" and result.environment["grader_version"]
    assert {"probe", "intake", "environment", "checks"} <= set(result.phases)
    assert result.execution_time >= 0
    # the submission's notes go to the first exercise, with the ignored files worth naming
    assert result.exercises[0].notes == [
        "nbsp on line 3",
        "intake note",
        "ignored (not an exercise module): notes.txt, sub/knn.py, mlp.py",
    ]


def test_dev_mode_never_reads_the_course_secret(faked, runs, monkeypatch):
    monkeypatch.setattr(grading, "course_secret", lambda: pytest.fail("dev mode read the secret"))
    result = grading.grade([Path("/a.py"), Path("/b.py")], grading.Options(mode="dev"))
    assert faked["paths"] == [Path("/a.py"), Path("/b.py")]
    assert result.seed == DEV_SEED and runs[0].secret == b""


def test_only_grades_the_exercises_named_and_names_a_left_out_module_nowhere(faked, runs):
    result = grading.grade(Path("/sub"), grading.Options(mode="dev", only=("svm",)))
    assert [e.exercise for e in result.exercises] == ["svm"]
    assert faked["banned"] == {"svm": SVM.banned}
    # knn.py belongs to an exercise left out: not worth naming; sub/knn.py neither
    assert result.exercises[0].notes[-1] == "ignored (not an exercise module): notes.txt, mlp.py"


def test_a_refused_submission_grades_nothing_and_costs_every_check(faked, runs):
    faked["refuse"] = True
    result = grading.grade(Path("/sub.zip"), grading.Options(mode="test"))
    assert runs == [] and result.seed == 0 and result.score == 0
    assert [e.verdict for e in result.exercises] == ["submission refused: a zip bomb"] * 2
    assert grading.grade(Path("/sub.zip"), grading.Options(mode="test", seed=4)).seed == 4


def test_causes_are_found_for_each_exercise(faked, runs):
    result = grading.grade(Path("/sub"), grading.Options(mode="test", only=("knn",)))
    (cause,) = result.exercises[0].causes
    assert cause.text == "knn.py is not in the submission"
    assert result.grader_fault is False
    assert grading.grade(Path("/sub"), grading.Options(mode="test", only=("svm",))).grader_fault is True


def test_grade_and_record_returns_the_expected_values_by_exercise(faked, runs):
    result, recorded = grading.grade_and_record(Path("/sub"), grading.Options(mode="test"))
    assert recorded == {"svm": {}} and result.exercises[0].exercise == "svm"


def test_options_default_to_dev_mode_every_exercise_and_the_usual_data_and_cannot_change():
    options = grading.Options()
    assert (options.mode, options.seed, options.only, options.data_dir) == ("dev", None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.mode = "test"


def test_at_most_twenty_ignored_files_are_named(faked, runs, monkeypatch):
    many = submission(ignored=[f"file{k:02d}.txt" for k in range(25)])
    monkeypatch.setattr(grading, "take_in", lambda paths, banned, work: many)
    result = grading.grade(Path("/sub"), grading.Options(mode="dev", only=("svm",)))
    names = ", ".join(f"file{k:02d}.txt" for k in range(20))
    assert result.exercises[0].notes[-1] == f"ignored (not an exercise module): {names}"


def test_the_execution_time_is_the_runs_own(faked, runs):
    result = grading.grade(Path("/sub"), grading.Options(mode="dev"))
    assert 0 <= result.execution_time < 60


def test_the_environment_names_python_numpy_and_the_blas_numpy_was_built_with():
    recorded = grading.environment()
    blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
    assert recorded["python"] == platform.python_version() and recorded["numpy"] == np.__version__
    assert recorded["blas"] == f"{blas['name']} {blas['version']}".strip() and not recorded[
        "blas"
    ].startswith("?")
    assert recorded["grader_version"] == __version__
    assert "practice_mode" in recorded  # the isolation report's keys are merged in
