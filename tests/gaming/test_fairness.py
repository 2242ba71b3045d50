"""Fair hidden checks: every property a hidden check tests is also tested by
a visible check, so a student learns of a bug before the final grade; and the
visible checks that carry the properties a hidden check used to test alone."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks import EXERCISES, conv, knn
from autograder.checks.base import HIDDEN, VISIBLE
from autograder.results import Status
from tests.conftest import checks_by_name, grade_files, mutate, reference_source


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_hidden_properties_are_all_tested_by_visible_checks(exercise):
    checks = EXERCISES[exercise].checks
    assert all(check.properties for check in checks), [c.name for c in checks if not c.properties]
    hidden = frozenset().union(*(c.properties for c in checks if c.visibility == HIDDEN))
    visible = frozenset().union(*(c.properties for c in checks if c.visibility == VISIBLE))
    assert hidden <= visible, sorted(hidden - visible)


def test_every_hidden_geometry_has_only_visible_properties():
    visible = {
        kind: frozenset().union(*(case.features for case in cases))
        for kind, cases in (("conv", conv.CONV_CASES), ("pool", conv.POOL_CASES))
    }
    rng = np.random.default_rng(2024)
    for _ in range(5000):
        assert conv.random_conv_case(rng).features <= visible["conv"]
        assert conv.random_pool_case(rng).features <= visible["pool"]


UNCLIPPED = ("dists = np.sqrt(np.maximum(squared, 0.0))", "dists = np.sqrt(squared)")


def test_visible_no_loop_check_names_the_missing_clip_before_sqrt(tmp_path):
    source = mutate(reference_source("knn"), *UNCLIPPED)
    result = grade_files(tmp_path, {"knn.py": source}, only=("knn",))
    check = checks_by_name(result, "knn")["distances, no loops"]
    assert check.status is Status.FAILED
    assert "test point equal to a training point" in check.message
    assert check.hint == knn.DUPLICATES_NAN
    assert checks_by_name(result, "knn")["distances, two loops"].status is Status.PASSED


def test_nan_away_from_duplicates_stays_invalid_output(tmp_path):
    source = mutate(reference_source("knn"), UNCLIPPED[0], "dists = np.sqrt(squared - 1e4)")
    result = grade_files(tmp_path, {"knn.py": source}, only=("knn",))
    check = checks_by_name(result, "knn")["distances, no loops"]
    assert check.status is Status.INVALID_OUTPUT and check.hint != knn.DUPLICATES_NAN


LOG_SUM_EXP = (
    "    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))\n"
    "    loss = -np.sum(log_probs[rows, y]) / num_train + reg * np.sum(W * W)\n"
    "    dscores = np.exp(log_probs)\n"
)
STABILITY = "softmax_loss_vectorized: stable for scores near 1000"


@pytest.mark.parametrize(
    "guarded_log",
    ["np.log(probs[rows, y] + 1e-7)", "np.log(np.clip(probs[rows, y], 1e-12, 1.0))"],
)
def test_max_shift_with_an_epsilon_before_log_passes_the_stability_check(tmp_path, guarded_log):
    with_epsilon = (
        "    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)\n"
        f"    loss = -np.sum({guarded_log}) / num_train + reg * np.sum(W * W)\n"
        "    dscores = probs.copy()\n"
    )
    source = mutate(reference_source("softmax"), LOG_SUM_EXP, with_epsilon)
    result = grade_files(tmp_path, {"softmax.py": source}, only=("softmax",))
    check = checks_by_name(result, "softmax")[STABILITY]
    assert check.status is Status.PASSED, check.message


def test_skipping_the_max_shift_fails_the_stability_check(tmp_path):
    shift = "    scores = scores - np.max(scores, axis=1, keepdims=True)\n"
    source = mutate(reference_source("softmax"), shift, "")
    result = grade_files(tmp_path, {"softmax.py": source}, only=("softmax",))
    check = checks_by_name(result, "softmax")[STABILITY]
    assert check.status is Status.FAILED and "maximum score" in check.hint
    assert checks_by_name(result, "softmax")["softmax_loss_vectorized: loss, reg > 0"].status is Status.PASSED
