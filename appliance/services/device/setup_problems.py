"""A first-boot problem line (tpkit firstboot, docs/provisioning.md): its English text for the technician, which
`tpkit firstboot` prints, the journal keeps and the English admin page shows as it is; and, for the administrator's
page in another language, the message key (`firstboot.<kind>`, appliance/locale) that says it in the page's language
with its values (the keys are listed in web/i18n.py), and the technician's name it is about (a key of kit.toml, a file, a time zone), shown beside it
as code.

A Problem is a `str` (the English text): whatever reads the lines as text (the command's output, the tests, a
search for a key in them) reads them as before. Must not import web or cli.
"""

from __future__ import annotations

from typing import Any


class Problem(str):
    """The English line, with `key`, its `values` and what it is `about` (shown as code beside it): see above."""

    key: str
    about: str
    values: dict[str, Any]

    def __new__(cls, text: str, key: str, about: str = "", **values: Any) -> Problem:
        line = super().__new__(cls, text)
        line.key, line.about, line.values = key, about, values
        return line


def stored(line: str) -> str | dict[str, Any]:
    """How a line is kept (provisioning_runs): its text alone, or with its key, values and what it is about."""
    if isinstance(line, Problem):
        return {"text": str(line), "key": line.key, "values": line.values, "about": line.about}
    return line
