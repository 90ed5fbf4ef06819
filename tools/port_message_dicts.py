"""Ports a branch that still keeps messages in the old Python dicts (`MESSAGES` in appliance/web/i18n.py and
appliance/hub/i18n.py, before the catalogues of docs/translating.md) onto the catalogues: every (key, language)
text of that revision's dicts is written into appliance/locale/<lang>/LC_MESSAGES/{tpkit,hub}.po (new keys added,
changed texts replaced, each change printed), and `t(` calls in the templates become `_(`.

Usage, from the repository root, in the middle of merging such a branch (take the catalogues' side of
web/i18n.py and hub/i18n.py first, and declare new keys built at run time there with N_()):
    .venv/bin/python tools/port_message_dicts.py THEIR_REVISION
    ./build.sh messages && ./build.sh test tests/test_messages.py tests/test_docs.py
Delete this tool once no branch from before the catalogues is left.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALE = Path("appliance/locale")
SOURCES = {"tpkit": "appliance/web/i18n.py", "hub": "appliance/hub/i18n.py"}
TEMPLATES = ("appliance/web/templates", "appliance/hub/templates")


def old_dicts(revision: str, path: str) -> dict[str, dict[str, str]]:
    """The `MESSAGES` dict of `path` at `revision` (its imports cut: only the dict literal is wanted)."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], check=True, capture_output=True, text=True).stdout
    start = source.index("MESSAGES: dict[str, dict[str, str]] = ")
    end = source.index("\n}\n", start) + 3
    found: dict[str, dict[str, dict[str, str]]] = {}
    exec(source[start:end], {}, found)  # the dict literal of our own repository's history
    return found["MESSAGES"]


def port(revision: str) -> None:
    for domain, path in SOURCES.items():
        for lang, texts in old_dicts(revision, path).items():
            po = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
            with po.open("rb") as file:
                catalog = read_po(file)
            for key, text in texts.items():
                if key not in catalog:
                    catalog.add(key, text)
                    print(f"[i] {po}: added {key}")
                elif catalog[key].string != text:
                    print(f"[i] {po}: {key}: {catalog[key].string!r} -> {text!r}")
                    catalog[key].string = text
            with po.open("wb") as file:
                write_po(file, catalog, width=None)
    for folder in TEMPLATES:
        for template in Path(folder).glob("*.*"):
            text = template.read_text()
            ported = re.sub(r"(?<![\w.])t\(", "_(", text)
            if ported != text:
                template.write_text(ported)
                print(f"[i] {template}: t( -> _(")


if __name__ == "__main__":
    port(sys.argv[1])
