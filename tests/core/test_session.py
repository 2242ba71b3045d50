"""Unit tests of ``checks/session.py``: ``Session`` against a fake run, and
``ExerciseRun`` against a fake child (no process is started)."""

from __future__ import annotations

import hashlib
import hmac
import time
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

from autograder import datasets
from autograder.checks import session as session_module
from autograder.checks.base import HIDDEN, VISIBLE, Check, DataUnavailable, Exercise
from autograder.checks.session import ExerciseRun, Session
from autograder.phases import PhaseClock
from autograder.results import Status
from autograder.sandbox import ChildDied
from autograder.sandbox.limits import START_SECONDS
from autograder.store import Expectations
from autograder.submission.inspect import SourceReport

SECRET = b"course secret"


def check(visibility: str = VISIBLE, seconds: float = 7.0) -> Check:
    return Check("a check", 1.0, lambda session: None, "hint", visibility, seconds, id="values/reg>0")


EXERCISE = Exercise("svm", "SVM", (check(),))


class FakeRun:
    """What a ``Session`` reaches: records every request it forwards."""

    def __init__(self) -> None:
        self.exercise = EXERCISE
        self.mode = "test"
        self.secret = SECRET
        self.source = SimpleNamespace(loops_in=lambda f: [])
        self.requests: list[tuple] = []
        self.expectations = Expectations(stored={"svm/values/reg>0/loss": 1.5})
        self.once_keys: list[str] = []

    def child(self):
        run = self

        class Recorder:
            def __getattr__(self, name):
                return lambda *args, **kwargs: run.requests.append((name, args, kwargs)) or f"{name} answer"

        return Recorder()

    def once(self, key, compute):
        self.once_keys.append(key)
        return compute()

    def dataset(self, name):
        return f"dataset {name}"

    def reference(self):
        return "the reference module"


def test_a_sessions_id_and_attributes_come_from_its_run_and_check():
    run = FakeRun()
    session = Session(run, check(), 42)
    assert (session.id, session.seed, session.mode, session.source) == (
        "svm/values/reg>0",
        42,
        "test",
        run.source,
    )
    assert session.details == {} and session.reference == "the reference module"


def test_a_visible_checks_stream_is_public_and_keyed_by_its_id():
    session = Session(FakeRun(), check(VISIBLE), 231)
    expected = np.random.default_rng([231, zlib.crc32(b"svm/values/reg>0")]).random(4)
    np.testing.assert_array_equal(session.rng.random(4), expected)
    other = np.random.default_rng([231, zlib.crc32(b"mlp/training")]).random(4)
    np.testing.assert_array_equal(session.stream("mlp/training").random(4), other)


def test_a_hidden_checks_stream_is_keyed_by_the_secret():
    session = Session(FakeRun(), check(HIDDEN), 7)
    mac = hmac.new(SECRET, b"hidden/7/svm/values/reg>0", hashlib.sha256).digest()
    expected = np.random.default_rng(int.from_bytes(mac, "big")).random(4)
    np.testing.assert_array_equal(session.rng.random(4), expected)
    public = np.random.default_rng([7, zlib.crc32(b"svm/values/reg>0")]).random(4)
    assert not np.array_equal(Session(FakeRun(), check(HIDDEN), 7).rng.random(4), public)


@pytest.mark.parametrize(
    ("method", "args", "forwarded"),
    [
        ("call", ("svm_loss", 1, 2), ("call", ("svm_loss", 1, 2), {"seconds": 7.0, "reg": 0.5})),
        ("call_keeping", (1, "conv"), ("call_keeping", (1, "conv"), {"seconds": 7.0, "reg": 0.5})),
        ("new", ("KNN",), ("new", ("KNN",), {"seconds": 7.0, "reg": 0.5})),
    ],
)
def test_student_calls_go_to_the_child_with_the_checks_time_limit(method, args, forwarded):
    run = FakeRun()
    answer = getattr(Session(run, check(), 1), method)(*args, reg=0.5)
    assert run.requests == [forwarded]
    assert answer == f"{method} answer"


def test_object_access_loops_and_seeding_go_to_the_child_with_the_checks_time_limit():
    run = FakeRun()
    session = Session(run, check(seconds=3.0), 1)
    order = np.zeros((2, 4), dtype=np.int64)
    assert session.get("$h1", "W") == "get answer"
    session.set("$h1", "W", 5)
    assert session.loop("train_step", "x", "y", order, 2) == "loop answer"
    session.seed_global_rng(9)
    assert run.requests == [
        ("get", ("$h1", "W"), {"seconds": 3.0}),
        ("set", ("$h1", "W", 5), {"seconds": 3.0}),
        ("loop", ("train_step", "x", "y", order, 2), {"seconds": 3.0}),
        ("seed", (9,), {"seconds": 3.0}),
    ]


