"""Scores as people read them (docs/learning-space.md, "Scores"): stored values stay exact (4.6667), pages and
exports show them rounded (4.7), and a question is right, partly right or wrong.

Pure logic: no HTTP, no SQL.
"""

from __future__ import annotations

MARKS = ("right", "partly", "wrong")


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
