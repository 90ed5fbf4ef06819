"""Retention: raw reports for `hub_keep_reports_days`, one row per kit and day (`kit_days`) for
`hub_keep_daily_days`; alerts and enrolment forever (docs/hub.md, "Retention"). And the daily series a kit's
page charts, from both.

`prune` works in small batches, each its own short transaction, so reports keep being accepted while it runs
(on SQLite a writer waits for at most one batch; on PostgreSQL rows of other kits are not touched at all). On
PostgreSQL, where `reports` is partitioned by the day a report was made (migration 0009), it first creates the
partitions of the days ahead and takes out each whole old day at once: detached (a moment's lock), folded into
kit_days by one statement, its alerts moved to reports_default, dropped. The batched delete then handles what is
left (reports_default: reports made on a day without a partition).
Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from appliance.hub.storage import retention as stored
from appliance.hub.storage.retention import NUMBERS, higher

DAY_S = 86400
BATCH = 500


def day_of(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d")


def _fold(
    days: dict[tuple[str, str], dict[str, Any]], kit_id: str, day: str, row: dict[str, Any], reports: int = 1
) -> None:
    slot = days.setdefault((kit_id, day), {"reports": 0, **dict.fromkeys(NUMBERS)})
    slot["reports"] += reports
    for name in NUMBERS:
        slot[name] = higher(slot[name], row[name])


def daily(db, kit_id: str, since: float) -> list[dict[str, Any]]:
    """The kit's days since `since` (Unix s), oldest first: {"day", "reports", and each number's daily highest},
    from the folded days (`kit_days`) and the raw heartbeats and daily summaries not folded yet."""
    days: dict[tuple[str, str], dict[str, Any]] = {}
    for row in stored.days_since(db, kit_id, day_of(since)):
        _fold(days, kit_id, row["day"], row, row["reports"])
    for row in stored.unfolded_since(db, kit_id, since):
        _fold(days, kit_id, day_of(row["observed_at"]), row)
    return [{"day": day, **values} for (_, day), values in sorted(days.items())]


@dataclasses.dataclass
class Pruned:
    """What one `prune` did."""

    reports: int = 0
    days_folded: int = 0  # distinct (kit, day) rows written
    days_deleted: int = 0
    batches: int = 0
    partitions: int = 0  # PostgreSQL's whole days dropped


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def prune(
    db,
    now: float,
    keep_reports_days: int,
    keep_daily_days: int,
    *,
    batch: int = BATCH,
    pause_s: float = 0.01,
    between: Callable[[], None] = lambda: None,
    partitions: bool | None = None,
) -> Pruned:
    """Fold raw reports received more than `keep_reports_days` ago into `kit_days` and delete them, then delete
    days older than `keep_daily_days`; 0 keeps that kind for good. Batches of `batch` rows, one transaction each,
    `pause_s` apart (`between` is called there too: tests ingest during a prune). `partitions` (PostgreSQL's
    default): first drop whole days made more than `keep_reports_days` ago; False: batches only (bench/hub_storage)."""
    done, folded = Pruned(), set()
    if db.backend == "postgresql" if partitions is None else partitions:
        stored.ensure_days(db, now, stored.AHEAD_DAYS)
        _drop_days(db, done, now - keep_reports_days * DAY_S if keep_reports_days > 0 else None, between)
    days_in_partitions = done.days_folded
    if keep_reports_days > 0:
        cutoff = now - keep_reports_days * DAY_S
        while True:
            with db.transaction() as tx:
                rows, last = stored.take_old_reports(tx, cutoff, batch)
                days: dict[tuple[str, str], dict[str, Any]] = {}
                for row in rows:
                    if row["kind"] != "records":
                        _fold(days, row["kit_id"], day_of(row["observed_at"]), row)
                for values in days.values():
                    values["wifi_clients"], values["sync_bytes"] = (
                        _int(values["wifi_clients"]),
                        _int(values["sync_bytes"]),
                    )
                stored.merge_days(tx, days)
            done.reports += len(rows)
            folded |= set(days)
            done.days_folded = days_in_partitions + len(folded)
            done.batches += 1
            if last:
                break
            between()
            time.sleep(pause_s)  # other writers (ingest) take their turn between batches
    if keep_daily_days > 0:
        oldest = day_of(now - keep_daily_days * DAY_S)
        deleted, batches = in_batches(
            db, lambda tx: stored.delete_days_before(tx, oldest, batch), batch, pause_s=pause_s, between=between
        )
        done.days_deleted += deleted
        done.batches += batches
    return done


def in_batches(
    db,
    step: Callable[[Any], int],
    batch: int,
    *,
    pause_s: float = 0.01,
    between: Callable[[], None] = lambda: None,
) -> tuple[int, int]:
    """Run `step(tx)` (it deletes at most `batch` rows and says how many) in a transaction of its own, `pause_s`
    apart so other writers (ingest) take their turn, until it deletes fewer than `batch`; (rows, batches).
    `between` is called between two batches (tests ingest there)."""
    rows = batches = 0
    while True:
        with db.transaction() as tx:
            count = step(tx)
        rows, batches = rows + count, batches + 1
        if count < batch:
            return rows, batches
        between()
        time.sleep(pause_s)


def _drop_days(db, done: Pruned, cutoff: float | None, between: Callable[[], None]) -> None:
    """PostgreSQL: take out every day partition that ended by `cutoff` (None: none), and finish any a stopped prune
    detached (counted into `done`). Detaching is its own transaction, so ingest waits only for that: from then on
    a report made that day goes to reports_default, and the fold reads a table nobody writes."""
    for name, attached in sorted(stored.day_partitions(db).items()):
        if attached and (cutoff is None or stored.partition_start(name) + DAY_S > cutoff):
            continue
        if attached:
            with db.transaction() as tx:
                stored.detach_partition(tx, name)
        with db.transaction() as tx:
            pruned, rows = stored.fold_and_drop(tx, name)
        done.reports += pruned
        done.partitions += 1
        done.days_folded += rows
        between()
