"""The reply parser, fuzzed without a child: random and adversarial headers,
trees, payload bytes and ``.npy`` headers. Whatever the bytes, the parser
returns a value or raises ``Malformed`` / ``ChannelClosed``; never anything
else, never past its time bound, never holding more than the call's budget."""

from __future__ import annotations

import io
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.sandbox import limits as sandbox_limits
from autograder.sandbox.reply import (
    MAX_TREE_DEPTH,
    BytesReader,
    ChannelClosed,
    Malformed,
    parse_reply,
    result_budget,
)

BANNED = frozenset({"torch", "scipy"})
BUDGET = 1 << 20
"""Byte budget of the fuzzed calls: small, so that a lie about sizes shows."""

FUZZ = settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
"""300 examples per property, each within 2 s (the parser's time bound here);
derandomized so that CI runs the same cases every time."""

MEMORY_SLACK_BYTES = 256 * 1024
"""What parsing may allocate beyond the payload budget: the header line
(``REPLY_MAX_BYTES``), JSON objects and one ``.npy`` header."""

EXPECTED = (Malformed, ChannelClosed)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def reply_bytes(header: dict, payloads: list[bytes] = ()) -> bytes:
    return json.dumps(header).encode() + b"\n" + b"".join(payloads)


def ok_reply(tree, arrays: list[np.ndarray], request_id: int = 1) -> bytes:
    payloads = [npy(a) for a in arrays]
    header = {
        "id": request_id,
        "status": "ok",
        "banned": [],
        "tree": tree,
        "sizes": [len(p) for p in payloads],
    }
    return reply_bytes(header, payloads)


def parse(data: bytes, request_id: int = 1, budget: int = BUDGET):
    return parse_reply(BytesReader(data), request_id, BANNED, budget)


def parse_or_refuse(data: bytes, request_id: int = 1, budget: int = BUDGET) -> None:
    """Parse ``data``; only the expected refusals may escape, within the memory bound."""
    tracemalloc.start()
    try:
        parse(data, request_id, budget)
    except EXPECTED:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak <= budget + len(data) + MEMORY_SLACK_BYTES, peak


