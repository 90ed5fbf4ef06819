"""Checking that a Chinese page has no English word (issue 16): the Latin words a reader sees in the page's main
part, leaving out code, tags, entities and the data the test itself put there (names, titles a teacher typed)."""

from __future__ import annotations

import re


def visible_words(html: str, data: tuple[str, ...] = ()) -> list[str]:
    """Latin words of two letters or more in `<main>`, without `<code>`, tags, entities and the strings in `data`
    (names of people and classes, titles: what was typed is shown as typed)."""
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    for pattern in (r"<code>.*?</code>", r"<[^>]+>", r"&[a-z#0-9]+;"):
        main = re.sub(pattern, " ", main, flags=re.DOTALL)
    for text in sorted(data, key=len, reverse=True):
        main = main.replace(text, " ")
    return re.findall(r"[A-Za-z]{2,}", main)
