"""Notes, on every message with `{name}` placeholders, which placeholders a translation must keep (a `#.` comment
that Poedit and Weblate show beside the message), taken from the English catalogue. `pybabel update` replaces such
comments with the .pot's, so `./build.sh messages` runs this after it; tests/test_messages.py checks the
placeholders themselves.

Why not the `python-brace-format` flag: our msgids are keys with no placeholder, and against such a msgid the
flag is a contradiction for both tools: Babel's reader drops it, GNU `msgfmt -c` (which Poedit runs on save)
refuses "a format specification for argument 'name' doesn't exist in 'msgid'".

Usage: python tools/po_placeholders.py LOCALE_DIR DOMAIN
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
NOTE = "Keep the placeholders: "


def note(english: str) -> list[str]:
    """The comment for a message whose English text is `english` (none when it has no placeholder)."""
    names = list(dict.fromkeys(PLACEHOLDER.findall(english)))
    return [NOTE + " ".join(names)] if names else []


def main(locale_dir: Path, domain: str) -> None:
    with (locale_dir / "en" / "LC_MESSAGES" / f"{domain}.po").open("rb") as file:
        english = {message.id: message.string for message in read_po(file) if message.id}
    for path in sorted(locale_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        with path.open("rb") as file:
            catalog = read_po(file)
        for message in catalog:
            if message.id:
                kept = [c for c in message.auto_comments if not c.startswith(NOTE)]
                message.auto_comments = kept + note(english.get(message.id) or message.string or "")
        with path.open("wb") as file:
            write_po(file, catalog, width=None)  # as `pybabel update --no-wrap` writes it


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
