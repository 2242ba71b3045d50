"""Readers of the grader's outputs that notice what a report must never carry:
NaN or Infinity in JSON, and control characters, escape sequences or
bidirectional overrides in any text a person or a program reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
"""Characters no report may carry (tab and newline are layout)."""


def strict_loads(text: str) -> Any:
    """``json.loads`` refusing NaN and Infinity, as strict JSON readers do."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def strings(document: Any) -> Iterator[str]:
    """Every key and string value of a parsed JSON document: the text its readers show."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from strings(value)


def json_shown(text: str) -> str:
    """The strings of a strict JSON text, one per line (what a JSON reader would display)."""
    return "\n".join(strings(strict_loads(text)))
