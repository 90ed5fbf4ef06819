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
    """At most `limit` statements not forwarded and due by `now`, oldest first: statement_id, statement (JSON
    text), attempts."""
    return db.query(
        "SELECT statement_id, statement, attempts FROM lrs_outbox WHERE forwarded_at IS NULL "
        "AND next_attempt_at <= ? ORDER BY queued_at, statement_id LIMIT ?",
        (now, limit),
    )


def _each(db, ids: list[str], sql: str, params: tuple) -> None:
    with db.transaction() as tx:
        for statement_id in ids:
            tx.execute(sql, (*params, statement_id))


def forwarded(db, ids: list[str], now: float, *, clear_error: bool = True) -> None:
    """Mark statements forwarded (a batch clears their last error; one sent alone after a conflict keeps it)."""
    if clear_error:
        _each(db, ids, "UPDATE lrs_outbox SET forwarded_at = ?, last_error = NULL WHERE statement_id = ?", (now,))
    else:
        _each(db, ids, "UPDATE lrs_outbox SET forwarded_at = ? WHERE statement_id = ?", (now,))


def retry_at(db, ids: list[str], when: float, error: str) -> None:
    """One more attempt counted for each statement, the next at `when`, with the error that stopped this one."""
    _each(
        db,
        ids,
        "UPDATE lrs_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE statement_id = ?",
        (when, error),
    )


def back_off(db, waits: list[tuple[str, float]], error: str) -> None:
    """One more attempt counted for each (statement_id, next attempt time), in one transaction."""
    with db.transaction() as tx:
        for statement_id, when in waits:
            tx.execute(
                "UPDATE lrs_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                "WHERE statement_id = ?",
                (when, error, statement_id),
            )


def counts(db) -> dict[str, Any]:
    """Statements in total, forwarded, and failing (not forwarded, with an error)."""
    return db.query(
        "SELECT count(*) AS total, count(forwarded_at) AS forwarded, "
        "sum(CASE WHEN forwarded_at IS NULL AND last_error IS NOT NULL THEN 1 ELSE 0 END) AS failing "
        "FROM lrs_outbox"
    )[0]
