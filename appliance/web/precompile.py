"""`python -m appliance.web.precompile FOLDER`: compile every page template into the kit's template cache (web/pages.py)
at the lowest CPU priority, then mark the folder as done for this version of tpkit.

`tpkit serve`'s supervising process starts it when the mark is missing (the first start after an install or an
update) and goes on: it never imports the pages itself (issue 15: its start and its memory), and the workers it starts
load compiled templates instead of compiling each while a class waits (issue 16: forty children's first pages at
once). A worker that needs a template first compiles it as before, and keeps it in the cache too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from appliance.paths import compiled_mark

NICENESS = 19


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m appliance.web.precompile FOLDER", file=sys.stderr)
        return 2
    try:
        os.nice(NICENESS)  # below the web workers starting beside it
    except OSError:  # tpkit-web.service filters out @resources (setpriority): compile at the workers' priority
        pass
    from appliance.web import pages  # after the nice: importing the pages is most of the work

    folder = Path(args[0])
    if not pages.compile_all(folder):
        return 1
    compiled_mark(folder).touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
