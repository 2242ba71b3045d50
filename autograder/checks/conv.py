"""Exercise 5: naive convolution and max-pooling layers (``conv.py``, CS231n signatures).

Forward and backward are graded on a grid of geometries (stride 1 and 2,
pad 0, 1 and 2, non-square inputs and filters, N = 1; pooling windows that
tile, overlap, or are not square). Backward is judged against the reference
and, separately, against a numerical gradient of the student's own forward.

The student's caches never leave the sandbox: every forward call keeps
element 1 of its result in the child (``session.call_keeping``) and the
backward call gets it back by name. The visible expected values come from
the grader-internal fast reference ``_fast_conv`` (the naive reference is the
students' solution; it computes what the known bugs return, each a loop
written wrong). Both are checked against torch to 1e-10.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np

from autograder.checks.base import HIDDEN, VISIBLE, Check, CheckFailed, Exercise
from autograder.checks.compare import Suspect, as_array, as_tuple, assert_close
from autograder.checks.gradcheck import Batched, anchored, check_gradient, loss_at_points
from autograder.checks.session import Session
from autograder.results import Status
from autograder.sandbox import Kept

FAST_REFERENCE = "_fast_conv"
"""The loop-free reference (solutions/_fast_conv.py) of every expected value and
numerical-gradient anchor: 10-30x faster than the naive one on the visible
cases (27 us against 190-980 us per forward), which made a third of the
grader's own time in this exercise."""

POOL_SPACING = 0.1
"""Pooling inputs are a shuffled grid of this spacing plus a jitter of at
most half of it: two values differ by at least 0.05, so no window has a tie
and a centred difference (step 1e-5) never changes which value is a maximum."""

HIDDEN_CONV = {
    "N": (1, 4),
    "C": (1, 4),
    "F": (1, 6),
    "kernel": (1, 4),
    "stride": (1, 2),
    "pad": (0, 2),
    "out": (2, 9),
}
"""Inclusive ranges of the hidden convolutions. At most 4 * 6 * 9 * 9 = 1,944
outputs of 4 * 4 * 4 = 64 products each: 0.2 s for a six-loop solution."""

HIDDEN_POOL = {"N": (1, 4), "C": (1, 4), "window": (1, 3), "stride": (1, 3), "out": (2, 9)}
"""Inclusive ranges of the hidden poolings; sizes are chosen so that the
windows tile the input exactly, as CS231n assumes."""

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ConvCase:
    """A convolution geometry.

    Attributes
    ----------
    label : str
        Shown in the check's name.
    x_shape : tuple of int
        (N, C, H, W).
    filters : tuple of int
        (F, HH, WW).
    stride, pad : int
    """

    label: str
    x_shape: tuple[int, int, int, int]
    filters: tuple[int, int, int]
    stride: int
    pad: int

    @property
    def features(self) -> frozenset[str]:
        """The geometric properties a check on this case tests."""
        num, _, height, width = self.x_shape
        _, kernel_h, kernel_w = self.filters
        named = {
            "non-square input": height != width,
            "non-square filters": kernel_h != kernel_w,
            "N = 1": num == 1,
        }
        return frozenset({f"stride {self.stride}", f"pad {self.pad}"} | {k for k, on in named.items() if on})

    @property
    def w_shape(self) -> tuple[int, int, int, int]:
        """(F, C, HH, WW)."""
        num_filters, height, width = self.filters
        return num_filters, self.x_shape[1], height, width

    @property
    def param(self) -> dict[str, int]:
        """CS231n's ``conv_param``."""
        return {"stride": self.stride, "pad": self.pad}

    def out_shape(self, stride: int | None = None, pad: int | None = None, swap: str = "") -> Shape:
        """(N, F, H', W'); with another stride or pad, or H and W mixed up, what a bug returns.

        ``swap="W"`` computes W' from H (H where W belongs), ``swap="H"`` H' from W.
        """
        stride = self.stride if stride is None else stride
        pad = self.pad if pad is None else pad
        num, _, height, width = self.x_shape
        num_filters, kernel_h, kernel_w = self.filters
        rows = height if swap != "H" else width
        cols = width if swap != "W" else height
        return (
            num,
            num_filters,
            1 + (rows + 2 * pad - kernel_h) // stride,
            1 + (cols + 2 * pad - kernel_w) // stride,
        )


