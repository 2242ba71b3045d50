"""Whole submissions that try to earn points without the work.

Each trick is graded next to its honest counterpart (the same work without
the trick: a zero gradient without the cache, the loop written in the
function itself); the trick must score no more, fail the check it aims at
with a message naming why, and show that its payload ran (the values it
computes through the trick pass their own checks).
"""

from __future__ import annotations

import ast

import pytest

from autograder.results import GradingResult, Status
from tests.conftest import checks_by_name, grade_files, mutate, reference_source


def score(result: GradingResult, exercise: str) -> float:
    return sum(check.score for check in checks_by_name(result, exercise).values())


def function_source(source: str, name: str, new_name: str) -> str:
    """The text of function ``name`` of ``source``, renamed ``new_name``."""
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    text = ast.get_source_segment(source, node)
    return text.replace(f"def {name}(", f"def {new_name}(", 1)


def graded(tmp_path, exercise: str, source: str) -> dict:
    result = grade_files(tmp_path, {f"{exercise}.py": source}, only=(exercise,))
    assert not result.grader_fault
    return checks_by_name(result, exercise) | {"__score__": score(result, exercise)}


# -- gradient checks anchored to the reference -------------------------------------------------

SVM_ZERO_DW = """

import numpy as _np

_right = {"naive": svm_loss_naive, "vectorized": svm_loss_vectorized}
_seen = []


def _loss(kind, W, X, y, reg):
    key = (X.tobytes(), y.tobytes(), reg)
    for point, seen_key, value in _seen if CACHING else ():
        if seen_key == key and point.shape == W.shape and _np.max(_np.abs(point - W)) < 1e-3:
            return value, _np.zeros_like(W)
    value = _right[kind](W, X, y, reg)[0]
    _seen.append((W.copy(), key, value))
    return value, _np.zeros_like(W)


def svm_loss_naive(W, X, y, reg):
    return _loss("naive", W, X, y, reg)


def svm_loss_vectorized(W, X, y, reg):
    return _loss("vectorized", W, X, y, reg)
"""

CONV_ZERO_BACKWARD = """

import numpy as _np

_right_forward = conv_forward_naive
_seen = []


def _near(a, b):
    return a.shape == b.shape and _np.max(_np.abs(a - b)) < 1e-3


def conv_forward_naive(x, w, b, conv_param):
    for (px, pw, pb, param), out in _seen if CACHING else ():
        if param == conv_param and _near(px, x) and _near(pw, w) and _near(pb, b):
            return out, (x, w, b, conv_param)
    out, cache = _right_forward(x, w, b, conv_param)
    _seen.append(((x.copy(), w.copy(), b.copy(), dict(conv_param)), out))
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    return _np.zeros_like(x), _np.zeros_like(w), _np.zeros_like(b)
"""


@pytest.mark.parametrize(
    "exercise,tail,gradient_checks",
    [
        ("svm", SVM_ZERO_DW, ["svm_loss_naive: dW matches", "svm_loss_vectorized: dW matches"]),
        ("conv", CONV_ZERO_BACKWARD, ["conv backward matches the numerical gradient"]),
    ],
    ids=["svm loss caching nudged inputs", "conv forward caching nudged inputs"],
)
def test_a_loss_caching_nudged_inputs_earns_no_gradient_points(tmp_path, exercise, tail, gradient_checks):
    honest = graded(tmp_path / "honest", exercise, reference_source(exercise) + "\nCACHING = False\n" + tail)
    trick = graded(tmp_path / "trick", exercise, reference_source(exercise) + "\nCACHING = True\n" + tail)
    assert trick["__score__"] <= honest["__score__"]
    names = [name for name in trick if any(name.startswith(prefix) for prefix in gradient_checks)]
    assert names
    for name in names:
        assert trick[name].status is Status.FAILED, (name, trick[name].message)
        # the cache answered: the failure is the anchor's, not the honest "your gradient
        # disagrees with your own loss" of the same zero gradient without the cache
        assert "near the point where" in trick[name].message, trick[name].message
        assert "from its input" in trick[name].hint
        assert "numerical gradient" in honest[name].message, honest[name].message


# -- loop checks follow calls --------------------------------------------------------------------

SVM = reference_source("svm")
NAIVE_AS_VECTORIZED = SVM + "\n\n" + function_source(SVM, "svm_loss_naive", "svm_loss_vectorized") + "\n"
MARGINS = "np.maximum(0.0, scores - scores[rows, y][:, np.newaxis] + 1.0)"
MARGINS_IN_A_COMPREHENSION = (
    "np.array([[max(0.0, m) for m in row] for row in scores - scores[rows, y][:, np.newaxis] + 1.0])"
)

