"""The learning space's one call into learning records: an event (opened, handed in, scored) as an xAPI statement
queued in the outbox. Kept tiny on purpose: the records store of branch learning-quizzes may replace its body.

Must not import web or cli. The actor is the account's pseudonym, never its name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from appliance.services import reports, xapi


def home_page(kit) -> str:
    """The xAPI account homePage of this kit's learners."""
    return f"https://tpkit.invalid/kits/{kit.settings.kit_id}"


def record(kit, account, verb: str, activity_kind: str, activity_parts: tuple[str, ...], activity_name: str,
           result: dict[str, Any] | None = None, when: dt.datetime | None = None) -> dict[str, Any]:
    """Queue one statement: `account` (an accounts row with a pseudonym) did `verb` (xapi.VERBS) to the activity."""
    when = when or dt.datetime.now(dt.timezone.utc)
    clock_ok = kit.readings.commands().get("clock_synchronized") is True
    made = xapi.statement(home_page=home_page(kit), learner=account["pseudonym"], verb=verb,
                          activity=xapi.activity_id(home_page(kit), activity_kind, *activity_parts),
                          activity_kind=activity_kind, activity_name=activity_name or activity_kind, when=when,
                          clock_synchronised=clock_ok, kit_id=kit.settings.kit_id, result=result)
    reports.queue_records(kit, [made], now=when)
    return made