numeric_dtypes = st.sampled_from(["<f8", ">f8", "<f4", "<i8", ">i2", "|u1", "|b1", "<u4", "<f2"])
arrays = st.builds(
    lambda dtype, shape, seed: np.random.default_rng(seed).integers(0, 2, shape).astype(dtype),
    numeric_dtypes,
    st.lists(st.integers(0, 5), max_size=3).map(tuple),
    st.integers(0, 2**32 - 1),
)
values = st.recursive(
    st.none() | arrays,
    lambda inner: (
        st.lists(inner, max_size=4).map(tuple) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def encode(value, leaves: list[np.ndarray]):
    """The harness's tree of ``value``."""
    if value is None:
        return ["none"]
    if isinstance(value, tuple):
        return ["tuple", [encode(item, leaves) for item in value]]
    if isinstance(value, dict):
        return ["dict", {key: encode(item, leaves) for key, item in value.items()}]
    leaves.append(value)
    return ["leaf", len(leaves) - 1]


def depth(value) -> int:
    if isinstance(value, tuple):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def assert_same(got, value) -> None:
    if isinstance(value, tuple):
        assert isinstance(got, tuple) and len(got) == len(value)
        for g, v in zip(got, value, strict=True):
            assert_same(g, v)
    elif isinstance(value, dict):
        assert isinstance(got, dict) and list(got) == list(value)
        for key in value:
            assert_same(got[key], value[key])
    elif value is None:
        assert got is None
    else:
        assert got.dtype == value.dtype.newbyteorder("=") and got.dtype.isnative
        np.testing.assert_array_equal(got, value)


@FUZZ
@given(values)
def test_honest_replies_round_trip(value):
    leaves: list[np.ndarray] = []
    tree = encode(value, leaves)
    data = ok_reply(tree, leaves)
    if depth(value) > MAX_TREE_DEPTH or sum(len(npy(a)) for a in leaves) > BUDGET:
        with pytest.raises(Malformed):
            parse(data)
        return
    reply, got = parse(data)
    assert reply.status == "ok"
    assert_same(got, value)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    parse_or_refuse(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
header_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(-2, 3) | json_values,
        "status": st.sampled_from(["ok", "ready", "error", "memory", "passed", ""]) | json_values,
        "banned": st.lists(st.sampled_from(["torch", "scipy", "os", ""]), max_size=4) | json_values,
        "tree": json_values,
        "sizes": st.lists(st.integers(-5, 2**70), max_size=5) | json_values,
        "message": st.text(max_size=2000) | json_values,
        "type": st.text(max_size=200),
        "where": json_values,
        "phase": json_values,
        "extra": json_values,
    },
)


@FUZZ
@given(header_fields, st.binary(max_size=2048), st.integers(0, 3))
def test_random_headers_and_payloads(header, tail, request_id):
    parse_or_refuse(json.dumps(header).encode() + b"\n" + tail, request_id)


@FUZZ
@given(values, st.data())
def test_corrupted_honest_replies(value, data):
    """Flip, cut or insert bytes anywhere in an honest reply."""
    leaves: list[np.ndarray] = []
    raw = bytearray(ok_reply(encode(value, leaves), leaves))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and at < len(raw):
            raw[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[at : at + data.draw(st.integers(1, 64))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    parse_or_refuse(bytes(raw))


npy_header_texts = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda descr, fortran, shape: repr({"descr": descr, "fortran_order": fortran, "shape": shape}),
        st.sampled_from(["<f8", "|O", "<c16", "V8", "<U3", "[('a', '<f8')]", ">i4", "<M8[s]", "|b1"])
        | st.text(max_size=10),
        st.booleans(),
        st.lists(st.integers(-3, 2**64), max_size=9).map(tuple) | st.text(max_size=10),
    ),
)


@FUZZ
@given(
    npy_header_texts,
    st.sampled_from([(1, 0), (2, 0), (3, 0), (0, 9)]),
    st.integers(0, 2**16),
    st.binary(max_size=512),
)
def test_adversarial_npy_headers(text, version, declared_extra, data):
    """Lying header lengths, shapes, dtypes and sizes in a payload."""
    encoded = text.encode("utf-8", "replace")
    width = 2 if version == (1, 0) else 4
    length = (
        (len(encoded) + declared_extra % 3).to_bytes(width, "little", signed=False)
        if len(encoded) < 2 ** (8 * width) - 3
        else b"\xff" * width
    )
    payload = b"\x93NUMPY" + bytes(version) + length + encoded + data
    header = {"id": 1, "status": "ok", "banned": [], "tree": ["leaf", 0], "sizes": [len(payload)]}
    parse_or_refuse(reply_bytes(header, [payload]))


def test_one_large_result_referenced_many_times_is_refused():
    """Sixty-four references to one payload would be 64 copies of it: refused."""
    data = reply_bytes(
        {"id": 1, "status": "ok", "banned": [], "tree": ["tuple", [["leaf", 0]] * 64], "sizes": [800128]},
        [npy(np.zeros(100_000))],
    )
    with pytest.raises(Malformed, match="each is used once"):
        parse(data)


def test_sizes_over_the_budget_are_refused_before_any_payload_is_read():
    header = {"id": 1, "status": "ok", "banned": [], "tree": ["leaf", 0], "sizes": [2**40]}
    parse_or_refuse(reply_bytes(header))
    with pytest.raises(Malformed, match="budget"):
        parse(reply_bytes(header))


def test_a_header_announcing_a_huge_array_in_few_bytes_allocates_nothing():
    payload = npy(np.zeros(3)).replace(b"(3,)", b"(99999999,)")
    header = {"id": 1, "status": "ok", "banned": [], "tree": ["leaf", 0], "sizes": [len(payload)]}
    with pytest.raises(Malformed, match="header implies"):
        parse(reply_bytes(header, [payload]))


def test_deeply_nested_header_is_refused():
    data = b'{"id": 1, "status": "ok", "banned": [], "sizes": [], "tree": ' + b"[" * 60000 + b"\n"
    with pytest.raises(Malformed):
        parse(data)
    nested = ["none"]
    for _ in range(MAX_TREE_DEPTH + 1):
        nested = ["tuple", [nested]]
    with pytest.raises(Malformed, match="deeper"):
        parse(ok_reply(nested, []))


def test_a_flood_without_newline_is_refused_at_the_header_limit():
    with pytest.raises(Malformed, match="longer than"):
        parse(b"x" * (sandbox_limits.REPLY_MAX_BYTES + 10))


@pytest.mark.parametrize(
    "header, words",
    [
        ({"id": 2, "status": "ok", "banned": [], "tree": ["none"], "sizes": []}, "reply id 2"),
        ({"id": True, "status": "ok", "banned": [], "tree": ["none"], "sizes": []}, "reply id"),
        ({"id": 1, "status": "passed", "banned": []}, "status"),
        ({"id": 1, "status": "ready", "banned": []}, "status"),
        ({"id": 1, "status": "ok", "banned": ["os"], "tree": ["none"], "sizes": []}, "banned"),
        ({"id": 1, "status": "ok", "banned": [], "tree": ["none"], "sizes": [], "score": 1}, "fields"),
        ({"id": 1, "status": "error", "banned": [], "message": "x" * 5000}, "message"),
        ({"id": 1, "status": "ok", "banned": [], "tree": ["leaf", 0], "sizes": []}, "1 results for 0"),
    ],
)
def test_forged_headers_are_named(header, words):
    with pytest.raises(Malformed, match=words):
        parse(reply_bytes(header))


def test_bytes_after_a_reply_are_refused():
    with pytest.raises(Malformed, match="after the reply"):
        parse(ok_reply(["none"], []) + b"{}\n")


def test_budget_follows_the_inputs_up_to_the_cap():
    assert result_budget(0) == sandbox_limits.RESULT_FLOOR_BYTES
    floor, factor = sandbox_limits.RESULT_FLOOR_BYTES, sandbox_limits.RESULT_INPUT_FACTOR
    assert result_budget(10**6) == floor + factor * 10**6
    assert result_budget(10**12) == sandbox_limits.RESULT_MAX_BYTES
    assert result_budget(10**6, result_bytes=800) == 800
