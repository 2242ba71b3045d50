"""The grader's gradient check names the worst element and its numerical value
(moved whole from the svm reference tests: it tests the grader, not the svm)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.base import CheckFailed
from autograder.checks.gradcheck import check_gradient


def test_gradient_check_names_the_worst_element():
    x = np.arange(6.0).reshape(2, 3)
    wrong = 2 * x
    wrong[1, 2] += 0.5
    with pytest.raises(CheckFailed, match=r"\[1, 2\].*numerical gradient 10"):
        check_gradient("grad", wrong, lambda v: float(np.sum(v**2)), x, np.random.default_rng(0))
