"""The history of sync runs: when, how many bytes, how fast, and why each one stopped.

Must not import content, edges, services or web.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from appliance.storage.database import Database, inserted_id

INTERRUPTED_REASON = "sync.interrupted"


@dataclasses.dataclass(frozen=True)
class RunResult:
    """How a run ended, as recorded."""

    outcome: str  # ok, partial (some books not updated), failed, interrupted
    reason: str  # an error code (sync.*, channel.*) or "done"
    detail: str = ""
    bytes_received: int = 0
    duration_s: float = 0.0
    added: int = 0
    updated: int = 0
    removed: int = 0


class SyncRuns:
    """The `sync_runs` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, started_at: str) -> int:
        """Record a run as running; its id. Runs left 'running' by a killed process become 'interrupted'."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE sync_runs SET outcome = 'interrupted', reason = ?, "
                "detail = 'The sync process stopped before it finished (power cut or killed).' "
                "WHERE outcome = 'running'",
                (INTERRUPTED_REASON,),
            )
            return inserted_id(
                conn.execute("INSERT INTO sync_runs (started_at, outcome) VALUES (?, 'running')", (started_at,))
            )

    def finish(self, run_id: int, ended_at: str, result: RunResult) -> None:
        """Record how run `run_id` ended; throughput is bytes over duration."""
        throughput = result.bytes_received / result.duration_s if result.duration_s > 0 else 0.0
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE sync_runs SET ended_at = ?, outcome = ?, reason = ?, detail = ?, bytes_received = ?, "
                "duration_s = ?, throughput_bps = ?, added = ?, updated = ?, removed = ? WHERE id = ?",
                (
                    ended_at,
                    result.outcome,
                    result.reason,
                    result.detail,
                    result.bytes_received,
                    result.duration_s,
                    throughput,
                    result.added,
                    result.updated,
                    result.removed,
                    run_id,
                ),
            )

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last `limit` runs, newest first."""
        rows = self.db.read().execute("SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def bytes_since(self, since: str) -> int:
        """Bytes received by the runs started at or after `since` (an ISO UTC time as stored)."""
        row = (
            self.db.read()
            .execute("SELECT coalesce(sum(bytes_received), 0) FROM sync_runs WHERE started_at >= ?", (since,))
            .fetchone()
        )
        return row[0]

    def record_uplink(self, run_id: int, bytes_per_s: float) -> None:
        """Keep the uplink speed run `run_id` measured (at once: a run cut later still leaves it)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE sync_runs SET uplink_bytes_per_s = ? WHERE id = ?", (bytes_per_s, run_id))

    def last_uplink(self) -> tuple[float, str] | None:
        """The newest measured uplink speed (bytes per second) and when its run started, or None."""
        row = (
            self.db.read()
            .execute(
                "SELECT uplink_bytes_per_s, started_at FROM sync_runs WHERE uplink_bytes_per_s "
                "IS NOT NULL ORDER BY id DESC LIMIT 1"
            )
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def latest(self) -> tuple[dict[str, Any] | None, str | None]:
        """The newest run (None before the first) and when the newest run that ended ok ended (None if none did)."""
        read = self.db.read()
        newest = read.execute("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
        ok = read.execute("SELECT ended_at FROM sync_runs WHERE outcome = 'ok' ORDER BY id DESC LIMIT 1").fetchone()
        return (dict(newest) if newest else None), (ok[0] if ok else None)

    def last_ok_id(self) -> int | None:
        """The id of the newest run that ended ok, or None."""
        row = self.db.read().execute("SELECT max(id) FROM sync_runs WHERE outcome = 'ok'").fetchone()
        return row[0]