@dataclass(frozen=True)
class PoolCase:
    """A max-pooling geometry.

    Attributes
    ----------
    label : str
        Shown in the check's name.
    x_shape : tuple of int
        (N, C, H, W).
    window : tuple of int
        (pool_height, pool_width).
    stride : int
    """

    label: str
    x_shape: tuple[int, int, int, int]
    window: tuple[int, int]
    stride: int

    @property
    def param(self) -> dict[str, int]:
        """CS231n's ``pool_param``."""
        return {"pool_height": self.window[0], "pool_width": self.window[1], "stride": self.stride}

    @property
    def overlapping(self) -> bool:
        """Whether neighbouring windows share pixels."""
        return self.stride < max(self.window)

    @property
    def features(self) -> frozenset[str]:
        """The geometric properties a check on this case tests."""
        named = {
            "non-square windows": self.window[0] != self.window[1],
            "overlapping windows": self.overlapping,
            "gaps between windows": self.stride > min(self.window),
            "N = 1": self.x_shape[0] == 1,
        }
        return frozenset({f"stride {self.stride}"} | {k for k, on in named.items() if on})

    def out_shape(self, stride: int | None = None, window: tuple[int, int] | None = None) -> Shape:
        """(N, C, H', W'); with another stride or window, what a bug returns."""
        stride = self.stride if stride is None else stride
        pool_h, pool_w = self.window if window is None else window
        num, channels, height, width = self.x_shape
        return num, channels, 1 + (height - pool_h) // stride, 1 + (width - pool_w) // stride


CONV_CASES = (
    ConvCase("stride 1, pad 1", (2, 3, 5, 6), (4, 3, 3), 1, 1),
    ConvCase("stride 2, pad 1, non-square input", (2, 2, 7, 5), (3, 3, 3), 2, 1),
    ConvCase("stride 1, pad 0, non-square filters", (2, 2, 6, 7), (3, 2, 3), 1, 0),
    ConvCase("stride 2, pad 2, non-square filters", (2, 3, 7, 8), (3, 3, 2), 2, 2),
    ConvCase("N = 1", (1, 2, 4, 5), (2, 3, 3), 1, 1),
)
"""Visible convolutions. The largest has 2 * 4 * 5 * 6 = 240 outputs of 27
products each. The numerical-gradient checks run about 800 forwards of the
2nd and 3rd cases (in six sandbox requests); a six-loop solution (loops over n, f, i, j, c and the
kernel) takes 3 s for the whole exercise, far under the 120 s budget.
N != F everywhere, so that a db summed over the wrong axes has the wrong shape."""

CONV_GRADIENT_CASES = (CONV_CASES[1], CONV_CASES[2])
"""Cases of the numerical-gradient checks: stride 2, and pad 0 with non-square filters."""

POOL_CASES = (
    PoolCase("2x2 windows, stride 2", (2, 3, 4, 6), (2, 2), 2),
    PoolCase("3x3 windows, stride 2 (overlapping)", (2, 2, 7, 9), (3, 3), 2),
    PoolCase("2x3 windows, stride 1 (non-square, overlapping), N = 1", (1, 2, 4, 5), (2, 3), 1),
    PoolCase("1x2 windows, stride 3 (gaps between windows)", (2, 1, 7, 8), (1, 2), 3),
)
"""Visible poolings: at most 2 * 2 * 3 * 4 = 24 windows of 9 values. Every
geometric property of the hidden poolings (stride up to 3, gaps between
windows) is in one of them (fairness rule, tests/gaming/test_fairness.py)."""

FEATURE_DRAWS = 100
"""Draws of a geometry generator that list the properties its check tests:
each property of the hidden ranges has a chance of at least 1/4 per draw
(N = 1), so 100 draws miss one with probability below 1e-12; the fairness
test draws 5,000 more."""


# -- inputs ---------------------------------------------------------------------------


