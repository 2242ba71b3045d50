"""CI's promise: every reference scores 100 %, every untouched stub scores 0."""

from __future__ import annotations

import pytest

from autograder.checks import EXERCISES
from autograder.grading import Options, grade
from autograder.results import Status
from tests.conftest import ASSIGNMENTS, DATA_DIR, SOLUTIONS, require_data


@pytest.mark.parametrize("mode", ["dev", "test"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_reference_scores_full_marks(exercise, mode):
    if exercise in ("knn", "mlp"):
        require_data()
    result = grade(SOLUTIONS, Options(mode=mode, only=(exercise,), data_dir=DATA_DIR))
    failed = [
        (c.name, c.status.value, c.message)
        for e in result.exercises
        for c in e.checks
        if c.score < c.max_score
    ]
    assert failed == []
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("mode", ["dev", "test"])
@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_stub_scores_zero_as_not_attempted(exercise, mode):
    result = grade(ASSIGNMENTS, Options(mode=mode, only=(exercise,), data_dir=DATA_DIR))
    statuses = {c.status for e in result.exercises for c in e.checks}
    assert result.score == 0
    assert statuses == {Status.NOT_ATTEMPTED}
    assert not result.grader_fault


# -- stubs of softmax, optim and conv (moved from test_references_softmax_optim_conv.py)
import inspect  # noqa: E402

import numpy as np  # noqa: E402

from tests.exercises.oracles import MODULES, ROOT, SOL, STUB  # noqa: E402
from tests.exercises.test_softmax import softmax_data  # noqa: E402


# ----------------------------------------------------------------------- stubs
def public_functions(module):
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.mark.parametrize("name", MODULES)
def test_solution_markers_are_well_formed(name):
    lines = (ROOT / f"solutions/{name}.py").read_text().splitlines()
    markers = [ln.strip() for ln in lines if "### BEGIN SOLUTION" in ln or "### END SOLUTION" in ln]
    assert markers, "no solution region"
    assert markers == ["### BEGIN SOLUTION", "### END SOLUTION"] * (len(markers) // 2)
    assert all("SOLUTION" not in ln for ln in (ROOT / "solutions/_fast_conv.py").read_text().splitlines())


STUB_FUNCTIONS = [
    pytest.param(module, func, id=f"{module}.{func}")
    for module in MODULES
    for func in public_functions(SOL[module])
]


@pytest.mark.parametrize("name", MODULES)
def test_stub_defines_the_same_functions(name):
    assert public_functions(STUB[name]).keys() == public_functions(SOL[name]).keys()
    assert STUB[name].__doc__ == SOL[name].__doc__


@pytest.mark.parametrize(("module", "func"), STUB_FUNCTIONS)
def test_stub_signature_and_docstring_match(module, func):
    solution, stub = getattr(SOL[module], func), getattr(STUB[module], func)
    assert inspect.signature(stub) == inspect.signature(solution)
    assert stub.__doc__ == solution.__doc__
    assert stub.__doc__ and "Parameters\n    ----------" in stub.__doc__
    assert "Returns\n    -------" in stub.__doc__


def _valid_arguments(module, func):
    """Valid inputs for each public function (the stubs must still raise)."""
    rng = np.random.default_rng(0)
    W, X, y = softmax_data(4, 3, 2, seed=0)
    x = rng.standard_normal((1, 2, 5, 5))
    w, b = rng.standard_normal((2, 2, 3, 3)), np.zeros(2)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    arguments = {
        "softmax_loss_naive": (W, X, y, 0.1),
        "softmax_loss_vectorized": (W, X, y, 0.1),
        "softmax_loss": (X, y),
        "sgd_momentum": (W, W.copy(), None),
        "rmsprop": (W, W.copy(), None),
        "adam": (W, W.copy(), None),
        "conv_forward_naive": (x, w, b, conv_param),
        "conv_backward_naive": (np.ones((1, 2, 5, 5)), (x, w, b, conv_param)),
        "max_pool_forward_naive": (x, pool_param),
        "max_pool_backward_naive": (np.ones((1, 2, 4, 4)), (x, pool_param)),
    }
    return arguments[func]


@pytest.mark.parametrize(("module", "func"), STUB_FUNCTIONS)
def test_stub_raises_not_implemented(module, func):
    args = _valid_arguments(module, func)
    getattr(SOL[module], func)(*args)  # the arguments are valid for the solution
    with pytest.raises(NotImplementedError):
        getattr(STUB[module], func)(*_valid_arguments(module, func))