def test_each_gives_the_request_the_checks_limit_once_per_point():
    run = FakeRun()
    points = np.zeros((4, 3))
    assert Session(run, check(seconds=3.0), 1).each("loss", ("w", points), 1, pick=0) == "each answer"
    assert run.requests == [("each", ("loss", ("w", points), 1, 0), {"seconds": 12.0})]


def test_expected_values_are_keyed_by_the_checks_id():
    session = Session(FakeRun(), check(), 1)
    assert session.expected("loss", lambda: pytest.fail("stored values are not computed")) == 1.5
    assert session.expected("dW", lambda: "computed") == "computed"


def test_once_hands_the_session_to_the_shared_computation():
    run = FakeRun()
    session = Session(run, check(), 1)
    assert session.once("mlp/training", lambda s: s) is session
    assert run.once_keys == ["mlp/training"]
    assert session.dataset("mnist") == "dataset mnist"


def test_record_accumulates_details():
    session = Session(FakeRun(), check(), 1)
    session.record(ratio=12.0)
    session.record(accuracy=0.9, ratio=13.0)
    assert session.details == {"ratio": 13.0, "accuracy": 0.9}


# -- ExerciseRun against a fake child ----------------------------------------------


class FakeChild:
    """A child that starts (or fails to start) instantly and reports fixed figures."""

    started: ClassVar[list[FakeChild]] = []
    failure: ChildDied | None = None
    on_start: ClassVar[list] = []  # what starting does to the world (a fake clock moving on)

    def __init__(self, path, module_name, limits, deadline, banned):
        for effect in FakeChild.on_start:
            effect()
        if FakeChild.failure is not None:
            raise FakeChild.failure
        self.args = (path, module_name, limits, deadline, banned)
        self.alive = True
        self.waited = 0.5
        self.peak_rss = 1000 * (len(FakeChild.started) + 1)
        self.banned_attempts = {f"torch{len(FakeChild.started)}"}
        self.closed = False
        FakeChild.started.append(self)

    def close(self):
        self.closed = True
        self.waited += 1.0


@pytest.fixture
def fake_child(monkeypatch):
    FakeChild.started, FakeChild.failure, FakeChild.on_start = [], None, []
    monkeypatch.setattr(session_module, "Child", FakeChild)
    return FakeChild


def exercise_run(mode: str = "dev", **kwargs) -> ExerciseRun:
    return ExerciseRun(
        EXERCISE,
        Path("/nowhere/svm.py"),
        SourceReport(),
        mode=mode,
        seed=5,
        secret=SECRET,
        data_dir=kwargs.pop("data_dir", None),
        expectations=Expectations(),
        clock=kwargs.pop("clock", None),
    )


def test_a_child_starts_on_first_need_and_is_reused_while_alive(fake_child):
    run = exercise_run()
    assert fake_child.started == []
    first = run.child()
    assert run.child() is first and len(fake_child.started) == 1
    path, name, limits, deadline, banned = first.args
    assert (path, name, banned) == (Path("/nowhere/svm.py"), "svm", EXERCISE.banned)
    assert deadline == run.deadline and limits == run.limits


def test_a_dead_child_is_replaced_and_its_figures_kept(fake_child):
    clock = PhaseClock()
    run = exercise_run(clock=clock)
    first = run.child()
    first.alive = False
    second = run.child()
    assert second is not first and first.closed
    assert run.waited == pytest.approx(1.5)  # 0.5 waited plus 1.0 while closing
    assert run.peak_rss == 1000 and run.banned_attempts == {"torch0"}
    run.close()
    assert second.closed
    assert run.waited == pytest.approx(3.0)
    assert run.peak_rss == 2000 and run.banned_attempts == {"torch0", "torch1"}
    # the student's time: what each child waited after its start (0.5 at start)
    assert clock.seconds["student"] == pytest.approx(2.0)
    assert {"child_start", "child_stop"} <= set(clock.seconds)
    run.close()
    assert run.waited == pytest.approx(3.0)


def test_the_peak_memory_is_the_largest_childs(fake_child):
    run = exercise_run()
    run.child().peak_rss = 5000
    run.child().alive = False
    run.child()
    run.close()
    assert run.peak_rss == 5000


def test_a_failed_start_is_final_for_the_exercise(fake_child):
    fake_child.failure = ChildDied(Status.IMPORT_FAILED, "svm.py raised NameError")
    run = exercise_run()
    for _ in range(2):
        with pytest.raises(ChildDied) as caught:
            run.child()
        assert caught.value is fake_child.failure
    fake_child.failure = None
    with pytest.raises(ChildDied):
        run.child()
    assert fake_child.started == []


def test_an_import_that_timed_out_says_so_and_names_the_start_limit(fake_child):
    fake_child.failure = ChildDied(Status.TIMEOUT, "timeout")
    with pytest.raises(ChildDied) as caught:
        exercise_run().child()
    assert caught.value.status is Status.TIMEOUT
    assert caught.value.message == (
        f"svm.py did not finish importing within {START_SECONDS:g} s: code at the top level of the "
        "module runs at import (move experiments under if __name__ == '__main__':)"
    )


