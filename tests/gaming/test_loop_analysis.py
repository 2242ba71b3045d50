"""The no-loop property follows calls: loops hidden anywhere a function reaches."""

from __future__ import annotations

import ast

import pytest

from autograder.submission.callgraph import reachable_loops

PRELUDE = (
    "import numpy as np\nimport functools\nimport itertools\n\n\n"
    "def naive(x):\n    for row in x:\n        pass\n    return x\n\n\n"
)

HIDDEN = {
    "a helper": ("def f(x):\n    return naive(x)\n", "in naive, reached through f -> naive"),
    "a local alias": ("def f(x):\n    g = naive\n    return g(x)\n", "in naive"),
    "a default argument": ("def f(x, g=naive):\n    return g(x)\n", "in naive"),
    "a lambda": ("def f(x):\n    return (lambda v: [r for r in v])(x)\n", "list comprehension"),
    "a helper's comprehension": (
        "def h(x):\n    return sum(r for r in x)\n\n\ndef f(x):\n    return h(x)\n",
        "generator expression (line 13, in h, reached through f -> h)",
    ),
    "a module dict": ("TABLE = {'n': naive}\n\n\ndef f(x):\n    return TABLE['n'](x)\n", "in naive"),
    "a rebinding": ("def f(x):\n    return x\n\n\nf = naive\n", "in naive, reached through f -> naive"),
    "np.vectorize": ("def f(x):\n    return np.vectorize(abs)(x)\n", "np.vectorize"),
    "np.vectorize as decorator": (
        "@np.vectorize\ndef g(v):\n    return v\n\n\ndef f(x):\n    return g(x)\n",
        "np.vectorize",
    ),
    "np.apply_along_axis": (
        "def f(x):\n    return np.apply_along_axis(np.sum, 1, x)\n",
        "np.apply_along_axis",
    ),
    "np.frompyfunc": ("def f(x):\n    return np.frompyfunc(abs, 1, 1)(x)\n", "np.frompyfunc"),
    "map": ("def f(x):\n    return np.array(list(map(np.sum, x)))\n", "map"),
    "filter": ("def f(x):\n    return list(filter(None, x))\n", "filter"),
    "functools.reduce": ("def f(x):\n    return functools.reduce(np.add, x)\n", "functools.reduce"),
    "itertools.starmap": ("def f(x):\n    return list(itertools.starmap(max, x))\n", "itertools.starmap"),
    "recursion": ("def f(x):\n    return f(x[1:]) if len(x) else 0\n", "recursion"),
    "getattr with a computed name": (
        "import sys\n\n\ndef f(x):\n    return getattr(sys.modules[__name__], 'na' + 'ive')(x)\n",
        "getattr() with a name computed at run time",
    ),
    "globals()": ("def f(x):\n    return globals()['na' + 'ive'](x)\n", "globals"),
    "eval": ("def f(x):\n    return eval('naive')(x)\n", "eval"),
    "exec": ("def f(x):\n    exec('y = 1')\n    return x\n", "exec"),
    "__import__": ("def f(x):\n    return __import__('numpy').sum(x)\n", "__import__"),
    "setattr at import": (
        "def f(x):\n    return x\n\n\nsetattr(__import__('sys').modules[__name__], 'f' + '', naive)\n",
        "setattr() with a name computed at run time",
    ),
}


@pytest.mark.parametrize("name", HIDDEN)
def test_a_hidden_loop_is_found(name):
    source, says = HIDDEN[name]
    reasons = reachable_loops(ast.parse(PRELUDE + source))["f"]
    assert any(says in reason for reason in reasons), reasons


METHODS = """
import numpy as np


class Base:
    def loops(self, X):
        return np.array([x for x in X])


class KNN(Base):
    def two(self, X):
        for i in X:
            pass

    def through_self(self, X):
        return self._helper(X)

    def _helper(self, X):
        return self.two(X)

    def through_an_instance(self, X):
        return KNN().two(X)

    def through_getattr(self, X):
        return getattr(self, "two")(X)

    def inherited(self, X):
        return self.loops(X)

    def clean(self, X):
        return np.sqrt(np.maximum(0, (X**2).sum(1)[:, None] - 2 * X @ X.T))

    def rebound(self, X):
        return X

    def train(self, X):
        self.rebound = self.two
"""


@pytest.mark.parametrize(
    "method,says",
    [
        ("through_self", "in KNN.two, reached through KNN.through_self -> KNN._helper -> KNN.two"),
        ("through_an_instance", "in KNN.two"),
        ("through_getattr", "in KNN.two"),
        ("inherited", "in Base.loops"),
        ("rebound", "in KNN.two"),
    ],
)
def test_loops_of_methods_are_followed(method, says):
    reasons = reachable_loops(ast.parse(METHODS))[f"KNN.{method}"]
    assert any(says in reason for reason in reasons), reasons


def test_vectorized_code_has_no_loop():
    loops = reachable_loops(ast.parse(METHODS))
    assert loops["KNN.clean"] == []
    source = PRELUDE + "def f(x):\n    return np.add.reduce(x) + np.maximum.accumulate(x).sum()\n"
    assert reachable_loops(ast.parse(source))["f"] == []


def test_the_references_vectorized_functions_have_no_loop():
    from autograder.submission.inspect import inspect_source
    from tests.conftest import SOLUTIONS

    for exercise, function in [
        ("svm", "svm_loss_vectorized"),
        ("softmax", "softmax_loss_vectorized"),
        ("knn", "KNearestNeighbor.compute_distances_no_loops"),
    ]:
        assert inspect_source(SOLUTIONS / f"{exercise}.py", frozenset()).loops_in(function) == []


def test_a_module_too_large_to_analyse_fails_with_its_reason():
    from autograder.submission.callgraph import MAX_NODES

    source = "\n".join(f"def f{i}(x):\n    return x" for i in range(MAX_NODES + 1))
    assert "more than the" in reachable_loops(ast.parse(source))["f0"][0]
