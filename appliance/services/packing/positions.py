"""Positions in a textbook (docs/textbook-units.md, "A position"): checking one, and the `Tags` they make.

Imports nothing from the package: the manifest and the curriculum map check positions with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# In the order a position is written: each key is optional from the right (no unit without its subject).
KEYS = ("edition", "grade", "volume", "subject", "unit", "lesson")
_ID = re.compile(r"[a-z0-9-]{1,20}")
_RANGES = {"grade": (1, 12), "volume": (1, 2), "unit": (1, 99), "lesson": (1, 99)}
_HOW = {
    "edition": 'a short id such as "rjb" (lower-case letters, digits and "-", up to 20)',
    "subject": 'a short id such as "math" (lower-case letters, digits and "-", up to 20)',
    "grade": "a whole number from 1 to 12",
    "volume": "1 (上册, autumn term) or 2 (下册, spring term)",
    "unit": "a whole number from 1 to 99",
    "lesson": "a whole number from 1 to 99",
}


def value_problem(key: str, value: object) -> str | None:
    """What is wrong with one value of a position key, or None when it is right."""
    if key in _RANGES:
        low, high = _RANGES[key]
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return None
    elif isinstance(value, str) and _ID.fullmatch(value):
        return None
    return f"{key} = {value!r} is not {_HOW[key]}"


def gap_problem(position: Mapping[str, object]) -> str | None:
    """A key given while a key to its left is missing (a unit without a subject), or None."""
    missing = None
    for key in KEYS:
        if key not in position:
            missing = missing or key
        elif missing:
            return f"{key} is given but {missing} is not: a position may only stop short from the right ({', '.join(KEYS)})"
    return None


def _natural(value: object) -> tuple[int, str]:
    return len(str(value)), str(value)  # 2 before 10; ids of one key keep a fixed order too


def tags(positions: Iterable[Mapping[str, object]], *, videos: bool) -> str:
    """The ZIM `Tags` value for a book whose items sit at `positions`: each key's distinct values, in key order."""
    seen: dict[str, list[object]] = {key: [] for key in KEYS if key != "lesson"}
    for position in positions:
        for key, values in seen.items():
            if key in position and position[key] not in values:
                values.append(position[key])
    parts = [f"_{key}:{value}" for key, values in seen.items() for value in sorted(values, key=_natural)]
    if videos:
        parts.append("_videos:yes")
    return ";".join(parts)
