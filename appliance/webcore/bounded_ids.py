"""Integer path parameters bounded to what SQLite can hold (issue 14, hostile input).

Starlette's `{x:int}` matches any run of digits, and an id of 2^63 or more then failed in SQLite ("Python int too
large to convert to SQLite INTEGER"): an anonymous 500 with a traceback in the log. `register()` replaces the
`int` convertor once, before any route is made, with one that matches at most 18 digits, so a longer number is
simply no page (404). Every `{x:int}` in the process is then bounded without naming a new convertor (the hub has
no integer routes yet; it would call `register()` the same way).
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

MAX_DIGITS = 18  # 10^18 - 1 < 2^63 - 1, SQLite's largest INTEGER


class BoundedIntegerConvertor(IntegerConvertor):
    regex = f"[0-9]{{1,{MAX_DIGITS}}}"


def register() -> None:
    """Make `{x:int}` match at most MAX_DIGITS digits; call before any Route is made (web/__init__)."""
    register_url_convertor("int", BoundedIntegerConvertor())
