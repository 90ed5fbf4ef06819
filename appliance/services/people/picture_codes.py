"""Picture codes: a young child signs in by tapping three pictures out of twelve instead of typing a PIN. No HTTP.

Must not import web or cli. A code is kept as its picture numbers joined by '-' ("3-11-7"), hashed with argon2id
like a PIN (services/auth) and throttled by the same per-account, per-device and per-class counters. 12 pictures,
3 different ones in order: 1,320 codes, fewer than a 4-digit PIN's 10,000, so the PIN lock (10 wrong tries a week)
leaves a guesser a 0.8 % chance instead of 0.1 %: the teacher chooses this trade for classes that cannot read
digits yet (docs/learning-space.md).
"""

from __future__ import annotations

import re
import secrets

from appliance.typed_numbers import whole_number

# The files are static/pictures/<name>.svg; the order is the grid's, and a code's numbers index this tuple.
PICTURES = ("sun", "moon", "star", "tree", "flower", "fish", "house", "heart", "cloud", "boat", "apple", "key")
CODE_LENGTH = 3
CODE_PATTERN = re.compile(r"(?:1[01]|[0-9])(?:-(?:1[01]|[0-9])){%d}" % (CODE_LENGTH - 1))  # noqa: UP031 (the regex's own braces)
KINDS = ("pin", "pictures")


def make_code() -> str:
    """A random code of CODE_LENGTH different pictures."""
    numbers = list(range(len(PICTURES)))
    chosen = [numbers.pop(secrets.randbelow(len(numbers))) for _ in range(CODE_LENGTH)]
    return "-".join(str(n) for n in chosen)


def number(text: str) -> int | None:
    """The picture that `text` numbers (ASCII digits below len(PICTURES)), or None."""
    value = whole_number(text, max_digits=2)
    return value if value is not None and value < len(PICTURES) else None


def picked(typed: str) -> list[int]:
    """The picture numbers picked so far from the form's field, at most CODE_LENGTH, junk dropped."""
    found = [n for n in map(number, typed.split("-")) if n is not None]
    return found[:CODE_LENGTH]


def joined(numbers: list[int]) -> str:
    return "-".join(str(n) for n in numbers)


def names(code: str) -> list[str]:
    """The pictures of a code, in order, for the printed sheet."""
    return [PICTURES[n] for n in picked(code)]


def is_code(text: str) -> bool:
    return CODE_PATTERN.fullmatch(text) is not None
