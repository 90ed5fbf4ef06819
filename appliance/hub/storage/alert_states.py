"""The `alert_states` table (migration 0007): one row per episode of one alert code on one kit, with when it opened,
its worst severity, when it closed, who acknowledged it, and what each notification channel sent of it.

Functions take the database (`db`) and open their own short transactions. Must not import the hub's services.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

CHANNELS = ("webhook", "mail")
SENDING_LOCK = 7_461_747  # PostgreSQL advisory lock id: one `tpkit hub notify` sends at a time (migrations: …746)
BATCH = 500  # rows changed per transaction: a sweep of a province never holds a long write lock


def open_rows(db) -> list[dict[str, Any]]:
    """Every open episode: kit_id, code, severity, opened_at, acknowledged_at, acknowledged_by."""
    return db.query(
        "SELECT kit_id, code, severity, opened_at, acknowledged_at, acknowledged_by FROM alert_states "
        "WHERE closed_at IS NULL"
    )


def open_for(db, kit_ids: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(kit_id, code) -> its open episode, for the kits of one page (asked 500 at a time)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(kit_ids), BATCH):
        chunk = kit_ids[start : start + BATCH]
        rows = db.query(
            "SELECT kit_id, code, severity, opened_at, acknowledged_at, acknowledged_by FROM alert_states "
            f"WHERE closed_at IS NULL AND kit_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update({(row["kit_id"], row["code"]): row for row in rows})
    return found


def _batched(db, sql: str, rows: list[tuple]) -> int:
    """Run `sql` once for each parameter tuple, BATCH to a transaction; how many rows changed."""
    changed = 0
    for start in range(0, len(rows), BATCH):
        with db.transaction() as tx:
            for params in rows[start : start + BATCH]:
                tx.execute(sql, params)
                changed += tx.changed
    return changed


def _in_one(db, sql: str, row: str, rows: list[tuple], *head: Any) -> int:
    """Run `sql` once for each BATCH of `rows`, its `{rows}` replaced by that many `row`s joined by commas (a VALUES
    list: one round trip for BATCH rows) and its `{ids}` (if any) by the rows' first values (kit ids: SQLite finds
    the rows of a multi-row `(kit_id, code) IN (VALUES …)` by scanning, of `kit_id IN (…)` through an index); `head`
    are its parameters before those. How many rows changed."""
    changed = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        ids = [r[0] for r in chunk] if "{ids}" in sql else []
        statement = sql.format(rows=", ".join([row] * len(chunk)), ids=", ".join("?" * len(ids)))
        with db.transaction() as tx:
            tx.execute(statement, (*head, *ids, *(v for r in chunk for v in r)))
            changed += tx.changed
    return changed


def open_episodes(db, found: list[tuple[str, str, str]], now: float) -> int:
    """Open an episode for each (kit_id, code, severity) not open yet; one open already (another sweep at the same
    time) is left as it is. How many were opened."""
    return _in_one(
        db,
        "INSERT INTO alert_states (kit_id, code, opened_at, severity) VALUES {rows} ON CONFLICT DO NOTHING",
        "(?, ?, ?, ?)",
        [(kit_id, code, now, severity) for kit_id, code, severity in found],
    )


def raise_severity(db, found: list[tuple[str, str, str]], now: float) -> int:
    """Set the severity of open episodes (kit_id, code, severity) that got worse, and when (`raised_at`): each
    channel tells it again, acknowledged or not."""
    return _batched(
        db,
        "UPDATE alert_states SET severity = ?, raised_at = ? WHERE kit_id = ? AND code = ? AND closed_at IS NULL",
        [(severity, now, kit_id, code) for kit_id, code, severity in found],
    )


def close(db, gone: list[tuple[str, str]], now: float) -> int:
    """Close the open episodes (kit_id, code) whose alert is gone."""
    return _in_one(
        db,
        "UPDATE alert_states SET closed_at = ? WHERE closed_at IS NULL AND kit_id IN ({ids}) "
        "AND (kit_id, code) IN (VALUES {rows})",
        "(?, ?)",
        gone,
        now,
    )


def acknowledge(db, kit_id: str, code: str, technician: str, now: float) -> bool:
    """Mark the open episode acknowledged by `technician`; False when there is none (closed meanwhile) or it was
    acknowledged already (the first technician is kept)."""
    with db.transaction() as tx:
        tx.execute(
            "UPDATE alert_states SET acknowledged_at = ?, acknowledged_by = ? WHERE kit_id = ? AND code = ? "
            "AND closed_at IS NULL AND acknowledged_at IS NULL",
            (now, technician, kit_id, code),
        )
        return tx.changed == 1


EPISODE = (
    "SELECT a.kit_id, a.code, a.severity, a.opened_at, a.closed_at, k.school, k.district FROM alert_states a "
    "JOIN kits k ON k.kit_id = a.kit_id "
)


def openings_due(db, channel: str, remind_before: float | None = None) -> list[dict[str, Any]]:
    """Open episodes `channel` has to tell of, the most urgent first, each with `told` (when the channel last sent it,
    None: never) and `raised_at`: never sent and not acknowledged; worse since it was sent or acknowledged; and with
    `remind_before`, not acknowledged (or only while it was milder) and last sent before that time (a reminder)."""
    column = f"a.{_column(channel, 'opened')}"
    unacknowledged = "(a.acknowledged_at IS NULL OR a.acknowledged_at < a.raised_at)"  # or acknowledged when milder
    remind = f" OR ({unacknowledged} AND {column} < ?)" if remind_before is not None else ""
    return db.query(
        EPISODE.replace("SELECT ", f"SELECT {column} AS told, a.raised_at, ", 1)
        + f"WHERE a.closed_at IS NULL AND (({column} IS NULL AND a.acknowledged_at IS NULL) "
        f"OR (a.raised_at > coalesce({column}, 0) AND a.raised_at > coalesce(a.acknowledged_at, 0)){remind}) "
        "ORDER BY CASE WHEN a.severity = 'critical' THEN 0 ELSE 1 END, k.district, k.school, a.kit_id, a.code",
        () if remind_before is None else (remind_before,),
    )


def resolutions_due(db, channel: str) -> list[dict[str, Any]]:
    """Closed episodes whose opening `channel` sent and whose resolution it has not."""
    return db.query(
        EPISODE + f"WHERE a.{_column(channel, 'opened')} IS NOT NULL AND a.{_column(channel, 'closed')} IS NULL "
        "AND a.closed_at IS NOT NULL ORDER BY k.district, k.school, a.kit_id, a.code"
    )


def _column(channel: str, event: str) -> str:
    if channel not in CHANNELS or event not in ("opened", "closed"):
        raise ValueError(f"no alert_states column for {channel} {event}")
    return f"{channel}_{event}_at"


def mark_sent(db, channel: str, openings: list[dict[str, Any]], resolutions: list[dict[str, Any]], now: float) -> None:
    """Mark what `channel` sent (episode rows as openings_due and resolutions_due return them)."""
    for rows, event, first in ((openings, "opened", "notified_at"), (resolutions, "closed", "closed_notified_at")):
        _in_one(
            db,
            f"UPDATE alert_states SET {_column(channel, event)} = ?, {first} = coalesce({first}, ?) "
            "WHERE kit_id IN ({ids}) AND (kit_id, code, opened_at) IN (VALUES {rows})",
            "(?, ?, CAST(? AS DOUBLE PRECISION))",
            [(row["kit_id"], row["code"], row["opened_at"]) for row in rows],
            now,
            now,
        )


@contextlib.contextmanager
def sending(db) -> Iterator[bool]:
    """Whether this process may send now: on PostgreSQL, True when it took the senders' advisory lock, held until the
    block ends (in a transaction left open meanwhile, so a `tpkit hub notify` on another hub machine sends nothing
    twice); on SQLite always True (one machine, and its timer never overlaps two runs)."""
    if db.backend != "postgresql":
        yield True
        return
    with db.transaction() as tx:
        yield bool(tx.execute("SELECT pg_try_advisory_xact_lock(?) AS got", (SENDING_LOCK,))[0]["got"])
