"""Retention: raw reports for `hub_keep_reports_days`, one row per kit and day (`kit_days`) for
`hub_keep_daily_days`; alerts and enrolment forever (docs/hub.md, "Retention"). And the daily series a kit's
page charts, from both.

`prune` works in small batches, each its own short transaction, so reports keep being accepted while it runs
(on SQLite a writer waits for at most one batch; on PostgreSQL rows of other kits are not touched at all).
Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

DAY_S = 86400
BATCH = 500
NUMBERS = ("cpu_temp_c", "disk_percent", "wifi_clients", "sync_bytes")
# Reports that are pruned after hub_keep_reports_days; `alert` reports are kept for good.
PRUNED_KINDS = ("heartbeat", "daily_summary", "records")


def day_of(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d")


def _higher(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _fold(days: dict[tuple[str, str], dict[str, Any]], kit_id: str, day: str, row: dict[str, Any],
          reports: int = 1) -> None:
    slot = days.setdefault((kit_id, day), {"reports": 0, **dict.fromkeys(NUMBERS)})
    slot["reports"] += reports
    for name in NUMBERS:
        slot[name] = _higher(slot[name], row[name])


def daily(db, kit_id: str, since: float) -> list[dict[str, Any]]:
    """The kit's days since `since` (Unix s), oldest first: {"day", "reports", and each number's daily highest},
    from the folded days (`kit_days`) and the raw heartbeats and daily summaries not folded yet."""
    days: dict[tuple[str, str], dict[str, Any]] = {}
    for row in db.query("SELECT day, reports, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM kit_days "
                        "WHERE kit_id = ? AND day >= ?", (kit_id, day_of(since))):
        _fold(days, kit_id, row["day"], row, row["reports"])
    for row in db.query("SELECT observed_at, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM reports "
                        "WHERE kit_id = ? AND kind IN ('heartbeat', 'daily_summary') AND observed_at >= ?",
                        (kit_id, since)):
        _fold(days, kit_id, day_of(row["observed_at"]), row)
    return [{"day": day, **values} for (_, day), values in sorted(days.items())]


@dataclasses.dataclass
class Pruned:
    """What one `prune` did."""

    reports: int = 0
    days_folded: int = 0  # distinct (kit, day) rows written
    days_deleted: int = 0
    batches: int = 0


def _merge_days(tx, days: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Add folded reports to `kit_days` (read, merge, write: the same SQL on SQLite and PostgreSQL)."""
    for (kit_id, day), values in sorted(days.items()):
        found = tx.execute("SELECT reports, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM kit_days "
                           "WHERE kit_id = ? AND day = ?", (kit_id, day))
        if found:
            old = found[0]
            merged = [old["reports"] + values["reports"], *(_higher(old[n], values[n]) for n in NUMBERS)]
            tx.execute("UPDATE kit_days SET reports = ?, cpu_temp_c = ?, disk_percent = ?, wifi_clients = ?, "
                       "sync_bytes = ? WHERE kit_id = ? AND day = ?", (*merged, kit_id, day))
        else:
            tx.execute("INSERT INTO kit_days (kit_id, day, reports, cpu_temp_c, disk_percent, wifi_clients, "
                       "sync_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (kit_id, day, values["reports"], *(values[n] for n in NUMBERS)))


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def prune(db, now: float, keep_reports_days: int, keep_daily_days: int, *, batch: int = BATCH,
          pause_s: float = 0.01, between: Callable[[], None] = lambda: None) -> Pruned:
    """Fold raw reports received more than `keep_reports_days` ago into `kit_days` and delete them, then delete
    days older than `keep_daily_days`; 0 keeps that kind for good. Batches of `batch` rows, one transaction each,
    `pause_s` apart (`between` is called there too: tests ingest during a prune)."""
    done, folded = Pruned(), set()
    kinds = ", ".join(f"'{k}'" for k in PRUNED_KINDS)
    if keep_reports_days > 0:
        cutoff = now - keep_reports_days * DAY_S
        old = f"received_at < ? AND kind IN ({kinds})"
        while True:
            with db.transaction() as tx:
                # the batch: every old report received up to the batch-th oldest one's time (a few more when
                # several share that time); ingest never writes an old receive time, so it cannot slip in
                nth = tx.execute(f"SELECT received_at FROM reports WHERE {old} ORDER BY received_at LIMIT 1 OFFSET ?",
                                 (cutoff, batch - 1))
                last = not nth
                params: tuple[Any, ...]
                where, params = old, (cutoff,)
                if not last:
                    where, params = old + " AND received_at <= ?", (cutoff, nth[0]["received_at"])
                rows = tx.execute(f"SELECT kit_id, kind, observed_at, {', '.join(NUMBERS)} FROM reports WHERE {where}",
                                  params)
                days: dict[tuple[str, str], dict[str, Any]] = {}
                for row in rows:
                    if row["kind"] != "records":
                        _fold(days, row["kit_id"], day_of(row["observed_at"]), row)
                for values in days.values():
                    values["wifi_clients"], values["sync_bytes"] = (_int(values["wifi_clients"]),
                                                                   _int(values["sync_bytes"]))
                _merge_days(tx, days)
                tx.execute(f"DELETE FROM reports WHERE {where}", params)
            done.reports += len(rows)
            folded |= set(days)
            done.days_folded = len(folded)
            done.batches += 1
            if last:
                break
            between()
            time.sleep(pause_s)  # other writers (ingest) take their turn between batches
    if keep_daily_days > 0:
        oldest = day_of(now - keep_daily_days * DAY_S)
        while True:
            with db.transaction() as tx:
                rows = tx.execute("SELECT kit_id, day FROM kit_days WHERE day < ? ORDER BY day LIMIT ?",
                                  (oldest, batch))
                for row in rows:
                    tx.execute("DELETE FROM kit_days WHERE kit_id = ? AND day = ?", (row["kit_id"], row["day"]))
            done.days_deleted += len(rows)
            done.batches += 1
            if len(rows) < batch:
                break
            between()
            time.sleep(pause_s)
    return done
