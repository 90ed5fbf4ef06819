"""Checking that a Chinese page has no English word (issue 16): the Latin words a reader sees in the page's main
part, leaving out code, tags, entities and the data the test itself put there (names, titles a teacher typed)."""

from __future__ import annotations

import re

# Unit symbols a Chinese page writes as they are (2.5 MB, like 30 °C): not English words.
UNITS = frozenset({"KB", "MB", "GB", "TB"})


def visible_words(html: str, data: tuple[str, ...] = ()) -> list[str]:
    """Latin words of two letters or more in `<main>`, without `<code>`, tags, entities, unit symbols and the strings
    in `data` (names of people and classes, titles: what was typed is shown as typed)."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    for pattern in (r"<code>.*?</code>", r"<[^>]+>", r"&[a-z#0-9]+;"):
        main = re.sub(pattern, " ", main, flags=re.DOTALL)
    for text in sorted(data, key=len, reverse=True):
        main = main.replace(text, " ")
    return [word for word in re.findall(r"[A-Za-z]{2,}", main) if word not in UNITS]
