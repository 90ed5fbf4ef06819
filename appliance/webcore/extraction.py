"""Babel extraction methods for tpkit's own convention: every error code (`code="sync.busy"`, as a keyword argument
or a class attribute) is a message, `error.<code>`, shown to teachers and students in their language. babel.cfg
names these methods; `./build.sh messages` and tests/test_messages.py run them (docs/translating.md).

Babel is a development tool here (the `test` extra), imported only when extraction runs. Never imports services,
web, hub or cli.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection, Iterator
from typing import IO, Any

# The same pattern tests/test_docs.py holds against docs/errors.md.
CODE = re.compile(r'\bcode(?:\s*=\s*|=)"([a-z_.]+)"')

Found = tuple[int, str | None, str, list[str]]


def error_codes(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: dict[str, Any]
) -> Iterator[Found]:
    """`error.<code>` for each error code in a Python file, except the `technician_only` ones (space-separated in
    the mapping's options: errors only a technician reads, in the journal or the CLI)."""
    skipped = set(options.get("technician_only", "").split())
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for match in CODE.finditer(text):
        if match.group(1) not in skipped:
            yield text.count("\n", 0, match.start()) + 1, None, f"error.{match.group(1)}", []


def python_and_error_codes(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: dict[str, Any]
) -> Iterator[Found]:
    """Babel's Python extractor (`_()`, `N_()`…), then the file's error codes."""
    from babel.messages.extract import extract_python

    source = fileobj.read()
    # Babel's stubs type the keywords as its internal spec mapping and the options as a TypedDict; it accepts
    # what pybabel hands an extraction method (a collection of names, a plain dict) and yields the same tuples.
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type, misc]
    yield from error_codes(io.BytesIO(source), keywords, comment_tags, options)
