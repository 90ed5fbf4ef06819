"""Numbers as people type them into forms (scores, points, answers): finite, or refused (issue 14).

`float("inf")`, `float("nan")` and `float("1e999")` all succeed in Python, and a stored infinity later breaks
JSON (strict_json.py). Every form number goes through `parse_number`; a whole number read from text (a size, a
rate, a picture's number) through `whole_number`, never `isdigit()` then `int()`.
"""

from __future__ import annotations

import math
import re
import unicodedata

_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"[0-9]+")
WHOLE_MAX_DIGITS = 18  # 10^18 - 1 < 2^63 - 1, SQLite's largest INTEGER (as webcore/bounded_ids.py)


def parse_number(text: object) -> float | None:
    """A finite number as children type it: full-width digits, a decimal comma, a leading +, spaces; None otherwise
    (words such as "inf" or "nan", exponents, anything too large for a float)."""
    cleaned = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "").replace(",", ".").lstrip("+")
    if len(cleaned) > 40 or not _NUMBER.fullmatch(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


def is_finite_number(value: object) -> bool:
    """True for an int or float (not a bool) that is finite: what a number read from JSON must be to be kept."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole_number(text: object, max_digits: int = WHOLE_MAX_DIGITS) -> int | None:
    """A whole number written in ASCII digits, at most `max_digits` of them; None otherwise. `str.isdigit()` is no
    guard before `int()`: it is true for "²" and for 5,000 digits, both of which `int()` refuses (a 500, found by
    tests/security/test_fuzz_endpoints.py)."""
    text = str(text)
    return int(text) if len(text) <= max_digits and _WHOLE.fullmatch(text) else None
