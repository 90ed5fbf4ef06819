"""Class names are unique on the kit as people read them: two classes named alike would be two identical buttons
on /learn, and a pupil could pick another teacher's class. Names compare after Unicode NFKC (full-width ２ is 2,
full-width Ａ is A), case folding and squeezed spaces.

Must not import web or cli. Checked inside the write transaction that stores the name (SQLite's BEGIN IMMEDIATE
serialises writers, so two teachers cannot both take a name).
"""

from __future__ import annotations

import unicodedata

from appliance.errors import PeopleError
from appliance.storage.people import People


def name_key(name: str) -> str:
    """What two class names must not share: NFKC-normalised, case-folded, spaces squeezed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_free(conn, name: str, class_id: int | None = None, field: str | None = None) -> None:
    """PeopleError (people.class_name_taken, about the form's `field`) when a class (other than `class_id`, which is
    being renamed) has a name that reads as `name`."""
    taken = _taken(conn, except_id=class_id)
    if name_key(name) in taken:
        raise PeopleError(
            f"The class name {name!r} is taken: the class {taken[name_key(name)]!r} reads the same.",
            cause="Another teacher (or you) already has a class of this name; pupils could not tell them apart.",
            fix="Choose another name, for example with the teacher's name or the room in it.",
            code="people.class_name_taken",
            field=field,
        )


def free_name(conn, name: str, source_id: str) -> str:
    """`name`, or the first of `name (2)`, `name (3)`… that no class but the one with `source_id` reads as: for
    names that come from a school's system (OneRoster), which the kit does not refuse."""
    taken, candidate, n = _taken(conn, source_id), name, 1
    while name_key(candidate) in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _taken(conn, source_id: str | None = None, except_id: int | None = None) -> dict[str, str]:
    """{name key: name} of every class but the one with `source_id` (itself, when re-imported) or `except_id`."""
    rows = People.class_names(conn)
    return {
        name_key(row["name"]): row["name"]
        for row in rows
        if (source_id is None or row["source_id"] != source_id) and row["id"] != except_id
    }
