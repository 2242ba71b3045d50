"""Attacks on the reports: text a submission controls (exception messages, file
and folder names), non-finite numbers it sends, and hidden checks' inputs it
tries to get printed.

Each attack is graded through the command line (``grade`` with ``--json``,
``--instructor-json`` and ``--html``, or ``batch``) and must: exit 0, score no
more than the honest reference, get a named verdict, leave everything around
it intact, and find every output inert (no control character, escape
sequence or bidirectional override), strict JSON, and free of hidden checks'
messages wherever a student may read it. Each also proves its payload ran:
the instructor's record holds the raw text the reports neutralized.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import pytest

from autograder import datasets
from autograder.cli import main
from autograder.results import GradingResult, Status, result_from_dict
from tests.conftest import DATA_DIR, grade_files, reference_source
from tests.reports.strict import UNSAFE, json_shown, strict_loads
from tests.sandbox.attacks.support import Scene, assert_contained, svm_attack

BUDGET_SECONDS = 30.0
"""Exercise budget of each attack run: the honest svm.py needs a few seconds."""


FORGERY = "\\x1b[2J\\x1b[H\\x1b]0;graded\\x07\\rTOTAL 100 / 100\\u202e001 / 0 LATOT\\u2066\\n"
"""Python source of a text that clears the screen, sets the terminal's title,
rewrites its own line with a better total and reverses what follows."""


@dataclass
class Graded:
    """What ``autograder grade`` printed and wrote for one attack."""

    exit: int
    printed: str
    results: str
    document: dict
    page: str
    instructor: str
    result: GradingResult

    def student_outputs(self) -> dict[str, str]:
        """Every output a student may read."""
        return {"text": self.printed, "results.json": self.results, "html": self.page}


def grade_cli(scene: Scene, files: dict[str, str], capsys, *options: str) -> Graded:
    """Write the attacker's files and grade them with the command line."""
    scene.folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (scene.folder / name).write_text(scene.fill(text))
    out = scene.folder.parent / "outputs"
    out.mkdir()
    code = main(
        ["grade", str(scene.folder), "--data-dir", str(DATA_DIR), *options, "--json", str(out / "r.json"),
         "--instructor-json", str(out / "i.json"), "--html", str(out / "f.html")]
    )  # fmt: skip
    instructor = (out / "i.json").read_text()
    record = strict_loads(instructor)
    return Graded(
        code,
        capsys.readouterr().out,
        json_shown((out / "r.json").read_text()),
        strict_loads((out / "r.json").read_text()),
        (out / "f.html").read_text(),
        instructor,
        result_from_dict(record["result"]),
    )


def assert_inert(graded: Graded) -> None:
    """No student-visible output carries a control character or override, and the
    text report's only TOTAL line is its last, with the real score."""
    for name, text in graded.student_outputs().items():
        assert not UNSAFE.search(text), (name, UNSAFE.findall(text))
    lines = graded.printed.splitlines()
    assert [line for line in lines if line.startswith("TOTAL")] == [lines[-1]]
    assert lines[-1].startswith(f"TOTAL {graded.result.score:g} / {graded.result.max_score:g} ")
    assert graded.document["score"] == round(graded.result.score, 6)


def test_attack_escape_sequences_in_an_exception_message(scene, honest, short_budget, capsys):
    short_budget(BUDGET_SECONDS)
    graded = grade_cli(
        scene, {"svm.py": svm_attack(f'raise ValueError("{FORGERY}")')}, capsys, "--only", "svm"
    )
    assert graded.exit == 0
    assert_contained(graded.result, honest, scene, (Status.ERROR,), "ValueError")
    # The instructor record holds the message as the reports show it: escapes made visible.
    messages = [c.message for e in graded.result.exercises for c in e.checks]
    assert any("\\x1b[2J" in m and "TOTAL 100 / 100" in m for m in messages), "the payload never ran"
    assert_inert(graded)
    assert "\\x1b[2J" in graded.printed, "the escape is shown, not dropped"


def test_attack_escape_sequences_and_newlines_in_a_file_name(scene, honest, short_budget, capsys):
    """A file beside svm.py whose name moves the cursor, returns the carriage,
    starts a forged TOTAL line and reverses the text: named as ignored, inert."""
    short_budget(BUDGET_SECONDS)
    name = "notes\x1b[1A\rTOTAL 100 \u2215 100\nTOTAL 100 \u2215 100\u202eyp.txt"  # U+2215: a slash
    graded = grade_cli(scene, {"svm.py": reference_source("svm"), name: "x"}, capsys, "--only", "svm")
    assert graded.exit == 0 and graded.result.score == honest.score
    notes = [note for e in graded.result.exercises for note in e.notes]
    shown = "notes\\x1b[1A\\x0dTOTAL 100 \u2215 100\\x0aTOTAL 100 \u2215 100\\u202eyp.txt"
    assert any("yp.txt" in note for note in notes), notes  # the name reached the result
    assert shown in graded.printed
    assert_inert(graded)
    scene.assert_intact()


