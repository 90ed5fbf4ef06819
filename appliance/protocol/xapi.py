"""Learning records on the wire: the xAPI 1.0.3 rules a statement must keep, checked by the kit that makes it and
by the hub before it forwards it to the county's LRS (docs/learning-space.md, "Learning records").

Imports only base modules.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from appliance.errors import BadRequestError
from appliance.typed_numbers import is_finite_number

VERSION = "1.0.3"
# tpkit's own context extensions: whether the kit's clock was synchronised, and which kit made the statement.
CLOCK_EXTENSION = "https://tpkit.invalid/xapi/extensions/clock-synchronised"
KIT_EXTENSION = "https://tpkit.invalid/xapi/extensions/kit-id"
IRI = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


def _bad(problem: str) -> BadRequestError:
    return BadRequestError(
        f"This learning record is not a valid xAPI {VERSION} statement: {problem}.",
        code="records.invalid",
        cause="It was changed after it was made, or made by another program.",
        fix="Records are made by the kit; report the kit's version with this message.",
    )


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
    scores = (made.get("result") or {}).get("score") or {}
    for name in ("raw", "min", "max", "scaled"):
        if name in scores and not is_finite_number(scores[name]):
            raise _bad(f"result.score.{name} = {scores[name]!r} is not a finite number")
    score = scores.get("scaled")
    if score is not None and not (isinstance(score, (int, float)) and -1 <= score <= 1):
        raise _bad(f"result.score.scaled = {score!r} is not between -1 and 1")
