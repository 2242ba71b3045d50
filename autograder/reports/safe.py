"""Text a submission influenced, made inert before any report shows it.

Student output, exception messages and file or folder names reach the
instructor's terminal, a browser, Gradescope, a spreadsheet and JSON readers.
Every renderer passes them through the helpers here, at the point where it
emits text, so that none can:

- drive a terminal: ESC and the C1 controls (CSI U+009B, OSC U+009D...) start
  every escape sequence (cursor moves, colours, title and hyperlink changes,
  screen clears); a carriage return or a backspace lets a line overwrite
  itself (a report showing a different total than the real one);
- reorder what is displayed: the bidirectional overrides and isolates
  (U+202A-U+202E, U+2066-U+2069) and marks (U+200E, U+200F, U+061C);
- break an encoder: a lone surrogate (a file name that is not UTF-8, decoded
  by ``os.fsdecode``) makes writing UTF-8 raise;
- forge a line: in one-line contexts (a report line, a CSV cell) a newline or
  a line separator would start a line of its own;
- run as a spreadsheet formula: a CSV text cell starting with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return.

Such characters are not dropped but written visibly as their Python escape
(``\\x1b``, ``\\u202e``): whoever reads the report sees that the text carried
them. Non-finite numbers are written to JSON as ``null``: strict JSON has no
NaN or Infinity, and Gradescope's parser rejects them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
"""C0 controls but tab and newline, DEL, C1 controls."""

_DIRECTIONAL = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional marks, embeddings, overrides and isolates."""

_OTHER = "\u2028\u2029\ud800-\udfff"
"""Line and paragraph separators (some viewers break lines at them) and lone surrogates."""

UNSAFE = re.compile(f"[{_CONTROLS}{_DIRECTIONAL}{_OTHER}]")
"""Characters written as their escape in any report."""

UNSAFE_IN_LINE = re.compile(f"[\t\n{_CONTROLS}{_DIRECTIONAL}{_OTHER}]")
"""Characters written as their escape where the text must stay on one line."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""

NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
"""A plain decimal number: a CSV cell a spreadsheet reads as a number, not a formula."""


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """``text`` as a string with every unsafe character escaped; newlines and
    tabs kept (a Windows line end becomes a newline).

    Parameters
    ----------
    text : object
        Anything; converted with ``str``.

    Returns
    -------
    str
        Text that no terminal, browser or viewer interprets beyond its lines.
    """
    return UNSAFE.sub(_escaped, str(text).replace("\r\n", "\n"))


def one_line(text: object) -> str:
    """``text`` as one line: like ``clean``, with newlines and tabs escaped too."""
    return UNSAFE_IN_LINE.sub(_escaped, str(text).replace("\r\n", "\n"))


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text or a number, never runs.

    A text cell starting with a formula character gets a leading apostrophe
    (displayed as text by Excel, LibreOffice and Google Sheets); a number,
    negative or not, is left as it is.
    """
    text = one_line(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def json_ready(value: Any) -> Any:
    """``value`` with every string cleaned and every non-finite float as None.

    Parameters
    ----------
    value : Any
        Nested dicts, lists and tuples of strings, numbers, booleans and None.

    Returns
    -------
    Any
        The same structure, writable as strict JSON.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(key) if isinstance(key, str) else key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    return value


def json_text(document: Any, indent: int = 1) -> str:
    """``document`` as strict JSON (``json_ready``; NaN or Infinity would raise)."""
    return json.dumps(json_ready(document), indent=indent, allow_nan=False)
