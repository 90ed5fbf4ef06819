"""Learning records forwarded from the hub to the county's xAPI Learning Record Store (docs/hub.md, "xAPI").

At ingest, every valid statement of a `records` report is queued once by its id (storage/lrs_outbox.py).
`tpkit hub forward` (a timer) posts what is due in batches: `POST <hub_lrs_url>/statements` with `X-Experience-API-Version: 1.0.3`. An
LRS stores a statement id once and answers a resent identical statement without error, so a batch cut by a
network failure is simply sent again. Statuses: 200/204 forwarded; 409 (the LRS holds a *different*
statement with one of these ids) or 400 (one statement the LRS refuses refuses the whole batch) → the batch is
sent one by one with `PUT ?statementId=` to find the statement at fault, which alone is then parked with its
error and never resent (issue 14: one bad statement parked 38 good ones); any other 4xx (401, 403, 413: the
hub's settings, not a statement) parks the batch; 5xx and network failures back off per statement, doubling from
1 min up to 6 h.

`tpkit hub prune` deletes statements forwarded more than `hub_keep_forwarded_days` ago (`prune_forwarded`), in
small transactions; waiting and parked ones are never deleted. A kit resending a records report older than that
queues them again, and the LRS answers identical statements without error.

Only statements that name the kit that sent them are queued (issue 14): a kit's records report could otherwise
carry statements in another kit's name.
"""

from __future__ import annotations

import base64
import dataclasses
import urllib.parse
from collections.abc import Callable
from typing import Any

from appliance.edges.uplink import Uplink
from appliance.errors import BadRequestError
from appliance.hub import retention
from appliance.hub.storage import lrs_outbox
from appliance.protocol import xapi

BATCH = 100  # statements per POST: ~100 KB, well under any LRS's request limit
FIRST_WAIT_S, MAX_WAIT_S = 60.0, 6 * 3600.0
PRUNE_BATCH = 500  # forwarded statements deleted per transaction by `tpkit hub prune`
PARKED_S = 10 * 365 * 86400.0  # "never, unless a technician retries": far in the future, still a number
XAPI_VERSION = xapi.VERSION
KIT_HOME = "https://tpkit.invalid/kits/"  # services/learning/records.home_page without records_home_page


def valid_statements(body: dict[str, Any], kit_id: str) -> list[dict[str, Any]]:
    """The statements of kit `kit_id`'s records report an LRS would accept and that name that kit (ingest queues
    them: storage.lrs_outbox.queue)."""
    statements = body.get("statements") if isinstance(body, dict) else None
    valid = []
    for statement in statements if isinstance(statements, list) else []:
        try:
            xapi.check_statement(statement)
        except BadRequestError:
            continue  # the report itself is kept; a statement an LRS would refuse is not forwarded
        if names_kit(statement, kit_id):
            valid.append(statement)
    return valid


def names_kit(statement: dict[str, Any], kit_id: str) -> bool:
    """Whether a checked statement was made by kit `kit_id`: its kit extension names it, and every kit-derived
    IRI in it (actor homePage, activity id: `https://tpkit.invalid/kits/<kit id>`, services/learning/records.py)
    names it too. A county-chosen homePage (`records_home_page`) cannot be told apart by the hub."""
    extensions = (statement.get("context") or {}).get("extensions") or {}
    if extensions.get(xapi.KIT_EXTENSION) != kit_id:
        return False
    iris = (statement["actor"]["account"]["homePage"], statement["object"]["id"])
    own = KIT_HOME + kit_id
    return all(iri == own or iri.startswith(own + "/") for iri in iris if iri.startswith(KIT_HOME))


@dataclasses.dataclass
class Forwarded:
    """One forwarding round: statements forwarded, conflicting, parked, backed off; the last error."""

    forwarded: int = 0
    conflicts: int = 0
    parked: int = 0
    backed_off: int = 0
    error: str = ""


