"""What the sync engine tells a progress display while it works (the CLI's bar, the import's lines).

Plain data; must not import web.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Event:
    """What the engine is doing, for a progress display: `kind` is index, plan, download, verify, rebuild, layer (patches
    written as layers over a large book), whole (a patch failed: the full book instead), activate, failed (a book not updated; the run goes on), remove (and yield,
    paused, resume, cap, peer)."""

    kind: str
    package_id: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    rate_bps: int = 0
    text: str = ""
