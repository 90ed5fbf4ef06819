"""Retention's tables: raw reports taken out in batches, and `kit_days` (one row per kit and day, each number's
daily highest) that they are folded into; and PostgreSQL's day partitions of `reports` (migration 0009): created
ahead, taken out a whole day at a time.

Must not import the hub's services. The batched SQL is the same on SQLite and PostgreSQL; the partitions' is
PostgreSQL's own (its functions say so, and `ensure_days` does nothing on SQLite).
"""

from __future__ import annotations

import datetime as dt
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


# PostgreSQL only: `reports` is partitioned by made_unix (migration 0009), one partition per UTC day named
# reports_pYYYYMMDD, and reports_default for a report made on a day without one. Their names and bounds are
# written into the DDL (it takes no parameters): numbers and names made here, never text from a kit.
DAY_S = 86400
AHEAD_DAYS = 7  # days ahead that have their partition (at migrate and prune): a week without a prune still fits
PARTITION = "reports_p{:%Y%m%d}"
# Rows of a dropped day that are kept: `alert` reports (every kind retention does not prune) go to reports_default.
PRUNED = "kind IN ({})".format(", ".join(f"'{k}'" for k in PRUNED_KINDS))
KEPT = f"NOT ({PRUNED})"
FOLDED = "kind IN ('heartbeat', 'daily_summary')"
DAY_OF = "to_char(to_timestamp(observed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
# One statement folds a whole day of reports into kit_days: each (kit, UTC day of observed_at) its count and each
# number's highest, added to a row already there (GREATEST skips NULL as `higher` does).
FOLD_DAY = (
    f"INSERT INTO kit_days (kit_id, day, reports, {', '.join(NUMBERS)}) "
    f"SELECT kit_id, {DAY_OF}, count(*), {', '.join(f'max({n})' for n in NUMBERS)} FROM {{table}} "
    f"WHERE {FOLDED} GROUP BY kit_id, {DAY_OF} "
    "ON CONFLICT (kit_id, day) DO UPDATE SET reports = kit_days.reports + excluded.reports, "
    + ", ".join(f"{n} = GREATEST(kit_days.{n}, excluded.{n})" for n in NUMBERS)
)


def partition_name(start: float) -> str:
    """The partition of the UTC day that begins at `start` (Unix s)."""
    return PARTITION.format(dt.datetime.fromtimestamp(start, dt.timezone.utc))


def day_partitions(db) -> dict[str, bool]:
    """The day partitions there are: name -> attached (False: detached by a prune that stopped before dropping it)."""
    rows = db.query(
        "SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS attached "
        "FROM pg_class c WHERE c.relkind = 'r' AND c.relname ~ '^reports_p[0-9]{8}$' AND pg_table_is_visible(c.oid)"
    )
    return {row["name"]: bool(row["attached"]) for row in rows}


def create_partition(tx, start: float) -> int:
    """Create (inside `tx`) the partition of the day beginning at `start` unless it exists; the reports moved into it
    out of reports_default (made that day, stored before the day had its partition). 0 when it existed already.
    Locks `reports` against writers first (pages still read), so two hub processes cannot create it at once and no
    report lands in reports_default in between."""
    name, end = partition_name(start), start + DAY_S
    tx.execute("LOCK TABLE reports IN SHARE ROW EXCLUSIVE MODE")
    if tx.execute("SELECT to_regclass(?) IS NOT NULL AS found", (name,))[0]["found"]:
        return 0
    # PostgreSQL refuses a partition while reports_default holds rows of its range: they move with it
    within = f"made_unix >= {start!r} AND made_unix < {end!r}"
    tx.execute(f"CREATE TEMP TABLE reports_moving ON COMMIT DROP AS SELECT * FROM reports_default WHERE {within}")
    tx.execute(f"DELETE FROM reports_default WHERE {within}")
    moved = tx.changed
    tx.execute(f"CREATE TABLE {name} PARTITION OF reports FOR VALUES FROM ({start!r}) TO ({end!r})")
    tx.execute("INSERT INTO reports SELECT * FROM reports_moving")
    return moved


def detach_partition(tx, name: str) -> None:
    """Take (inside `tx`) a day out of `reports`: a report made that day and stored from now on goes to
    reports_default. Short: no rows are read."""
    tx.execute(f"ALTER TABLE reports DETACH PARTITION {name}")


def fold_and_drop(tx, name: str) -> tuple[int, int]:
    """Fold (inside `tx`) a detached day into kit_days, move its kept reports (alerts) into reports_default and drop
    it; (pruned reports, kit-day rows written)."""
    pruned = tx.execute(f"SELECT count(*) AS n FROM {name} WHERE {PRUNED}")[0]["n"]
    tx.execute(FOLD_DAY.format(table=name))
    folded = tx.changed
    tx.execute(f"INSERT INTO reports SELECT * FROM {name} WHERE {KEPT} ON CONFLICT DO NOTHING")
    tx.execute(f"DROP TABLE {name}")
    return int(pruned), folded


def partition_start(name: str) -> float:
    """The Unix time a day partition (reports_pYYYYMMDD) begins."""
    return dt.datetime.strptime(name[-8:], "%Y%m%d").replace(tzinfo=dt.timezone.utc).timestamp()


def ensure_days(db, now: float, ahead: int) -> int:
    """PostgreSQL: create the partitions of today and the `ahead` days after it that are missing, one transaction
    each; the reports moved out of reports_default. Nothing on SQLite."""
    if db.backend != "postgresql":
        return 0
    have, today, moved = day_partitions(db), now // DAY_S * DAY_S, 0
    for start in (today + n * DAY_S for n in range(ahead + 1)):
        if partition_name(start) not in have:
            with db.transaction() as tx:
                moved += create_partition(tx, start)
    return moved