def _headers(auth: str) -> dict[str, str]:
    headers = {"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return headers


def forward(db, lrs_url: str, now: float, *, auth: str = "", batch: int = BATCH) -> Forwarded:
    """Forward everything due; stops at the first network failure or 5xx (the rest waits for its back-off)."""
    done = Forwarded()
    with Uplink(lrs_url) as lrs:
        while True:
            rows = lrs_outbox.due(db, now, batch)
            if not rows:
                return done
            ids = [row["statement_id"] for row in rows]
            body = ("[" + ",".join(row["statement"] for row in rows) + "]").encode()
            answer = lrs.post("/statements", content=body, headers=_headers(auth))
            if answer.status in (200, 204):
                lrs_outbox.forwarded(db, ids, now)
                done.forwarded += len(ids)
            elif answer.status == 409 or (answer.status == 400 and len(rows) > 1):
                _one_by_one(db, lrs, rows, now, auth, done)
            elif _refused(answer.status):
                done.error = _refusal(answer.status, answer.body)
                lrs_outbox.retry_at(db, ids, now + PARKED_S, done.error)
                done.parked += len(ids)
            else:
                done.error = answer.error or f"the LRS answered HTTP {answer.status}"
                waits = [min(FIRST_WAIT_S * 2 ** row["attempts"], MAX_WAIT_S) for row in rows]
                lrs_outbox.back_off(
                    db, [(row["statement_id"], now + wait) for row, wait in zip(rows, waits)], done.error
                )
                done.backed_off += len(rows)
                return done


def _refusal(status: int | None, body: dict[str, Any] | None) -> str:
    """Why the LRS refused a whole batch, and for 401/403 that it is the hub's credentials."""
    if status in (401, 403):
        return (
            f"the LRS refused the hub's credentials (HTTP {status}): hub_lrs_auth is wrong or lacks write access "
            f"{body or ''}"
        ).strip()
    return f"the LRS refused the batch: HTTP {status} {body or ''}".strip()


def _refused(status: int | None) -> bool:
    """A 4xx that retrying cannot fix (408 and 429 can)."""
    return status is not None and 400 <= status < 500 and status not in (408, 429)


def _one_by_one(db, lrs: Uplink, rows: list[dict[str, Any]], now: float, auth: str, done: Forwarded) -> None:
    """After a batch was refused (409 or another 4xx): PUT each statement by its id, so only the conflicting or
    refused one is kept back."""
    for row in rows:
        path = "/statements?statementId=" + urllib.parse.quote(row["statement_id"])
        answer = lrs.put(path, content=row["statement"].encode(), headers=_headers(auth))
        if answer.status in (200, 204):
            lrs_outbox.forwarded(db, [row["statement_id"]], now, clear_error=False)
            done.forwarded += 1
        elif answer.status == 409:
            lrs_outbox.retry_at(
                db, [row["statement_id"]], now + PARKED_S, "conflict: the LRS holds another statement with this id"
            )
            done.conflicts += 1
        elif _refused(answer.status):
            done.error = f"the LRS refused statement {row['statement_id']}: HTTP {answer.status} {answer.body or ''}"
            lrs_outbox.retry_at(db, [row["statement_id"]], now + PARKED_S, done.error.strip())
            done.parked += 1
        else:
            done.error = answer.error or f"the LRS answered HTTP {answer.status}"
            lrs_outbox.retry_at(db, [row["statement_id"]], now + FIRST_WAIT_S, done.error)
            done.backed_off += 1


def prune_forwarded(
    db,
    now: float,
    keep_days: int,
    *,
    batch: int = PRUNE_BATCH,
    pause_s: float = 0.01,
    between: Callable[[], None] = lambda: None,
) -> int:
    """Delete statements forwarded more than `keep_days` ago (0 keeps them); how many. Waiting and parked ones are
    kept. Batches of `batch` rows, one short transaction each, `pause_s` apart (ingest queues statements meanwhile;
    `between` is called there too: tests ingest during a prune). A kit that resends a records report after this
    queues its statements again: the LRS answers identical ones without error (tests/hub/test_lrs_ralph.py)."""
    if keep_days <= 0:
        return 0
    cutoff = now - keep_days * 86400
    deleted, _ = retention.in_batches(
        db, lambda tx: lrs_outbox.delete_forwarded_before(tx, cutoff, batch), batch, pause_s=pause_s, between=between
    )
    return deleted


def pruned_line(deleted: int, keep_days: int) -> str:
    """What `tpkit hub prune` says about the outbox."""
    if keep_days <= 0:
        return "[✓] Learning records forwarded to the LRS: all kept (hub_keep_forwarded_days = 0)."
    return (
        f"[✓] Deleted {deleted} learning record(s) forwarded to the LRS more than {keep_days} days ago; "
        "waiting and refused ones are kept."
    )


def status(db) -> dict[str, int]:
    """Statements queued, forwarded, waiting and parked (for `tpkit hub forward --status` and /metrics)."""
    rows = lrs_outbox.counts(db)
    return {
        "queued": rows["total"],
        "forwarded": rows["forwarded"],
        "waiting": rows["total"] - rows["forwarded"],
        "failing": rows["failing"] or 0,
    }
