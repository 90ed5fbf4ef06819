"""The `lrs_outbox` table: learning-record statements queued for the county's LRS, each once by its id, with
their attempts, next try and last error.

Must not import the hub's services.
"""

from __future__ import annotations

from typing import Any

from appliance import strict_json


def queue(tx, kit_id: str, statements: list[dict[str, Any]], now: float) -> int:
    """Queue statements (inside the ingest transaction), each once by its id; how many were new."""
    added = 0
    for statement in statements:
        tx.execute(
            "INSERT INTO lrs_outbox (statement_id, kit_id, statement, queued_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (statement_id) DO NOTHING",
            (
                statement["id"],
                kit_id,
                strict_json.dumps(statement, ensure_ascii=False, separators=(",", ":")),
                now,
                now,
            ),
        )
        added += tx.changed
    return added


def due(db, now: float, limit: int) -> list[dict[str, Any]]:
    """At most `limit` statements not forwarded and due by `now`, longest due first (then queued first): statement_id,
    statement (JSON text), attempts. Read in the order of the partial index lrs_outbox_waiting (migration 0008), so
    a batch reads `limit` rows however many wait."""
    return db.query(
        "SELECT statement_id, statement, attempts FROM lrs_outbox WHERE forwarded_at IS NULL "
        "AND next_attempt_at <= ? ORDER BY next_attempt_at, queued_at, statement_id LIMIT ?",
        (now, limit),
    )


def _in(ids: list[str]) -> str:
    return "statement_id IN (" + ", ".join("?" * len(ids)) + ")"


def forwarded(db, ids: list[str], now: float, *, clear_error: bool = True) -> None:
    """Mark statements forwarded in one statement (a batch clears their last error; one sent alone after a conflict
    keeps it)."""
    if not ids:
        return
    clear = ", last_error = NULL" if clear_error else ""
    with db.transaction() as tx:
        tx.execute(f"UPDATE lrs_outbox SET forwarded_at = ?{clear} WHERE {_in(ids)}", (now, *ids))


def retry_at(db, ids: list[str], when: float, error: str) -> None:
    """One more attempt counted for each statement, the next at `when`, with the error that stopped this one."""
    back_off(db, [(statement_id, when) for statement_id in ids], error)


def back_off(db, waits: list[tuple[str, float]], error: str) -> None:
    """One more attempt counted for each (statement_id, next attempt time), in one transaction: one UPDATE per
    distinct time (a batch's statements mostly share their attempts, so their wait)."""
    by_time: dict[float, list[str]] = {}
    for statement_id, when in waits:
        by_time.setdefault(when, []).append(statement_id)
    with db.transaction() as tx:
        for when, ids in by_time.items():
            tx.execute(
                f"UPDATE lrs_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE {_in(ids)}",
                (when, error, *ids),
            )


def delete_forwarded_before(tx, cutoff: float, batch: int) -> int:
    """Delete (inside `tx`) at most `batch` statements forwarded before `cutoff` (Unix s), oldest first; how many.
    Waiting and parked statements (forwarded_at NULL) are never touched."""
    rows = tx.execute(
        "SELECT statement_id FROM lrs_outbox WHERE forwarded_at IS NOT NULL AND forwarded_at < ? "
        "ORDER BY forwarded_at LIMIT ?",
        (cutoff, batch),
    )
    ids = [row["statement_id"] for row in rows]
    if ids:
        tx.execute(f"DELETE FROM lrs_outbox WHERE forwarded_at IS NOT NULL AND {_in(ids)}", ids)
    return len(ids)


def counts(db) -> dict[str, Any]:
    """Statements in total, forwarded, and failing (not forwarded, with an error)."""
    return db.query(
        "SELECT count(*) AS total, count(forwarded_at) AS forwarded, "
        "sum(CASE WHEN forwarded_at IS NULL AND last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing "
        "FROM lrs_outbox"
    )[0]