def test_an_import_cut_by_the_exercise_budget_names_the_budget(fake_child):
    fake_child.failure = ChildDied(Status.TIMEOUT, "timeout")
    run = exercise_run()
    run.deadline = time.monotonic() - 1
    run._start_failure = None
    with pytest.raises(ChildDied) as caught:
        run.child()
    # the budget ran out before the start: no child is started at all
    assert caught.value.message == f"the exercise's time budget of {run.limits.wall_seconds:g} s was used up"
    assert fake_child.started == []


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def test_a_start_that_times_out_after_the_deadline_names_the_budget(fake_child, monkeypatch):
    fake_child.failure = ChildDied(Status.TIMEOUT, "timeout")
    run = exercise_run()
    clock = FakeClock(run.deadline - 10)
    fake_child.on_start.append(lambda: setattr(clock, "now", run.deadline + 1))  # the import ate the budget
    monkeypatch.setattr(session_module, "time", clock)
    with pytest.raises(ChildDied) as caught:
        run.child()
    assert "did not finish importing before the exercise's time budget ran out" in caught.value.message


def test_other_start_failures_are_kept_as_they_are(fake_child):
    fake_child.failure = ChildDied(Status.CRASHED, "signal 11")
    with pytest.raises(ChildDied) as caught:
        exercise_run().child()
    assert caught.value is fake_child.failure


def test_the_time_a_failed_start_took_counts_as_waited(fake_child, monkeypatch):
    run = exercise_run()
    run.child().alive = False  # a first child, which waited 1.5 s in all (see FakeChild)
    fake_child.failure = ChildDied(Status.CRASHED, "signal 11")
    clock = FakeClock(run.deadline - 100)
    fake_child.on_start.append(lambda: setattr(clock, "now", clock.now + 2.5))
    monkeypatch.setattr(session_module, "time", clock)
    with pytest.raises(ChildDied):
        run.child()
    assert run.waited == pytest.approx(1.5 + 2.5)


def test_a_session_sees_what_its_run_was_given(fake_child):
    run = ExerciseRun(
        EXERCISE,
        Path("/nowhere/svm.py"),
        source := SourceReport(),
        mode="test",
        seed=5,
        secret=SECRET,
        data_dir=None,
        expectations=Expectations(stored={"svm/values/reg>0/loss": 1.5}),
    )
    session = Session(run, check(HIDDEN), 7)
    assert (session.mode, session.source, run.seed) == ("test", source, 5)
    assert session.expected("loss", lambda: 0.0) == 1.5
    assert run.secret == SECRET and run.peak_rss == 0


def test_test_mode_gets_the_test_budget(fake_child):
    assert exercise_run("test").limits.wall_seconds > exercise_run("dev").limits.wall_seconds


def test_once_computes_a_value_once_and_keeps_a_failure_too():
    run = exercise_run()
    calls = []
    assert run.once("k", lambda: calls.append(1) or 42) == 42
    assert run.once("k", lambda: calls.append(1) or 43) == 42
    assert calls == [1]
    error = ValueError("training diverged")

    def fail():
        calls.append(2)
        raise error

    for _ in range(2):
        with pytest.raises(ValueError) as caught:
            run.once("bad", fail)
        assert caught.value is error
    assert calls == [1, 2]


def test_a_dataset_is_loaded_once_from_the_data_dir(monkeypatch):
    loads = []

    def load(name, data_dir, download, progress):
        loads.append((name, data_dir, download))
        return SimpleNamespace(files=[SimpleNamespace(_asdict=lambda: {"name": f"{name}.gz"})])

    monkeypatch.setattr(session_module.datasets, "load", load)
    clock = PhaseClock()
    run = exercise_run(data_dir=Path("/data"), clock=clock)
    assert run.dataset("mnist") is run.dataset("mnist")
    assert loads == [("mnist", Path("/data"), True)]
    assert run.dataset_records() == {"mnist": [{"name": "mnist.gz"}]}
    assert "datasets" in clock.seconds


def test_an_unavailable_dataset_is_data_unavailable(monkeypatch):
    def load(*args, **kwargs):
        raise datasets.DatasetUnavailable("mnist: no copy and no network")

    monkeypatch.setattr(session_module.datasets, "load", load)
    with pytest.raises(DataUnavailable, match="mnist: no copy and no network"):
        exercise_run().dataset("mnist")


def test_without_solutions_the_students_code_stands_in_for_the_reference(monkeypatch, fake_child):
    monkeypatch.setattr(session_module, "solutions_dir", lambda: None)
    run = exercise_run()
    stand_in = run.reference()
    assert isinstance(stand_in, session_module.StudentStandIn)
    assert run.reference() is stand_in


def test_with_solutions_the_reference_module_is_loaded(monkeypatch):
    monkeypatch.setattr(session_module, "load_reference", lambda exercise: f"reference of {exercise}")
    monkeypatch.setattr(session_module, "solutions_dir", lambda: Path("/solutions"))
    assert exercise_run().reference() == "reference of svm"
