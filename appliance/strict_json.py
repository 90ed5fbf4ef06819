"""JSON that leaves the process or is stored, and JSON that comes in from outside: finite numbers, bounded depth.

Python's `json` writes `Infinity` and `NaN`, which are not JSON: SQLite's JSON functions, an LRS and any other
reader refuse them, so one such number once stored broke a student's page for good (issue 14). It also reads
`1e999` as infinity and recurses once per nesting level, so 4,000 `[` raised RecursionError (a 500). Everything
the kit or hub writes for others goes through `dumps`, everything read from a request, a report or a file through
`loads`.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 32  # no kit document nests deeper than about 6; the interpreter's own limit is near 1,000

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # \ud800-\udfff: only a pair of them is a character


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps` that raises ValueError on a non-finite number instead of writing `Infinity` or `NaN`."""
    return json.dumps(value, allow_nan=False, **options)


def finite(value: Any) -> Any:
    """`value` with every non-finite float inside it (in dicts, lists, tuples) replaced by None: for readings that
    may fail to measure (a heartbeat's), where null means "not available" to whoever reads them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def loads(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `raw` (UTF-8 if bytes); ValueError if it is not JSON, holds `NaN`/`Infinity` or a number
    too large for a float (`1e999`), nests deeper than `max_depth`, or escapes a lone surrogate (`"\\ud800"`)."""
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    if depth(text) > max_depth:
        raise ValueError(f"it nests deeper than {max_depth} levels")
    value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    """ValueError when a string of `value` holds half a surrogate pair: it is no character, so it cannot be written
    as UTF-8 (a signed report holding one stopped the hub's store with UnicodeEncodeError, a 500; RFC 7493 2.1)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("it holds a lone surrogate (\\ud800-\\udfff), which is not a character") from exc


def depth(text: str) -> int:
    """How deep the arrays and objects of JSON `text` nest (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value