def conv_inputs(
    rng: np.random.Generator, case: ConvCase
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Input, filters, biases and upstream gradient of ``case``.

    Returns
    -------
    x : ndarray of shape (N, C, H, W)
    w : ndarray of shape (F, C, HH, WW)
    b : ndarray of shape (F,)
    dout : ndarray of shape (N, F, H', W')
    """
    return (
        rng.normal(size=case.x_shape),
        rng.normal(size=case.w_shape),
        rng.normal(size=case.filters[0]),
        rng.normal(size=case.out_shape()),
    )


def pool_inputs(rng: np.random.Generator, case: PoolCase) -> tuple[np.ndarray, np.ndarray]:
    """Input without ties (see ``POOL_SPACING``), half of it negative, and upstream gradient.

    Returns
    -------
    x : ndarray of shape (N, C, H, W)
    dout : ndarray of shape (N, C, H', W')
    """
    size = int(np.prod(case.x_shape))
    grid = rng.permutation(size) - size / 2 + rng.uniform(0.0, 0.5, size)
    return (grid * POOL_SPACING).reshape(case.x_shape), rng.normal(size=case.out_shape())


def draw(rng: np.random.Generator, ranges: dict[str, tuple[int, int]], key: str, count: int = 1) -> list[int]:
    """``count`` integers in the inclusive range ``ranges[key]``."""
    low, high = ranges[key]
    return [int(v) for v in rng.integers(low, high + 1, size=count)]


def random_conv_case(rng: np.random.Generator) -> ConvCase:
    """A random geometry whose filters tile the padded input exactly."""
    num, channels, num_filters = (
        draw(rng, HIDDEN_CONV, "N") + draw(rng, HIDDEN_CONV, "C") + draw(rng, HIDDEN_CONV, "F")
    )
    kernel_h, kernel_w = draw(rng, HIDDEN_CONV, "kernel", 2)
    (stride,), (pad,) = draw(rng, HIDDEN_CONV, "stride"), draw(rng, HIDDEN_CONV, "pad")
    sides = []
    for kernel in (kernel_h, kernel_w):
        (out,) = draw(rng, HIDDEN_CONV, "out")
        while stride * (out - 1) + kernel - 2 * pad < 1:
            out += 1
        sides.append(stride * (out - 1) + kernel - 2 * pad)
    label = f"random geometry (stride {stride}, pad {pad})"
    return ConvCase(
        label, (num, channels, sides[0], sides[1]), (num_filters, kernel_h, kernel_w), stride, pad
    )


def random_pool_case(rng: np.random.Generator) -> PoolCase:
    """A random pooling whose windows tile the input exactly."""
    num, channels = draw(rng, HIDDEN_POOL, "N") + draw(rng, HIDDEN_POOL, "C")
    window = draw(rng, HIDDEN_POOL, "window", 2)
    (stride,) = draw(rng, HIDDEN_POOL, "stride")
    rows, cols = (
        stride * (out - 1) + side for out, side in zip(draw(rng, HIDDEN_POOL, "out", 2), window, strict=True)
    )
    label = f"random {window[0]}x{window[1]} windows, stride {stride}"
    return PoolCase(label, (num, channels, rows, cols), (window[0], window[1]), stride)


# -- student and reference -----------------------------------------------------------------


def as_image(
    subject: str, value: object, shape: Shape, shape_bugs: Sequence[tuple[str, Shape]] = ()
) -> np.ndarray:
    """Validate a returned float array; a wrong shape that a known bug gives is named in the hint."""
    if isinstance(value, np.ndarray) and value.shape != tuple(shape):
        for description, wrong in shape_bugs:
            if value.shape == tuple(wrong):
                raise CheckFailed(
                    subject,
                    f"shape {tuple(shape)}",
                    f"shape {value.shape}",
                    hint=f"Your shape is exactly what this bug gives: {description}.",
                    status=Status.INVALID_OUTPUT,
                )
    return as_array(subject, value, shape, kinds="f")


def conv_shape_bugs(case: ConvCase) -> list[tuple[str, Shape]]:
    """Output shapes of the usual geometry bugs that differ from the right one."""
    bugs = [
        ("pad is hard-coded to 1 instead of conv_param['pad']", case.out_shape(pad=1)),
        ("the input is not padded", case.out_shape(pad=0)),
        ("stride is ignored", case.out_shape(stride=1)),
        ("W' is computed from H (H where W belongs; only right for square inputs)", case.out_shape(swap="W")),
        ("H' is computed from W (W where H belongs; only right for square inputs)", case.out_shape(swap="H")),
    ]
    return [(text, shape) for text, shape in bugs if shape != case.out_shape()]


def student_conv_forward(
    session: Session, case: ConvCase, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, Kept]:
    """The student's forward output (validated) and the name of its cache, kept in the sandbox."""
    got, cache = session.call_keeping(1, "conv_forward_naive", x, w, b, case.param)
    out = as_tuple("conv_forward_naive(x, w, b, conv_param)", got, 2)[0]
    subject = f"out of conv_forward_naive, {case.label}"
    return as_image(subject, out, case.out_shape(), conv_shape_bugs(case)), cache


def student_conv_backward(
    session: Session, case: ConvCase, dout: np.ndarray, cache: Kept
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The student's ``(dx, dw, db)``, validated, with wrong shapes of known bugs named."""
    got = as_tuple("conv_backward_naive(dout, cache)", session.call("conv_backward_naive", dout, cache), 3)
    num, channels, height, width = case.x_shape
    pad = case.pad
    dx_bugs = [
        (
            "dx is cropped with [pad:-pad], which is empty when pad = 0; use [pad:pad + H]",
            (num, channels, 0, 0),
        ),
        (
            "dx still holds the padding: crop it with [pad:pad + H, pad:pad + W]",
            (num, channels, height + 2 * pad, width + 2 * pad),
        ),
        (
            "dx is cropped with H where W belongs (only right for square inputs)",
            (num, channels, height, min(height, width + pad)),
        ),
    ]
    db_bugs = [
        (
            f"db is summed over axes {axes}; db[f] sums dout[:, f] over images and positions, axes (0, 2, 3)",
            shape,
        )
        for axes, shape in wrong_axes(case.out_shape())
    ]
    return (
        as_image(
            f"dx of conv_backward_naive, {case.label}",
            got[0],
            case.x_shape,
            [bug for bug in dx_bugs if bug[1] != case.x_shape],
        ),
        as_image(f"dw of conv_backward_naive, {case.label}", got[1], case.w_shape),
        as_image(f"db of conv_backward_naive, {case.label}", got[2], (case.filters[0],), db_bugs),
    )


def wrong_axes(out_shape: Shape) -> list[tuple[tuple[int, ...], Shape]]:
    """Every way of summing dout (N, F, H', W') other than over (0, 2, 3), with its shape if not (F,)."""
    found = []
    for size in (1, 2, 3, 4):
        for axes in itertools.combinations(range(4), size):
            shape = tuple(n for k, n in enumerate(out_shape) if k not in axes)
            if axes != (0, 2, 3) and shape != (out_shape[1],):
                found.append((axes, shape))
    return found


def fast_conv(
    session: Session, x: np.ndarray, w: np.ndarray, b: np.ndarray, case: ConvCase
) -> tuple[np.ndarray, tuple]:
    """``conv_forward_fast(x, w, b, case.param)`` of the fast reference, loaded only
    when a value is computed: a student release has none and reads its store."""
    return session.grader_reference(FAST_REFERENCE).conv_forward_fast(x, w, b, case.param)


def fast_pool(session: Session, x: np.ndarray, case: PoolCase) -> tuple[np.ndarray, tuple]:
    """``max_pool_forward_fast(x, case.param)`` of the fast reference, loaded the same way."""
    return session.grader_reference(FAST_REFERENCE).max_pool_forward_fast(x, case.param)


def expected_conv(
    session: Session,
    case: ConvCase,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray,
    dout: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(out, dx, dw, db)`` of the fast reference."""

    def compute() -> tuple[np.ndarray, ...]:
        out, cache = fast_conv(session, x, w, b, case)
        return (out, *session.grader_reference(FAST_REFERENCE).conv_backward_fast(dout, cache))

    return session.expected("conv", compute)


BugValues = dict[str, list[tuple[str, np.ndarray]]]
"""What known bugs return, by output name (``"out"``, ``"dx"``...): description and value."""

FLIPPED = "the filter is flipped (a true convolution); CS231n's layer is a cross-correlation"


def forward_bug_values(
    reference: ModuleType, case: ConvCase, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> BugValues:
    """What the usual forward bugs return, computed with the naive reference."""

    def forward(w_: np.ndarray, b_: np.ndarray) -> np.ndarray:
        return reference.conv_forward_naive(x, w_, b_, case.param)[0]

    return {
        "out": [(FLIPPED, forward(w[:, :, ::-1, ::-1], b)), ("b is not added", forward(w, np.zeros_like(b)))]
    }


def backward_bug_values(
    reference: ModuleType, case: ConvCase, x: np.ndarray, w: np.ndarray, b: np.ndarray, dout: np.ndarray
) -> BugValues:
    """What the usual backward bugs return, computed with the naive reference.

    The reference's cache is ``(x, w, b, conv_param)``; a bug is that cache
    with another filter, stride or pad, on the same ``dout``.
    """

    def backward(w_: np.ndarray, **changes: int) -> tuple[np.ndarray, ...]:
        return reference.conv_backward_naive(dout, (x, w_, b, {**case.param, **changes}))

    values: BugValues = {
        "dx": [("the filter is flipped in backward", backward(w[:, :, ::-1, ::-1])[0])],
        "dw": [(FLIPPED, backward(w)[1][:, :, ::-1, ::-1])],
        "db": [
            ("db is the mean of dout instead of its sum over images and positions", dout.mean(axis=(0, 2, 3)))
        ],
    }
    changes = []
    if case.stride != 1:
        changes.append(("stride is ignored in backward (windows one pixel apart)", {"stride": 1}))
    if case.pad == 0:
        changes.append(("pad is hard-coded to 1 in backward", {"pad": 1}))
    for description, change in changes:
        dx, dw, _ = backward(w, **change)
        values["dx"].append((description, dx))
        values["dw"].append((description, dw))
    return values


def suspects(session: Session, compute: Callable[[ModuleType], BugValues]) -> dict[str, list[Suspect]]:
    """Known bugs as suspects, their values computed from the reference through ``session.expected``.

    They are computed before any comparison, so that a student release,
    which has no reference, finds them in its store of recorded values.
    """
    values = session.expected("known bugs", lambda: compute(session.reference))
    return {
        name: [(text, lambda value=value: value) for text, value in entries]
        for name, entries in values.items()
    }


def pool_shape_bugs(case: PoolCase) -> list[tuple[str, Shape]]:
    """Output shapes of the usual pooling geometry bugs that differ from the right one."""
    bugs = [
        ("stride is ignored", case.out_shape(stride=1)),
        ("pool_height and pool_width are swapped", case.out_shape(window=case.window[::-1])),
    ]
    return [(text, shape) for text, shape in bugs if shape != case.out_shape()]


def student_pool_forward(session: Session, case: PoolCase, x: np.ndarray) -> tuple[np.ndarray, Kept]:
    """The student's pooled output (validated) and the name of its cache, kept in the sandbox."""
    got, cache = session.call_keeping(1, "max_pool_forward_naive", x, case.param)
    out = as_tuple("max_pool_forward_naive(x, pool_param)", got, 2)[0]
    subject = f"out of max_pool_forward_naive, {case.label}"
    return as_image(subject, out, case.out_shape(), pool_shape_bugs(case)), cache


def student_pool_backward(session: Session, case: PoolCase, dout: np.ndarray, cache: Kept) -> np.ndarray:
    """The student's dx of max pooling, validated."""
    got = session.call("max_pool_backward_naive", dout, cache)
    return as_image(f"dx of max_pool_backward_naive, {case.label}", got, case.x_shape)


def expected_pool(
    session: Session, case: PoolCase, x: np.ndarray, dout: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(out, dx)`` of the fast reference."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        out, cache = fast_pool(session, x, case)
        return out, session.grader_reference(FAST_REFERENCE).max_pool_backward_fast(dout, cache)

    return session.expected("pool", compute)


def windows(case: PoolCase, x: np.ndarray) -> np.ndarray:
    """Every pooling window, ndarray of shape (N, C, H', W', pool_height, pool_width)."""
    view = np.lib.stride_tricks.sliding_window_view(x, case.window, axis=(2, 3))
    return view[:, :, :: case.stride, :: case.stride]


def pool_backward_assigning(case: PoolCase, x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """Max-pool backward with ``=`` instead of ``+=``: the last window in row-major order wins."""
    pool_h, pool_w = case.window
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        top, left = i * case.stride, j * case.stride
        a, b = np.unravel_index(np.argmax(x[n, c, top : top + pool_h, left : left + pool_w]), case.window)
        dx[n, c, top + a, left + b] = dout[n, c, i, j]
    return dx


def pool_bugs(case: PoolCase, x: np.ndarray, dout: np.ndarray) -> dict[str, list[Suspect]]:
    """What the usual pooling bugs return, as suspects for out and dx."""
    out = np.max(windows(case, x), axis=(4, 5))
    bugs: dict[str, list[Suspect]] = {
        "out": [
            (
                "the running maximum starts at 0, so windows of negative values give 0",
                lambda: np.maximum(out, 0.0),
            ),
            ("the windows are averaged (average pooling)", lambda: np.mean(windows(case, x), axis=(4, 5))),
        ],
        "dx": [],
    }
    if case.overlapping:
        bugs["dx"].append(
            (
                "dx is assigned with = instead of accumulated with +=: a pixel that is the maximum of "
                "several overlapping windows must receive the sum of their gradients",
                lambda: pool_backward_assigning(case, x, dout),
            )
        )
    return bugs


# -- checks --------------------------------------------------------------------------------

CONV_FORWARD_HINT = (
    "out[n, f, i, j] = sum(x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f]) + b[f], "
    "a cross-correlation (do not flip w); pad with conv_param['pad'] zeros; "
    "H' = 1 + (H + 2 pad - HH) // stride and W' = 1 + (W + 2 pad - WW) // stride"
)
CONV_BACKWARD_HINT = (
    "for every output (n, f, i, j): dx_pad[n, :, window] += w[f] * dout[n, f, i, j] and "
    "dw[f] += x_pad[n, :, window] * dout[n, f, i, j], windows stride pixels apart as in forward; "
    "crop dx = dx_pad[:, :, pad:pad + H, pad:pad + W] ([pad:-pad] is empty when pad = 0); "
    "db = dout.sum(axis=(0, 2, 3))"
)
POOL_FORWARD_HINT = (
    "out[n, c, i, j] = max of x[n, c, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width]; "
    "H' = 1 + (H - pool_height) // stride"
)
POOL_BACKWARD_HINT = (
    "route dout[n, c, i, j] to the position of its window's maximum with +=: overlapping windows "
    "(stride < pool size) can share a maximum; split the flat argmax of a window with "
    "np.unravel_index(k, (pool_height, pool_width))"
)


def conv_cache(session: Session, case: ConvCase, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> Kept:
    """The student's forward cache, kept in the sandbox; the output is not examined."""
    got, cache = session.call_keeping(1, "conv_forward_naive", x, w, b, case.param)
    as_tuple("conv_forward_naive(x, w, b, conv_param)", got, 2)
    return cache


def conv_forward(session: Session, case: ConvCase) -> None:
    """The student's forward output against the reference."""
    x, w, b, dout = conv_inputs(session.rng, case)
    out, _ = student_conv_forward(session, case, x, w, b)
    expected = expected_conv(session, case, x, w, b, dout)[0]
    bugs = suspects(session, lambda reference: forward_bug_values(reference, case, x, w, b))
    assert_close(f"out of conv_forward_naive, {case.label}", out, expected, suspects=bugs["out"])


def conv_backward(session: Session, case: ConvCase) -> None:
    """The student's backward, on their own cache, against the reference."""
    x, w, b, dout = conv_inputs(session.rng, case)
    grads = student_conv_backward(session, case, dout, conv_cache(session, case, x, w, b))
    expected = expected_conv(session, case, x, w, b, dout)[1:]
    bugs = suspects(session, lambda reference: backward_bug_values(reference, case, x, w, b, dout))
    for name, got, want in zip(("dx", "dw", "db"), grads, expected, strict=True):
        assert_close(f"{name} of conv_backward_naive, {case.label}", got, want, suspects=bugs[name])


def conv_gradient(session: Session, case: ConvCase) -> None:
    """The student's backward against centred differences of their own (correct) forward."""
    x, w, b, dout = conv_inputs(session.rng, case)
    out, cache = student_conv_forward(session, case, x, w, b)
    expected = expected_conv(session, case, x, w, b, dout)[0]
    assert_close(f"out of conv_forward_naive, {case.label} {ON_CORRECT_FORWARD}", out, expected)
    dx, dw, db = student_conv_backward(session, case, dout, cache)

    inputs = {"x": x, "w": w, "b": b}

    def student(name: str) -> Batched:
        args = (x, w, b, case.param)
        vary = list(inputs).index(name)
        return forward_losses(session, "conv_forward_naive", args, vary, case, dout, conv_shape_bugs(case))

    def reference(name: str) -> Callable[[np.ndarray], float]:
        return lambda v: float(np.sum(fast_conv(session, *{**inputs, name: v}.values(), case)[0] * dout))

    worst = max(
        check_gradient(
            f"d{name} of conv_backward_naive, {case.label}",
            grad,
            student(name),
            inputs[name],
            session.rng,
            anchor=anchored(session, name, reference(name)),
            at_x=float(np.sum(out * dout)),
        )
        for name, grad in zip(inputs, (dx, dw, db), strict=True)
    )
    session.record(max_relative_error=worst)


def forward_losses(
    session: Session,
    target: str,
    args: tuple,
    vary: int,
    case: ConvCase | PoolCase,
    dout: np.ndarray,
    shape_bugs: Sequence[tuple[str, Shape]],
) -> Batched:
    """The loss ``sum(out * dout)`` of the student's forward ``target(*args)`` at
    many values of ``args[vary]``, in one sandbox request (``loss_at_points``);
    every output is validated like a single forward's."""
    subject = f"out of {target}, {case.label}"

    def loss(out: np.ndarray) -> float:
        return float(np.sum(as_image(subject, out, case.out_shape(), shape_bugs) * dout))

    return loss_at_points(session, target, args, loss, vary, pick=0)


def pool_cache(session: Session, case: PoolCase, x: np.ndarray) -> Kept:
    """The student's pooling cache, kept in the sandbox; the output is not examined."""
    got, cache = session.call_keeping(1, "max_pool_forward_naive", x, case.param)
    as_tuple("max_pool_forward_naive(x, pool_param)", got, 2)
    return cache


def pool_forward(session: Session, case: PoolCase) -> None:
    """The student's pooled output against the reference."""
    x, dout = pool_inputs(session.rng, case)
    out, _ = student_pool_forward(session, case, x)
    expected = expected_pool(session, case, x, dout)[0]
    suspects = pool_bugs(case, x, dout)["out"]
    assert_close(f"out of max_pool_forward_naive, {case.label}", out, expected, suspects=suspects)


def pool_backward(session: Session, case: PoolCase) -> None:
    """The student's pooling backward, on their own cache, against the reference."""
    x, dout = pool_inputs(session.rng, case)
    dx = student_pool_backward(session, case, dout, pool_cache(session, case, x))
    expected = expected_pool(session, case, x, dout)[1]
    suspects = pool_bugs(case, x, dout)["dx"]
    assert_close(f"dx of max_pool_backward_naive, {case.label}", dx, expected, suspects=suspects)


def pool_gradient(session: Session, case: PoolCase) -> None:
    """The student's pooling backward against centred differences of their own (correct) forward."""
    x, dout = pool_inputs(session.rng, case)
    out, cache = student_pool_forward(session, case, x)
    expected = expected_pool(session, case, x, dout)[0]
    assert_close(f"out of max_pool_forward_naive, {case.label} {ON_CORRECT_FORWARD}", out, expected)
    dx = student_pool_backward(session, case, dout, cache)
    worst = check_gradient(
        f"dx of max_pool_backward_naive, {case.label}",
        dx,
        forward_losses(
            session, "max_pool_forward_naive", (x, case.param), 0, case, dout, pool_shape_bugs(case)
        ),
        x,
        session.rng,
        anchor=anchored(session, "x", lambda v: float(np.sum(fast_pool(session, v, case)[0] * dout))),
        at_x=float(np.sum(out * dout)),
    )
    session.record(max_relative_error=worst)


ON_CORRECT_FORWARD = "(the gradient is checked on a correct forward only)"

GRADIENT_HINT = (
    "your backward is not the derivative of your own forward (loss = sum(out * dout)): use the "
    "same windows, stride and padding in both passes"
)


def case_check(
    name: str,
    run_case: Callable[[Session, ConvCase | PoolCase], None],
    case_of: Callable[[np.random.Generator], ConvCase | PoolCase],
    hint: str,
    visibility: str = VISIBLE,
    key: str = "random",
) -> Check:
    """A check running ``run_case`` on the geometry ``case_of(session.rng)``;
    its id is ``run_case``'s name, ``key`` (the visible case's label) and the
    visibility, its properties the features of the geometries it can draw."""

    def run(session: Session) -> None:
        run_case(session, case_of(session.rng))

    return Check(
        name=name,
        points=1,
        run=run,
        visibility=visibility,
        hint=hint,
        id=f"{run_case.__name__}/{key}/{visibility}",
        properties=features_drawn(case_of) | {run_case.__name__},
    )


@cache
def features_drawn(case_of: Callable[[np.random.Generator], ConvCase | PoolCase]) -> frozenset[str]:
    """The features of the geometries ``case_of`` draws (``FEATURE_DRAWS`` draws)."""
    rng = np.random.default_rng(0)
    return frozenset().union(*(case_of(rng).features for _ in range(FEATURE_DRAWS)))


def fixed(case: ConvCase | PoolCase) -> Callable[[np.random.Generator], ConvCase | PoolCase]:
    """The geometry of a visible check, whatever the generator."""
    return lambda rng: case


EXERCISE = Exercise(
    id="conv",
    title="Convolution and max-pooling layers, naive",
    checks=(
        *(
            case_check(f"conv forward: {c.label}", conv_forward, fixed(c), CONV_FORWARD_HINT, key=c.label)
            for c in CONV_CASES
        ),
        *(
            case_check(f"conv backward: {c.label}", conv_backward, fixed(c), CONV_BACKWARD_HINT, key=c.label)
            for c in CONV_CASES
        ),
        *(
            case_check(
                f"conv backward matches the numerical gradient of your forward: {c.label}",
                conv_gradient,
                fixed(c),
                GRADIENT_HINT,
                key=c.label,
            )
            for c in CONV_GRADIENT_CASES
        ),
        *(
            case_check(f"max-pool forward: {c.label}", pool_forward, fixed(c), POOL_FORWARD_HINT, key=c.label)
            for c in POOL_CASES
        ),
        *(
            case_check(
                f"max-pool backward: {c.label}", pool_backward, fixed(c), POOL_BACKWARD_HINT, key=c.label
            )
            for c in POOL_CASES
        ),
        case_check(
            f"max-pool backward matches the numerical gradient of your forward: {POOL_CASES[1].label}",
            pool_gradient,
            fixed(POOL_CASES[1]),
            GRADIENT_HINT,
            key=POOL_CASES[1].label,
        ),
        case_check(
            "conv forward: random geometry", conv_forward, random_conv_case, CONV_FORWARD_HINT, HIDDEN
        ),
        case_check(
            "conv backward: random geometry", conv_backward, random_conv_case, CONV_BACKWARD_HINT, HIDDEN
        ),
        case_check(
            "max-pool forward: random windows", pool_forward, random_pool_case, POOL_FORWARD_HINT, HIDDEN
        ),
        case_check(
            "max-pool backward: random windows", pool_backward, random_pool_case, POOL_BACKWARD_HINT, HIDDEN
        ),
    ),
)
