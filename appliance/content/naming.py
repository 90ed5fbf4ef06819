"""Book names in URLs, made from file names the way kiwix-serve makes them.

libkiwix's Book::getHumanReadableIdFromPath: drop the folder and the `.zim*` suffix, remove
accents and lower-case (ICU's removeAccents does both), spaces become `_`, `+` becomes `plus`. ICU's Any-Latin transliteration (which turns
Chinese file names into pinyin) is not reproduced: non-Latin letters are kept as they are and
percent-encoded in links. Imports nothing from the package.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_ZIM_SUFFIX = re.compile(r"\.zim[a-z]*$")


def remove_accents(text: str) -> str:
    """Drop combining marks after canonical decomposition (é -> e, ü -> u)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def book_name(path: Path) -> str:
    """The name a book is served under: `/content/<name>/...`."""
    name = _ZIM_SUFFIX.sub("", remove_accents(path.name).lower())
    return name.replace(" ", "_").replace("+", "plus")


def unique_names(paths: list[Path]) -> dict[str, Path]:
    """Map names to files; a later clash gets `_2`, `_3`… so two files never hide each other."""
    names: dict[str, Path] = {}
    for path in sorted(paths):
        base = candidate = book_name(path)
        counter = 2
        while candidate in names:
            candidate = f"{base}_{counter}"
            counter += 1
        names[candidate] = path
    return names
