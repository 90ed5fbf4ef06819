"""Putting signed reports into the outbox: heartbeats and alerts from a health snapshot, learning-record
batches, and the folding that keeps weeks offline bounded (docs/health.md, "Reporting").

Must not import web or cli. Each report gets its sequence, is signed and stored in one transaction, so a
crash leaves either the whole report or nothing, and never reuses a sequence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from appliance import strict_json
from appliance.edges import minisign
from appliance.errors import ReportError
from appliance.protocol import report_file
from appliance.services.reporting import daily_summary
from appliance.storage import outbox, uplink_state

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# A heartbeat every 15 minutes (the report timer) is 96 a day; more than that today are folded early.
MAX_HEARTBEATS_TODAY = 96
# One summary per day for a year offline (~1 KB each); older ones are dropped, oldest first.
MAX_SUMMARIES = 366
# Records are batched by their JSON size before compression: xAPI JSON compresses about tenfold, so a
# 1 MiB batch is ~100 KiB on the wire, well under report_file's 256 KiB; a batch that still does not fit
# is halved.
RECORDS_BATCH_RAW_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Signer:
    """What every report made in one go shares: the kit, its key, the clock and the applied configuration."""

    kit_id: str
    secret: minisign.SecretKey
    now: dt.datetime
    clock_synchronised: bool
    applied_config_version: int | None

    @classmethod
    def for_kit(
        cls,
        kit: Kit,
        secret: minisign.SecretKey,
        now: dt.datetime | None = None,
        clock_synchronised: bool | None = None,
    ) -> Signer:
        """A signer for `kit`: the clock state read from the machine unless given."""
        if clock_synchronised is None:
            clock_synchronised = kit.readings.commands()["clock_synchronized"] is True
        # the version in force (hub_config.apply checked it), not merely the one received
        return cls(
            kit.settings.kit_id,
            secret,
            now or dt.datetime.now(dt.timezone.utc),
            clock_synchronised,
            kit.uplink.read().applied_config_version,
        )

    @property
    def today(self) -> str:
        return self.now.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")

    def store(self, conn: sqlite3.Connection, kind: str, body: dict[str, Any], day: str | None = None) -> int:
        """Sign `body` as the next report of this kit and store it (inside `conn`'s transaction); its sequence."""
        sequence = outbox.next_sequence(conn, self.kit_id)
        report = report_file.Report.new(
            self.kit_id,
            sequence,
            kind,
            body,
            clock_synchronised=self.clock_synchronised,
            now=self.now,
            applied_config_version=self.applied_config_version,
        )
        payload = report_file.encode(report)
        made_at = report.as_dict()["made_at"]
        outbox.add(
            conn,
            outbox.Stored(
                sequence,
                self.kit_id,
                report.report_id,
                kind,
                made_at,
                day or made_at[:10],
                payload,
                report_file.sign(self.secret, report, payload),
            ),
        )
        return sequence


def new_problems(snapshot: dict[str, Any], last: dict[str, str]) -> list[dict[str, str]]:
    """Problems of `snapshot` that the previous heartbeat did not have, or had less severe."""
    rank = daily_summary.SEVERITY
    return [
        p
        for p in snapshot["problems"]
        if p["code"] not in last or rank.get(p["severity"], 0) > rank.get(last[p["code"]], 0)
    ]


def queue_snapshot(kit: Kit, signer: Signer, snapshot: dict[str, Any]) -> list[int]:
    """Queue a heartbeat of `snapshot` and an alert per new problem; their sequences (alerts first)."""
    with kit.db.transaction() as conn:
        last = uplink_state.last_problems(conn)
        sequences = [
            signer.store(
                conn,
                "alert",
                {"code": p["code"], "severity": p["severity"], "message": p["message"], "snapshot": snapshot},
            )
            for p in new_problems(snapshot, last)
        ]
        sequences.append(signer.store(conn, "heartbeat", snapshot))
        uplink_state.set_last_problems(conn, {p["code"]: p["severity"] for p in snapshot["problems"]})
    return sequences


def _batches(statements: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for statement in statements:
        length = len(strict_json.dumps(statement, ensure_ascii=False, separators=(",", ":")).encode())
        if current and size + length > RECORDS_BATCH_RAW_BYTES:
            batches.append(current)
            current, size = [], 0
        current.append(statement)
        size += length + 1
    return batches + ([current] if current else [])


def _store_records(conn: sqlite3.Connection, signer: Signer, batch: list[dict[str, Any]]) -> list[int]:
    """Store one batch, halving it while its compressed report is over the limit."""
    conn.execute("SAVEPOINT records_batch")
    try:
        sequence = signer.store(conn, "records", {"statements": batch})
    except ReportError as exc:
        conn.execute("ROLLBACK TO records_batch")  # gives back the sequence it took
        conn.execute("RELEASE records_batch")
        if exc.code != "report.too_large" or len(batch) == 1:
            raise
        half = len(batch) // 2
        return _store_records(conn, signer, batch[:half]) + _store_records(conn, signer, batch[half:])
    conn.execute("RELEASE records_batch")
    return [sequence]


def queue_records(
    kit: Kit,
    statements: list[dict[str, Any]],
    *,
    secret: minisign.SecretKey | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """Queue xAPI statements as `records` reports, split below the size limit, all or none; their sequences.

    The learning space (issue 4) calls this; a statement too large on its own is a ReportError (report.too_large).
    """
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise ReportError(
            "Learning records must be a list of xAPI statements (JSON objects).",
            code="report.malformed",
            fix="Pass each statement as a dict.",
        )
    if not statements:
        return []
    if secret is None:
        from appliance.services.reporting import kit_key

        secret = kit_key.ensure(kit.paths)
    signer = Signer.for_kit(kit, secret, now)
    with kit.db.transaction() as conn:
        return [s for batch in _batches(statements) for s in _store_records(conn, signer, batch)]


def fold(kit: Kit, signer: Signer) -> int:
    """Fold heartbeats of other days (and today's beyond MAX_HEARTBEATS_TODAY) into one daily summary per day,
    merging an unsent summary of the same day; drop summaries beyond MAX_SUMMARIES. How many heartbeats folded."""
    today, folded = signer.today, 0
    with kit.db.transaction() as conn:
        groups: dict[str, list[outbox.Stored]] = defaultdict(list)
        for beat in outbox.heartbeats_not_of(conn, today):
            groups[beat.day].append(beat)
        todays = outbox.heartbeats_of(conn, today)
        groups[today].extend(todays[: max(0, len(todays) - MAX_HEARTBEATS_TODAY)])
        for day, beats in sorted((d, b) for d, b in groups.items() if b):
            parts = [daily_summary.of_heartbeat(day, b.made_at, _body(b)) for b in beats]
            previous = outbox.open_summary(conn, day)
            if previous is not None:
                parts.append(_body(previous))
                outbox.delete(conn, [previous.sequence])
            signer.store(conn, "daily_summary", daily_summary.merge(day, parts), day=day)
            outbox.delete(conn, [b.sequence for b in beats])
            folded += len(beats)
        outbox.delete(conn, outbox.summaries_beyond(conn, MAX_SUMMARIES))
    return folded


def _body(stored: outbox.Stored) -> dict[str, Any]:
    return report_file.decode(stored.payload, f"outbox sequence {stored.sequence}").body
