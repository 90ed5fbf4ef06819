"""The outbox: signed reports waiting for the county hub, and the per-kit sequence counter.

Must not import content, edges, services or web. Reports are made (and signed) by services; this module
stores their bytes. Functions taking `conn` run inside the caller's `Database.transaction()`.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator

from appliance.storage.database import Database


@dataclasses.dataclass(frozen=True)
class Stored:
    """One report in the outbox, as signed."""

    sequence: int
    kit_id: str
    report_id: str
    kind: str
    made_at: str
    day: str
    payload: bytes
    signature: str
    attempts: int = 0
    parked_reason: str | None = None
    exported_at: str | None = None


COLUMNS = "sequence, kit_id, report_id, kind, made_at, day, payload, signature, attempts, parked_reason, exported_at"


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(*row)


def next_sequence(conn: sqlite3.Connection, kit_id: str) -> int:
    """One more than the last sequence of `kit_id`; call inside the transaction that stores the report."""
    return conn.execute(
        "INSERT INTO report_sequences (kit_id, last_sequence) VALUES (?, 1) "
        "ON CONFLICT (kit_id) DO UPDATE SET last_sequence = last_sequence + 1 RETURNING last_sequence",
        (kit_id,),
    ).fetchone()[0]


def add(conn: sqlite3.Connection, report: Stored) -> None:
    """Store a signed report (inside the transaction that allocated its sequence)."""
    conn.execute(
        "INSERT INTO outbox (sequence, kit_id, report_id, kind, made_at, day, payload, signature) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report.sequence,
            report.kit_id,
            report.report_id,
            report.kind,
            report.made_at,
            report.day,
            report.payload,
            report.signature,
        ),
    )


def delete(conn: sqlite3.Connection, sequences: list[int]) -> None:
    """Remove reports (delivered, or folded into a summary)."""
    conn.executemany("DELETE FROM outbox WHERE sequence = ?", [(s,) for s in sequences])


def heartbeats_not_of(conn: sqlite3.Connection, day: str) -> list[Stored]:
    """Heartbeats made on any other day than `day` (before or after: a Pi's clock may jump), oldest first."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE kind = 'heartbeat' AND day != ? ORDER BY sequence", (day,))
    return [_stored(r) for r in rows]


def heartbeats_of(conn: sqlite3.Connection, day: str) -> list[Stored]:
    """Heartbeats made on `day`, oldest first."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM outbox WHERE kind = 'heartbeat' AND day = ? ORDER BY sequence", (day,))
    return [_stored(r) for r in rows]


def open_summary(conn: sqlite3.Connection, day: str) -> Stored | None:
    """The undelivered, never exported daily summary of `day`, which a later fold may replace by a merged one."""
    row = conn.execute(
        f"SELECT {COLUMNS} FROM outbox WHERE kind = 'daily_summary' AND day = ? "
        "AND exported_at IS NULL AND parked_reason IS NULL ORDER BY sequence DESC LIMIT 1",
        (day,),
    ).fetchone()
    return _stored(row) if row else None


def summaries_beyond(conn: sqlite3.Connection, keep: int) -> list[int]:
    """Sequences of the daily summaries older than the newest `keep` ones."""
    rows = conn.execute(
        "SELECT sequence FROM outbox WHERE kind = 'daily_summary' ORDER BY sequence DESC LIMIT -1 OFFSET ?", (keep,)
    )
    return [r[0] for r in rows]


def record_attempt(conn: sqlite3.Connection, sequence: int, error: str) -> None:
    """Count a failed attempt to send a report and keep why."""
    conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE sequence = ?", (error, sequence))


def park(conn: sqlite3.Connection, sequence: int, reason: str) -> None:
    """Stop sending a report the hub refused as such (a 4xx): kept, shown by `--status`, never retried by itself."""
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, parked_reason = ?, last_error = ? WHERE sequence = ?",
        (reason, reason, sequence),
    )


def mark_exported(conn: sqlite3.Connection, sequences: list[int], when: str) -> None:
    """Note that these reports were written to a stick (they stay until the hub acknowledges them)."""
    conn.executemany("UPDATE outbox SET exported_at = ? WHERE sequence = ?", [(when, s) for s in sequences])


class Outbox:
    """Reads of the outbox, and the writes that need no other table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def next_deliverable(self, after: int) -> Stored | None:
        """The oldest report not parked with a sequence above `after` (one at a time: payloads stay on disk)."""
        row = (
            self.db.read()
            .execute(
                f"SELECT {COLUMNS} FROM outbox WHERE parked_reason IS NULL AND sequence > ? ORDER BY sequence LIMIT 1",
                (after,),
            )
            .fetchone()
        )
        return _stored(row) if row else None

    def all(self) -> Iterator[Stored]:
        """Every report, oldest first (parked ones too)."""
        last = 0
        while True:
            row = (
                self.db.read()
                .execute(f"SELECT {COLUMNS} FROM outbox WHERE sequence > ? ORDER BY sequence LIMIT 1", (last,))
                .fetchone()
            )
            if row is None:
                return
            stored = _stored(row)
            last = stored.sequence
            yield stored

    def depth(self) -> int:
        """How many reports wait (parked ones included)."""
        return self.db.read().execute("SELECT count(*) FROM outbox").fetchone()[0]

    def depth_by_kind(self) -> dict[str, int]:
        """Reports waiting, per kind."""
        rows = self.db.read().execute("SELECT kind, count(*) FROM outbox GROUP BY kind ORDER BY kind")
        return {kind: count for kind, count in rows}

    def parked(self) -> list[tuple[int, str, str]]:
        """(sequence, kind, reason) of every parked report, oldest first."""
        rows = self.db.read().execute(
            "SELECT sequence, kind, parked_reason FROM outbox WHERE parked_reason IS NOT NULL ORDER BY sequence"
        )
        return [tuple(r) for r in rows]

    def exported_count(self) -> int:
        return self.db.read().execute("SELECT count(*) FROM outbox WHERE exported_at IS NOT NULL").fetchone()[0]

    def unpark_all(self) -> int:
        """Make every parked report deliverable again (after an upgrade); how many were."""
        with self.db.transaction() as conn:
            return conn.execute("UPDATE outbox SET parked_reason = NULL WHERE parked_reason IS NOT NULL").rowcount

    def refused(self, sequence: int, reason: str) -> None:
        """Park a report the hub refused as such (see `park`)."""
        with self.db.transaction() as conn:
            park(conn, sequence, reason)

    def attempt_failed(self, sequence: int, error: str) -> None:
        """Count a failed attempt at a report (see `record_attempt`)."""
        with self.db.transaction() as conn:
            record_attempt(conn, sequence, error)

    def delivered(self, sequence: int) -> None:
        """Remove a report the hub stored (201) or already had (200)."""
        with self.db.transaction() as conn:
            delete(conn, [sequence])
