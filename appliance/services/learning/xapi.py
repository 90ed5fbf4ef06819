"""Learning records as xAPI 1.0.3 statements (docs/learning-space.md, "Learning records").

Every meaningful event becomes one statement with an id made on the kit, so sending it twice is safe.
The actor is an `account` (the kit's or county's home page, and a pseudonymous id), never a real name
unless the school turned that on. No HTTP, no SQL: the outbox (services/report_file) carries them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import quote

from appliance.errors import BadRequestError

VERSION = "1.0.3"
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
TYPES = {"book": "http://adlnet.gov/expapi/activities/course", "article": "http://adlnet.gov/expapi/activities/module",
         "lesson": "http://adlnet.gov/expapi/activities/lesson", "quiz": "http://adlnet.gov/expapi/activities/assessment",
         "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
         "homework": "http://adlnet.gov/expapi/activities/assessment"}
CLOCK_EXTENSION = "https://tpkit.invalid/xapi/extensions/clock-synchronised"
KIT_EXTENSION = "https://tpkit.invalid/xapi/extensions/kit-id"
IRI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


def activity_id(home_page: str, kind: str, *parts: str) -> str:
    """A stable IRI for a book, an article of a book, a lesson, a quiz or one of its questions.

    activity_id(home, "article", "wikipedia_zh_all", "A/光合作用") -> home/xapi/activities/article/wikipedia_zh_all/A/%E5%85%89…
    """
    if kind not in TYPES:
        raise ValueError(f"unknown activity kind {kind!r}")
    return "/".join([home_page.rstrip("/"), "xapi", "activities", kind, *(quote(p, safe="/") for p in parts)])


def statement(*, home_page: str, learner: str, verb: str, activity: str, activity_kind: str, activity_name: str,
              when: dt.datetime, clock_synchronised: bool, kit_id: str, result: dict[str, Any] | None = None,
              language: str = "en", statement_id: str | None = None) -> dict[str, Any]:
    """One statement. `learner` is the pseudonymous id (a UUID) unless the school turned real names on."""
    iri, display_en, display_zh = VERBS[verb]
    made = {
        "id": statement_id or str(uuid.uuid4()),
        "version": VERSION,
        "actor": {"objectType": "Agent", "account": {"homePage": home_page, "name": learner}},
        "verb": {"id": iri, "display": {"en-US": display_en, "zh-CN": display_zh}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"type": TYPES[activity_kind], "name": {_tag(language): activity_name}}},
        "timestamp": when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "context": {"platform": "tpkit", "language": _tag(language),
                    "extensions": {CLOCK_EXTENSION: clock_synchronised, KIT_EXTENSION: kit_id}},
    }
    if result:
        made["result"] = result
    check_statement(made)
    return made


def score_result(score: float, out_of: float, *, passed_at: float | None = None) -> dict[str, Any]:
    """xAPI `result` for a graded quiz or homework: raw, max, scaled and (with a pass mark) success."""
    scaled = 0.0 if out_of <= 0 else max(0.0, min(1.0, score / out_of))
    result: dict[str, Any] = {"score": {"raw": score, "min": 0, "max": out_of, "scaled": round(scaled, 4)},
                              "completion": True}
    if passed_at is not None:
        result["success"] = scaled >= passed_at
    return result


def _tag(language: str) -> str:
    return {"en": "en-US", "zh": "zh-CN"}.get(language, language or "und")


def _bad(problem: str) -> BadRequestError:
    return BadRequestError(f"This learning record is not a valid xAPI {VERSION} statement: {problem}.",
                           code="records.invalid",
                           cause="It was changed after it was made, or made by another program.",
                           fix="Records are made by the kit; report the kit's version with this message.")


def check_statement(made: Any) -> None:
    """Check the parts of a statement tpkit relies on (and an LRS would refuse): a BadRequestError otherwise."""
    if not isinstance(made, dict):
        raise _bad("it is not an object")
    try:
        if str(uuid.UUID(str(made.get("id")))) != made.get("id"):
            raise ValueError
    except ValueError:
        raise _bad(f"id {made.get('id')!r} is not a lower-case UUID") from None
    account = (made.get("actor") or {}).get("account") or {}
    if not IRI.match(str(account.get("homePage", ""))) or not account.get("name"):
        raise _bad("the actor has no account with an IRI homePage and a name")
    if not IRI.match(str((made.get("verb") or {}).get("id", ""))):
        raise _bad("the verb has no IRI id")
    if not IRI.match(str((made.get("object") or {}).get("id", ""))):
        raise _bad("the object has no IRI id")
    try:
        stamp = dt.datetime.fromisoformat(str(made.get("timestamp")).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"timestamp {made.get('timestamp')!r} is not ISO 8601") from None
    if stamp.tzinfo is None:
        raise _bad("the timestamp has no time zone")
    score = ((made.get("result") or {}).get("score") or {}).get("scaled")
    if score is not None and not (isinstance(score, (int, float)) and -1 <= score <= 1):
        raise _bad(f"result.score.scaled = {score!r} is not between -1 and 1")
