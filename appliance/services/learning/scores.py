"""Scores as people read them (docs/learning-space.md, "Scores"): stored values stay exact (4.6667), pages and
exports show them rounded (4.7), a question is right, partly right or wrong, and a hand-in may have a level.

Pure logic: no HTTP, no SQL.
"""

from __future__ import annotations

MARKS = ("right", "partly", "wrong")
LEVELS = ("excellent", "good", "pass", "not_yet")  # 优, 良, 合格, 待合格: a primary school's grades beside points


def shown(value: float | None) -> str:
    """A score for people: at most one decimal, a trailing .0 dropped (4.6667 → "4.7", 5.0 → "5"); "" for None."""
    if value is None:
        return ""
    text = f"{round(float(value), 1):.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def percent(share: float | None) -> str:
    """A share (0–1) as a whole percentage for people: 0.4667 → "47"; "" for None."""
    return "" if share is None else str(round(float(share) * 100))


def mark(score: float | None, points: float) -> str:
    """How a question went: "right" (full points), "partly" (0 < score < points: partial credit) or "wrong"."""
    if score is None or score <= 0:
        return "wrong"
    return "right" if score >= points - 1e-9 else "partly"


def level_key(level: str | None) -> str:
    """The message key of a hand-in's level ("level.excellent" → 优 / Excellent); "" for none."""
    return f"level.{level}" if level in LEVELS else ""
