"""What every audit check returns: findings with a level, and where the checks look outside the kit's folders.

Must not import web, hub or cli.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

LEVELS = ("ok", "warning", "problem")  # in order of gravity; a problem makes `tpkit audit` exit 1
Value = str | int | float


@dataclasses.dataclass(frozen=True)
class Machine:
    """Where the checks look outside the kit's own folders: the file system root (/etc, /run) and the PATH its
    commands are found on (None: this process's). Tests pass a temporary root and fake commands."""

    root: Path = Path("/")
    path: str | None = None


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing the audit found. `key` names the sentence (`key + ".fix"` the fix), filled from `values`; `rows`
    are the data it is about (units and scores, paths and modes, user names): data, never words."""

    topic: str
    key: str
    level: str
    values: Mapping[str, Value] = dataclasses.field(default_factory=dict)
    rows: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level {self.level!r} is not one of {LEVELS}")


def worst(levels: Sequence[str]) -> str:
    """The gravest of `levels` ("ok" for none)."""
    return max(levels, key=LEVELS.index, default="ok")
