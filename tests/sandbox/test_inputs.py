"""Inputs reach student code as the arrays the grader holds, however they travel.

An array of up to ``INLINE_BYTES`` rides inside the request line; a larger one
is a file in the exchange folder. Either way the student's function gets a
writable, C-ordered array of the same values, dtype and shape, and an inline
array leaves no file behind.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.sandbox.child import INLINE_BYTES, inline
from tests.conftest import start_child

SECONDS = 30.0
"""Budget of one direct ``Child`` run here (each needs about 1 s)."""

MODULE = """
import os

import numpy as np


def received(x):
    exchange = os.path.join(os.path.dirname(os.getcwd()), "io")
    files = [name for name in os.listdir(exchange) if name.startswith("in-")]
    facts = [x.flags.writeable, x.flags.c_contiguous, type(x) is np.ndarray]
    facts += [x.dtype.itemsize, ord(x.dtype.kind), x.dtype.isnative, len(files)]
    shape, values = np.array(x.shape, dtype=np.int64), x.reshape(-1).copy()
    x[...] = 0  # the student's own copy
    return np.array(facts, dtype=np.int64), shape, values
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    started = start_child(tmp_path_factory.mktemp("inputs"), "inputs", MODULE, SECONDS)
    yield started
    started.close()


def arrays(elements: int) -> dict[str, np.ndarray]:
    """Arrays of about ``elements`` values in every layout and dtype inputs take."""
    rng = np.random.default_rng(elements)
    square = rng.normal(size=(int(elements**0.5), int(elements**0.5)))
    return {
        "float64": rng.normal(size=elements),
        "Fortran-ordered": square.T,
        "strided": rng.normal(size=2 * elements)[::2],
        "float32": rng.normal(size=elements).astype(np.float32),
        "big-endian int32": np.arange(elements, dtype=">i4"),
        "uint8": rng.integers(0, 256, size=elements, dtype=np.uint8),
        "bool": rng.random(elements) < 0.5,
        "3-D": rng.normal(size=(2, 3, elements // 6)),
    }


SMALL = {f"{name}, inline": array for name, array in arrays(600).items()}
LARGE = {f"{name}, as a file": array for name, array in arrays(40_000).items()}
EDGES = {"0-d": np.array(2.5), "empty (0, 3)": np.zeros((0, 3)), "one value": np.ones(1)}


def test_the_cases_cover_both_ways():
    assert all(array.nbytes <= INLINE_BYTES for array in (*SMALL.values(), *EDGES.values()))
    assert all(array.nbytes > INLINE_BYTES for array in LARGE.values())


@pytest.mark.parametrize("name", [*SMALL, *LARGE, *EDGES])
def test_an_input_arrives_with_its_values_dtype_and_shape(child, name):
    array = {**SMALL, **LARGE, **EDGES}[name]
    before = array.copy()
    facts, shape, values = child.call("received", array, seconds=SECONDS)
    writable, c_ordered, plain, itemsize, kind, native, _ = facts
    assert writable and c_ordered and plain
    assert (itemsize, chr(kind)) == (array.dtype.itemsize, array.dtype.kind)
    assert native or array.dtype.itemsize == 1 or not array.dtype.isnative  # the byte order is kept
    assert list(shape) == list(array.shape)
    np.testing.assert_array_equal(values, array.reshape(-1))
    np.testing.assert_array_equal(array, before)  # writing it there changed nothing here


@pytest.mark.parametrize(("name", "files"), [(next(iter(SMALL)), 0), (next(iter(LARGE)), 1)])
def test_only_a_large_input_is_a_file(child, name, files):
    facts, _, _ = child.call("received", {**SMALL, **LARGE}[name], seconds=SECONDS)
    assert facts[-1] == files


def test_inline_is_the_arrays_c_ordered_bytes_with_dtype_and_shape():
    transposed = np.arange(6, dtype=">i2").reshape(2, 3).T
    sent = inline(transposed)
    assert sent["dtype"] == ">i2" and sent["shape"] == [3, 2]
    assert sent["$array"] == "AAAAAwABAAQAAgAF"  # 0 3 1 4 2 5, big-endian int16