HIDDEN_LOOPS = {
    "a helper": (
        SVM + "\n\ndef _rows(W, X, y, reg):\n    return svm_loss_naive(W, X, y, reg)\n\n\n"
        "def svm_loss_vectorized(W, X, y, reg):\n    return _rows(W, X, y, reg)\n",
        NAIVE_AS_VECTORIZED,
        "in svm_loss_naive, reached through svm_loss_vectorized -> _rows -> svm_loss_naive",
    ),
    "np.vectorize": (
        mutate(
            SVM, MARGINS, "np.vectorize(lambda m: max(0.0, m))(scores - scores[rows, y][:, np.newaxis] + 1.0)"
        ),
        mutate(SVM, MARGINS, MARGINS_IN_A_COMPREHENSION),
        "np.vectorize",
    ),
    "map": (
        mutate(
            SVM,
            MARGINS,
            "np.array(list(map(lambda row: [max(0.0, m) for m in row], "
            "scores - scores[rows, y][:, np.newaxis] + 1.0)))",
        ),
        mutate(SVM, MARGINS, MARGINS_IN_A_COMPREHENSION),
        "map",
    ),
    "getattr dispatch": (
        SVM + "\n\nimport sys\n\n\ndef svm_loss_vectorized(W, X, y, reg):\n"
        "    return getattr(sys.modules[__name__], 'svm_loss_' + 'naive')(W, X, y, reg)\n",
        NAIVE_AS_VECTORIZED,
        "getattr() with a name computed at run time",
    ),
    "a cached answer (speed)": (
        SVM + "\n\n_answers = {}\n\n\ndef svm_loss_vectorized(W, X, y, reg):\n"
        "    key = (W.tobytes(), X.tobytes(), y.tobytes(), reg)\n"
        "    if key not in _answers:\n        _answers[key] = svm_loss_naive(W, X, y, reg)\n"
        "    return _answers[key]\n",
        NAIVE_AS_VECTORIZED,
        "in svm_loss_naive, reached through svm_loss_vectorized -> svm_loss_naive",
    ),
}


@pytest.fixture(scope="module")
def honest_loops(tmp_path_factory):
    """The honest counterparts, graded once each."""
    done: dict[str, dict] = {}

    def grade(source: str) -> dict:
        if source not in done:
            done[source] = graded(tmp_path_factory.mktemp("honest"), "svm", source)
        return done[source]

    return grade


SVM_SPEED = "svm_loss_vectorized at least 10x faster than the naive loops"


@pytest.mark.parametrize("name", HIDDEN_LOOPS)
def test_a_hidden_loop_earns_no_loop_points(tmp_path, honest_loops, name):
    trick_source, honest_source, says = HIDDEN_LOOPS[name]
    trick, honest = graded(tmp_path, "svm", trick_source), honest_loops(honest_source)
    # Both loop in Python over every margin (3-11x the speed check's baseline, against its
    # 10x, at either size measured): either may pass it, so the scores leave it out.
    assert trick["__score__"] - trick[SVM_SPEED].score <= honest["__score__"] - honest[SVM_SPEED].score
    no_loops = trick["no loops in svm_loss_vectorized"]
    assert no_loops.status is Status.FAILED and says in no_loops.message, no_loops.message
    # the payload ran: the answer computed through the trick is right
    assert trick["svm_loss_vectorized: loss, reg > 0"].status is Status.PASSED
    speed = trick[SVM_SPEED]
    if name == "a cached answer (speed)":  # the cache is never hit: every timed input is new
        assert speed.status is Status.FAILED and "faster than a loop version" in speed.message, speed.message


def test_a_method_calling_the_loop_version_earns_no_loop_points(tmp_path):
    knn = reference_source("knn")
    marker = "        ### BEGIN SOLUTION\n        squared"
    trick_source = mutate(knn, marker, "        return self._all(X)\n" + marker) + (
        "\n\ndef _all(self, X):\n    return self.compute_distances_two_loops(X)\n\n\n"
        "KNearestNeighbor._all = _all\n"
    )
    inline = "        return np.array([[np.sqrt(np.sum((x - t) ** 2)) for t in self.X_train] for x in X])\n"
    honest = graded(tmp_path / "honest", "knn", mutate(knn, marker, inline + marker))
    trick = graded(tmp_path / "trick", "knn", trick_source)
    assert trick["__score__"] <= honest["__score__"]
    no_loops = trick["no loops in compute_distances_no_loops"]
    assert no_loops.status is Status.FAILED, no_loops.message
    assert "in KNearestNeighbor.compute_distances_two_loops" in no_loops.message, no_loops.message
    assert trick["distances, no loops"].status is Status.PASSED  # the payload computed them
