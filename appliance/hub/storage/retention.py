"""Retention's tables: raw reports taken out in batches, and `kit_days` (one row per kit and day, each number's
daily highest) that they are folded into.

Must not import the hub's services. The same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

NUMBERS = ("cpu_temp_c", "disk_percent", "wifi_clients", "sync_bytes")
# Reports that are pruned after hub_keep_reports_days; `alert` reports are kept for good.
PRUNED_KINDS = ("heartbeat", "daily_summary", "records")


def higher(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def days_since(db, kit_id: str, day: str) -> list[dict[str, Any]]:
    """The kit's folded days from `day` (YYYY-MM-DD) on: day, reports and each number."""
    return db.query(
        "SELECT day, reports, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM kit_days "
        "WHERE kit_id = ? AND day >= ?",
        (kit_id, day),
    )


def unfolded_since(db, kit_id: str, since: float) -> list[dict[str, Any]]:
    """The kit's heartbeats and daily summaries observed since `since` (Unix s) and not folded yet."""
    return db.query(
        "SELECT observed_at, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM reports "
        "WHERE kit_id = ? AND kind IN ('heartbeat', 'daily_summary') AND observed_at >= ?",
        (kit_id, since),
    )


def take_old_reports(tx, cutoff: float, batch: int) -> tuple[list[dict[str, Any]], bool]:
    """Delete (inside `tx`) a batch of the prunable reports received before `cutoff` and return their kit_id, kind,
    observed_at and numbers, and whether this was the last batch."""
    kinds = ", ".join(f"'{k}'" for k in PRUNED_KINDS)
    old = f"received_at < ? AND kind IN ({kinds})"
    # the batch: every old report received up to the batch-th oldest one's time (a few more when several share
    # that time); ingest never writes an old receive time, so it cannot slip in
    nth = tx.execute(
        f"SELECT received_at FROM reports WHERE {old} ORDER BY received_at LIMIT 1 OFFSET ?", (cutoff, batch - 1)
    )
    last = not nth
    where, params = old, (cutoff,)  # type: tuple[str, tuple[Any, ...]]
    if not last:
        where, params = old + " AND received_at <= ?", (cutoff, nth[0]["received_at"])
    rows = tx.execute(f"SELECT kit_id, kind, observed_at, {', '.join(NUMBERS)} FROM reports WHERE {where}", params)
    tx.execute(f"DELETE FROM reports WHERE {where}", params)
    return rows, last


def merge_days(tx, days: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Add folded reports ((kit_id, day) -> reports and numbers) to `kit_days` (read, merge, write)."""
    for (kit_id, day), values in sorted(days.items()):
        found = tx.execute(
            "SELECT reports, cpu_temp_c, disk_percent, wifi_clients, sync_bytes FROM kit_days "
            "WHERE kit_id = ? AND day = ?",
            (kit_id, day),
        )
        if found:
            old = found[0]
            merged = [old["reports"] + values["reports"], *(higher(old[n], values[n]) for n in NUMBERS)]
            tx.execute(
                "UPDATE kit_days SET reports = ?, cpu_temp_c = ?, disk_percent = ?, wifi_clients = ?, "
                "sync_bytes = ? WHERE kit_id = ? AND day = ?",
                (*merged, kit_id, day),
            )
        else:
            tx.execute(
                "INSERT INTO kit_days (kit_id, day, reports, cpu_temp_c, disk_percent, wifi_clients, "
                "sync_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kit_id, day, values["reports"], *(values[n] for n in NUMBERS)),
            )


def delete_days_before(tx, oldest: str, batch: int) -> int:
    """Delete (inside `tx`) at most `batch` kit-day rows older than `oldest` (YYYY-MM-DD); how many."""
    rows = tx.execute("SELECT kit_id, day FROM kit_days WHERE day < ? ORDER BY day LIMIT ?", (oldest, batch))
    for row in rows:
        tx.execute("DELETE FROM kit_days WHERE kit_id = ? AND day = ?", (row["kit_id"], row["day"]))
    return len(rows)