NAN_LOSSES_MODULE = """
import numpy as np


class NeuralNetwork:
    def __init__(self, input_size=784, hidden_size=128, output_size=10, lr=0.01):
        self.W1 = np.zeros((input_size, hidden_size))
        self.b1 = np.zeros(hidden_size)
        self.W2 = np.zeros((hidden_size, output_size))
        self.b2 = np.zeros(output_size)
        self.steps = 0

    def forward(self, X):
        return np.full((len(X), 10), 0.1)

    def backward(self, X, y, probs):
        return 0.0

    def train_step(self, X, y):
        self.steps += 1
        return (float("nan"), float("inf"), -float("inf"))[self.steps % 3]

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)
"""


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no NumPy warning printed to the grader's stderr
def test_attack_nan_and_infinite_training_losses(scene, short_budget, capsys):
    """train_step returns NaN, inf and -inf: the results are strict JSON (the
    losses null), the page draws what is finite, and the accuracy check fails."""
    try:
        datasets.load("mnist", DATA_DIR, progress=False)
    except datasets.DatasetUnavailable as missing:
        pytest.skip(f"MNIST is not on this machine: {missing}")
    graded = grade_cli(scene, {"mlp.py": NAN_LOSSES_MODULE}, capsys, "--only", "mlp")
    assert graded.exit == 0 and graded.result.score < graded.result.max_score
    accuracy = next(c for e in graded.result.exercises for c in e.checks if "accuracy" in c.name)
    assert accuracy.status is Status.FAILED and "accuracy" in accuracy.message
    shown = next(t for t in graded.document["tests"] if "accuracy" in t["name"])
    assert shown["extra_data"]["epoch_losses"] and set(shown["extra_data"]["epoch_losses"]) == {None}
    assert 'alt="training loss"' in graded.page
    assert_inert(graded)
    scene.assert_intact()


def test_attack_formula_and_escapes_in_a_student_name(tmp_path, honest):
    """Batch entries named as spreadsheet formulas (and with escapes): the
    gradebook shows them as text, every output stays strict and inert, and the
    honest classmate's row is untouched."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    names = ["=cmd|' -C calc'!A0", "@SUM(1+1)*cmd\x1b[2J\u202e", "+1+cmd", "bob"]
    for name in names:
        (subs / name).mkdir(parents=True)
        (subs / name / "svm.py").write_text(reference_source("svm"))
    assert main(["batch", str(subs), "--out", str(out), "--only", "svm", "--mode", "dev"]) == 0
    with (out / "gradebook.csv").open() as handle:
        book = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(book) == {"'=cmd|' -C calc'!A0", "'@SUM(1+1)*cmd\\x1b[2J\\u202e", "'+1+cmd", "bob"}
    for row in book.values():
        assert float(row["total"]) == honest.score and float(row["max_score"]) == honest.max_score
    assert not UNSAFE.search((out / "gradebook.csv").read_text() + (out / "summary.html").read_text())
    for name in names:
        for file in ("results.json", "instructor.json"):
            strict_loads((out / name / file).read_text())
        assert not UNSAFE.search((out / name / "feedback.html").read_text())


def hidden_checks(result: GradingResult) -> list:
    """The hidden checks of ``result`` that did not pass (with their full messages)."""
    checks = [c for e in result.exercises for c in e.checks]
    return [c for c in checks if c.visibility == "hidden" and c.status is not Status.PASSED]


@pytest.fixture(scope="module")
def honest_test(tmp_path_factory) -> GradingResult:
    """The reference svm.py graded in test mode: what an honest submission earns there."""
    folder = tmp_path_factory.mktemp("honest-test")
    return grade_files(folder, {"svm.py": reference_source("svm")}, only=("svm",), mode="test")


def test_attack_raising_with_the_hidden_inputs(scene, honest_test, capsys):
    """Every call raises with the repr of its inputs: hidden checks' messages
    would print the hidden inputs; students see the verdict, name and hint."""
    payload = 'raise ValueError("INPUTS " + repr(X[:2, :3].tolist()))'
    graded = grade_cli(scene, {"svm.py": svm_attack(payload)}, capsys, "--only", "svm", "--mode", "test")
    assert graded.exit == 0
    assert_contained(graded.result, honest_test, scene, (Status.ERROR,), "INPUTS")
    leaks = [c.message.split("INPUTS ")[1] for c in hidden_checks(graded.result) if "INPUTS " in c.message]
    assert leaks, "the payload never ran in a hidden check"
    for leak in leaks:
        assert leak in graded.instructor
        for name, text in graded.student_outputs().items():
            assert leak not in text and json.dumps(leak)[1:-1] not in text, (name, leak)
    assert_hidden_checks_shown_safely(graded)


def test_attack_reading_expected_values_from_hidden_failures(scene, honest_test, capsys):
    """A wrong loss fails hidden checks with "expected X, got Y": X is the
    reference's value on hidden inputs and is never shown to the student."""
    bugged = reference_source("svm") + (
        "\n\n_reference = svm_loss_vectorized\n\n\n"
        "def svm_loss_vectorized(W, X, y, reg):\n"
        "    loss, dW = _reference(W, X, y, reg)\n"
        "    return loss + 1.0, dW\n"
    )
    graded = grade_cli(scene, {"svm.py": bugged}, capsys, "--only", "svm", "--mode", "test")
    assert graded.exit == 0
    assert_contained(graded.result, honest_test, scene, (Status.FAILED,), "expected")
    failed = hidden_checks(graded.result)
    expected = [c.message.split("expected ")[1] for c in failed if "expected " in c.message]
    assert expected, "no hidden check failed on the planted bug"
    for value in expected:
        for name, text in graded.student_outputs().items():
            assert value not in text, (name, value)
    assert_hidden_checks_shown_safely(graded)


def assert_hidden_checks_shown_safely(graded: Graded) -> None:
    """Each failed hidden check still shows its name, verdict and hint, and the
    instructor record holds its full message."""
    tests = {t["name"]: t for t in graded.document["tests"]}
    for check in hidden_checks(graded.result):
        shown = tests[f"{check.exercise}: {check.name}"]["output"]
        assert shown.startswith(check.status.value) and "withheld" in shown
        assert not check.hint or check.hint in shown or check.hint in graded.document["output"]
        assert check.name in graded.printed
        assert json.dumps(check.message)[1:-1] in graded.instructor
