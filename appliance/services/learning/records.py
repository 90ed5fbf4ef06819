"""Learning records: every meaningful event of a student as an xAPI statement, stored on the kit, handed to
the outbox by `tpkit report`, exported by `tpkit records export` (docs/learning-space.md, "Learning records").

Must not import web or cli. `record` is the stable entry point other parts (lessons, homework, the library)
call; the actor is the account's pseudonymous id unless `records_real_names` is on.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from appliance.errors import BadRequestError
from appliance.services.learning import xapi
from appliance.services.reporting import outbox_reports as reports

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# Kinds whose ids are only unique on one kit (a quiz number): their activity ids carry the kit id, so a
# county home page shared by many kits never merges two kits' "quiz 3". Books and articles are the same
# everywhere (the book's name), so they do not.
KIT_LOCAL_KINDS = ("quiz", "question", "lesson", "homework")
# "Opened" is recorded once per student and activity within this window: reloading an article, coming back to it
# from the next page, or reaching it through a lesson's item link and then /content makes one statement, not
# many. 30 minutes: shorter than a school period, so a student who reads the article again next lesson (or after
# a break) is recorded again (docs/learning-space.md, "Learning records").
OPEN_WINDOW_S = 30 * 60
# Statements handed to the outbox per query; reports.queue_records splits them further by size.
QUEUE_CHUNK = 2000


def home_page(settings) -> str:
    """The actor account's homePage: `records_home_page`, or one derived from the kit id."""
    return settings.records_home_page or f"https://tpkit.invalid/kits/{settings.kit_id}"


def activity(settings, activity_kind: str, activity_id: str) -> str:
    """The IRI of an activity: `activity_id` is the kit's own id ("12" for quiz 12, "12/0" for its first
    question, "<book>/<path>" for an article, "<book>" for a book)."""
    parts = (settings.kit_id, activity_id) if activity_kind in KIT_LOCAL_KINDS else (activity_id,)
    return xapi.activity_id(home_page(settings), activity_kind, *parts)


def clock_trusted(kit: Kit) -> bool:
    """Whether the kit's clock is synchronised now (the reading is cached for `health_cache_s`)."""
    return kit.readings.commands()["clock_synchronized"] is True


def make(
    kit: Kit,
    account,
    verb: str,
    activity_kind: str,
    activity_id: str,
    name: str,
    result: dict[str, Any] | None = None,
    *,
    when: dt.datetime | None = None,
    clock_synchronised: bool | None = None,
) -> dict[str, Any]:
    """One statement for `account` (an accounts row with `pseudonym` and `display_name`), not stored."""
    settings = kit.settings
    learner = (
        account["display_name"] if settings.records_real_names and account["display_name"] else account["pseudonym"]
    )
    if not learner:
        raise BadRequestError(
            f"Account {account['id']} has no pseudonymous id, so no learning record can be made.",
            code="records.invalid",
            fix="Run `tpkit serve` once so the database is migrated.",
        )
    return xapi.statement(
        home_page=home_page(settings),
        learner=learner,
        verb=verb,
        activity=activity(settings, activity_kind, activity_id),
        activity_kind=activity_kind,
        activity_name=name,
        when=when or dt.datetime.now(dt.timezone.utc),
        clock_synchronised=clock_trusted(kit) if clock_synchronised is None else clock_synchronised,
        kit_id=settings.kit_id,
        result=result,
        language=settings.default_language,
    )


def store(kit: Kit, account_id: int | None, statements: list[dict[str, Any]]) -> None:
    """Keep statements made with `make` (one transaction)."""
    if statements:
        kit.learning_records.add(statements, account_id)


def record(
    kit: Kit,
    account_id: int,
    verb: str,
    activity_kind: str,
    activity_id: str,
    name: str,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record that account `account_id` did `verb` (a key of xapi.VERBS: opened, completed, attempted, answered,
    scored, passed, failed, handed_in) to an activity of `activity_kind` (book, article, lesson, quiz, question,
    homework) with the kit's own `activity_id` and display `name`; `result` as from xapi.score_result.
    The stored statement. Stable: lessons, homework and the library call this."""
    account = kit.people.person(account_id)
    if account is None:
        raise BadRequestError(
            f"There is no account {account_id} to record learning for.",
            code="records.invalid",
            fix="Record only for signed-in accounts.",
        )
    made = make(kit, account, verb, activity_kind, activity_id, name, result)
    store(kit, account_id, [made])
    return made


def record_open(
    kit: Kit, account, activity_kind: str, activity_id: str, name: str, *, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """Record that `account` (an accounts row) opened an activity, unless they already did within OPEN_WINDOW_S;
    the stored statement, or None when it was a repeat."""
    when = now or dt.datetime.now(dt.timezone.utc)
    iri = activity(kit.settings, activity_kind, activity_id)
    if kit.learning_records.opened_within(account["id"], iri, when.timestamp(), OPEN_WINDOW_S):
        return None
    made = make(kit, account, "opened", activity_kind, activity_id, name, when=when)
    stored = kit.learning_records.add_open(made, account["id"], iri, when.timestamp(), OPEN_WINDOW_S)
    return made if stored else None


def record_open_later(
    kit: Kit, account, activity_kind: str, activity_id: str, name: str, *, now: dt.datetime | None = None
) -> None:
    """`record_open` for the library's articles, the one path a whole class takes many times a minute: the statement
    waits in this process's batch (services/learning/open_batch.py) and is written with the others within
    open_batch.BATCH_S, sparing the SD card ~40 KB each."""
    when = now or dt.datetime.now(dt.timezone.utc)
    iri = activity(kit.settings, activity_kind, activity_id)
    if kit.open_batch.waiting(account["id"], iri):
        return
    if kit.learning_records.opened_within(account["id"], iri, when.timestamp(), OPEN_WINDOW_S):
        return
    made = make(kit, account, "opened", activity_kind, activity_id, name, when=when)
    kit.open_batch.add(made, account["id"], iri, when.timestamp())


def queue_pending(kit: Kit, *, now: dt.datetime | None = None, secret=None) -> int:
    """Hand every statement not yet in the outbox to it (`reports.queue_records`); how many were handed.
    A crash between queueing and marking queues them again next time: the statement id makes that safe."""
    handed = 0
    while True:
        pending = kit.learning_records.pending(QUEUE_CHUNK)
        if not pending:
            return handed
        reports.queue_records(kit, pending, secret=secret, now=now)
        kit.learning_records.mark_queued([s["id"] for s in pending])
        handed += len(pending)


def export(kit: Kit, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Every statement made on or after `since` (UTC day), oldest first, each checked by xapi.check_statement."""
    found = kit.learning_records.since(since.isoformat() if since else None)
    for made in found:
        xapi.check_statement(made)
    return found
