"""Learning records as xAPI 1.0.3 statements (docs/learning-space.md, "Learning records").

Every meaningful event becomes one statement with an id made on the kit, so sending it twice is safe.
The actor is an `account` (the kit's or county's home page, and a pseudonymous id), never a real name
unless the school turned that on. No HTTP, no SQL: the outbox (protocol/report_file) carries them. The rules a
statement must keep, which the hub checks too, are in protocol/xapi.py.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Any
from urllib.parse import quote

from appliance.protocol.xapi import CLOCK_EXTENSION, IRI, KIT_EXTENSION, VERSION, check_statement

__all__ = [
    "CLOCK_EXTENSION",
    "IRI",
    "KIT_EXTENSION",
    "TYPES",
    "VERBS",
    "VERSION",
    "activity_id",
    "check_statement",
    "new_statement_id",
    "score_result",
    "statement",
]  # the wire's rules (protocol.xapi) are named here too, beside the making

# ADL's verbs where one fits (http://adlnet.gov/expapi/verbs/), Activity Streams' "submit" for a hand-in.
VERBS = {
    "opened": ("http://adlnet.gov/expapi/verbs/experienced", "experienced", "浏览了"),
    "completed": ("http://adlnet.gov/expapi/verbs/completed", "completed", "完成了"),
    "attempted": ("http://adlnet.gov/expapi/verbs/attempted", "attempted", "开始了"),
    "answered": ("http://adlnet.gov/expapi/verbs/answered", "answered", "回答了"),
    "scored": ("http://adlnet.gov/expapi/verbs/scored", "scored", "得分"),
    "passed": ("http://adlnet.gov/expapi/verbs/passed", "passed", "通过了"),
    "failed": ("http://adlnet.gov/expapi/verbs/failed", "failed", "未通过"),
    "handed_in": ("http://activitystrea.ms/schema/1.0/submit", "submitted", "提交了"),
}
# Activity types of ADL's vocabulary (http://adlnet.gov/expapi/activities/).
TYPES = {
    "book": "http://adlnet.gov/expapi/activities/course",
    "article": "http://adlnet.gov/expapi/activities/module",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "homework": "http://adlnet.gov/expapi/activities/assessment",
}


def activity_id(home_page: str, kind: str, *parts: str) -> str:
    """A stable IRI for a book, an article of a book, a lesson, a quiz or one of its questions.

    activity_id(home, "article", "wikipedia_zh_all", "A/光合作用") -> home/xapi/activities/article/wikipedia_zh_all/A/%E5%85%89…
    """
    if kind not in TYPES:
        raise ValueError(f"unknown activity kind {kind!r}")
    return "/".join([home_page.rstrip("/"), "xapi", "activities", kind, *(quote(p, safe="/") for p in parts)])


def statement(
    *,
    home_page: str,
    learner: str,
    verb: str,
    activity: str,
    activity_kind: str,
    activity_name: str,
    when: dt.datetime,
    clock_synchronised: bool,
    kit_id: str,
    result: dict[str, Any] | None = None,
    language: str = "en",
    statement_id: str | None = None,
) -> dict[str, Any]:
    """One statement. `learner` is the pseudonymous id (a UUID) unless the school turned real names on."""
    iri, display_en, display_zh = VERBS[verb]
    made = {
        "id": statement_id or new_statement_id(),
        "version": VERSION,
        "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": learner}},
        "verb": {"id": iri, "display": {"en-US": display_en, "zh-CN": display_zh}},
        "object": {
            "objectType": "Activity",
            "id": activity,
            "definition": {"type": TYPES[activity_kind], "name": {_tag(language): activity_name}},
        },
        "timestamp": when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "context": {
            "platform": "tpkit",
            "language": _tag(language),
            "extensions": {CLOCK_EXTENSION: clock_synchronised, KIT_EXTENSION: kit_id},
        },
    }
    if result:
        made["result"] = result
    check_statement(made)
    return made


def new_statement_id() -> str:
    """A time-ordered UUID (version 7, RFC 9562: 48 bits of Unix milliseconds, then 74 random bits) for a new
    statement. The id is the key of `learning_records`: random (version 4) ids put each new row on a random page of
    that index, so a batch of 30 "opened" statements rewrote ~30 pages of it on the SD card; ids that grow with time
    append to its last page (docs/learning-space.md, "Where the window is kept"). Any UUID is a valid xAPI id."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # the RFC's variant
    return str(uuid.UUID(int=value))


def score_result(score: float, out_of: float, *, passed_at: float | None = None) -> dict[str, Any]:
    """xAPI `result` for a graded quiz or homework: raw, max, scaled and (with a pass mark) success."""
    scaled = 0.0 if out_of <= 0 else max(0.0, min(1.0, score / out_of))
    result: dict[str, Any] = {
        "score": {"raw": score, "min": 0, "max": out_of, "scaled": round(scaled, 4)},
        "completion": True,
    }
    if passed_at is not None:
        result["success"] = scaled >= passed_at
    return result


def _tag(language: str) -> str:
    return {"en": "en-US", "zh": "zh-CN"}.get(language, language or "und")
