"""Light patterns of the status panel and the one table of fault blink codes.

Pure timing, no hardware: a pattern says whether a light is on at a moment, so the panel's
clock (and a test's fake clock) decides every blink. Imports nothing from the package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# The fault light blinks a problem's number, pauses, then the next problem's number.
# Also in docs/field-guide.md ("The lights and the button"); tests check the two agree.
BLINK_CODES: dict[str, int] = {
    "health.under_voltage": 1,
    "health.hot": 2,
    "health.disk_nearly_full": 3,
    "health.books_damaged": 4,
    "health.clock_unsynchronised": 5,
    "health.root_read_only": 6,
    "health.fs_errors": 7,
    "health.memory_kills": 8,
}

# Slow enough for a teacher to count up to eight without a stopwatch; the pause is four
# blinks long so the end of one number cannot be mistaken for a gap inside it.
BLINK_ON_S = 0.4
BLINK_OFF_S = 0.4
CODE_PAUSE_S = 2.0

Step = tuple[bool, float]


@dataclasses.dataclass(frozen=True)
class Pattern:
    """Steps of (on, seconds), played once or repeated from the moment the pattern starts."""

    steps: tuple[Step, ...]
    repeat: bool = True

    @property
    def length_s(self) -> float:
        return sum(seconds for _, seconds in self.steps)

    def is_on(self, elapsed_s: float) -> bool:
        """Whether the light is on `elapsed_s` after the pattern started (off after a single play)."""
        if elapsed_s < 0 or (not self.repeat and elapsed_s >= self.length_s):
            return False
        elapsed_s %= self.length_s
        for on, seconds in self.steps:
            if elapsed_s < seconds:
                return on
            elapsed_s -= seconds
        return False


OFF = Pattern(((False, 1.0),))
ON = Pattern(((True, 1.0),))
SYNC_RUNNING = Pattern(((True, 0.5), (False, 0.5)))  # an even, slow blink: "working on it"
SYNC_FAILED = Pattern(((True, 0.15), (False, 0.2), (True, 0.15), (False, 1.5)))  # a double blink
ACKNOWLEDGE_S = 1.0
SHUTDOWN_ACK = Pattern(((True, 0.1), (False, 0.1)) * 5, repeat=False)  # all lights flicker for 1 s
PRESS_ACK = Pattern(((True, 0.3),), repeat=False)
STATE_SHOWN_S = 3.0  # how long "all lights steady" answers a state request when the server is down


def code_pattern(codes: Sequence[int], repeat: bool = True) -> Pattern:
    """Each code as that many blinks followed by the pause, in the order given."""
    steps: list[Step] = []
    for code in codes:
        steps += [(True, BLINK_ON_S), (False, BLINK_OFF_S)] * code
        steps[-1] = (False, CODE_PAUSE_S)
    return Pattern(tuple(steps), repeat) if steps else OFF


def chase(names: Sequence[str], rounds: int = 2, step_s: float = 0.3) -> dict[str, Pattern]:
    """One light after another, `rounds` times: the "all well" answer to a state request."""
    patterns = {}
    for index, name in enumerate(names):
        before, after = index * step_s, (len(names) - index - 1) * step_s
        one_round = ((False, before), (True, step_s), (False, after))
        patterns[name] = Pattern(tuple(s for s in one_round if s[1] > 0) * rounds, repeat=False)
    return patterns
