"""PostgreSQL's `reports` partitioned by the day a report was made (migration 0009), on a real PostgreSQL: a fresh
hub has today's and the next days' partitions; a report id is stored once however late and however often it is
resent (both INSERT paths); a report made on a day without a partition lands in reports_default and moves into its
day when that is created; `tpkit hub prune` drops whole old days, folding them into exactly the kit_days the batched
delete writes, and keeps alerts; a prune stopped between detaching and dropping a day is finished by the next; the
migration converts an existing table. SQLite: the same migration number adds the column only."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from appliance.hub import ingest, retention
from appliance.hub.settings import load_hub_settings
from appliance.hub.storage import retention as stored
from appliance.hub.storage.backend import open_database
from appliance.hub.storage.database import migrate, migrations
from tests.hub.conftest import enrol_kit, health_body, postgres_database, signed, stored_reports

DAY = 86400


@contextlib.contextmanager
def _postgres(tmp_path, migrated: bool = True):
    with postgres_database() as url:
        db = open_database(
            load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path), "hub_database_url": url})
        )
        try:
            if migrated:
                migrate(db)
            yield db
        finally:
            db.close()


@pytest.fixture
def pg(tmp_path):
    with _postgres(tmp_path) as db:
        yield db


def _where(db, kit_id: str) -> list[str]:
    """The partition each of the kit's reports is in, by made_unix."""
    rows = db.query(
        "SELECT tableoid::regclass::text AS part FROM reports WHERE kit_id = ? ORDER BY made_unix", (kit_id,)
    )
    return [row["part"] for row in rows]


def _today() -> float:
    return time.time() // DAY * DAY


def test_a_fresh_hub_has_todays_and_the_next_days_partitions(pg):
    today = _today()
    expected = {stored.partition_name(today + n * DAY) for n in range(stored.AHEAD_DAYS + 1)}
    assert expected <= set(stored.day_partitions(pg)) and all(stored.day_partitions(pg).values())
    secret = enrol_kit(pg, "kit-1", today - DAY)
    report, _, _ = signed(secret, "kit-1", 1, made_at=today + 3600)
    assert ingest.store(pg, report, today + 3600)[0]
    assert _where(pg, "kit-1") == [stored.partition_name(today)]


@pytest.mark.parametrize("synchronised", [True, False])
def test_a_report_id_is_stored_once_however_late_it_is_resent(pg, synchronised):
    # Unsynchronised, observed_at is the receive time and differs each time: the key (made_unix) does not.
    now = _today() + 6 * 3600
    secret = enrol_kit(pg, "kit-1", now - DAY)
    report, _, _ = signed(secret, "kit-1", 1, made_at=now, synchronised=synchronised)
    assert ingest.store(pg, report, now)[0] is True
    assert ingest.store(pg, report, now + 3 * DAY)[0] is False  # one statement
    [outcome] = ingest.store_group(pg, [(report, secret.public.line, now + 5 * DAY)])  # a group's transaction
    assert not isinstance(outcome, Exception) and outcome[0] is False
    assert stored_reports(pg, "kit-1") == 1
    assert pg.query("SELECT reports_total FROM kits WHERE kit_id = 'kit-1'")[0]["reports_total"] == 1


def test_a_report_made_on_a_day_without_a_partition_waits_in_default_and_moves_into_its_day(pg):
    today = _today()
    secret = enrol_kit(pg, "kit-1", today - DAY)
    ahead = today + (stored.AHEAD_DAYS + 3) * DAY + 600  # a kit clock 10 days ahead that does not claim to be right
    absurd = 946_684_800.0  # 2000-01-01: a clock that never was set
    sent = [signed(secret, "kit-1", n, made_at=made, synchronised=False)[0] for n, made in ((1, ahead), (2, absurd))]
    for report in sent:
        assert ingest.store(pg, report, today + 60)[0]
    assert _where(pg, "kit-1") == ["reports_default", "reports_default"]
    assert stored.ensure_days(pg, today + 10 * DAY, stored.AHEAD_DAYS) == 1  # the day of `ahead` gets its partition
    assert _where(pg, "kit-1") == ["reports_default", stored.partition_name(ahead - 600)]
    assert ingest.store(pg, sent[0], today + 120)[0] is False  # still known in its new place
    # both were received today: after the window the batched delete takes them, wherever they are
    done = retention.prune(pg, today + 20 * DAY, 14, 0)
    assert done.reports == 2 and done.partitions == 6 and _where(pg, "kit-1") == []


def _old_days(db, today: float) -> None:
    """kit-1 and kit-2: heartbeats (one unsynchronised) on 3 days 30 days ago, an alert and a records batch then, and
    one heartbeat today; the old days' partitions are created as the hub would have then."""
    stored.ensure_days(db, today - 30 * DAY, 2)
    for k, kit_id in enumerate(("kit-1", "kit-2")):
        secret = enrol_kit(db, kit_id, today - 60 * DAY)
        sequence = 0
        for day in range(3):
            for n in range(6):
                sequence += 1
                when = today - (30 - day) * DAY + 3600 + n * 3 * 3600
                body = health_body(kit_id, temp_c=40.0 + day * 5 + n + k, clients=n, disk_percent=30.0 + day)
                synchronised = n != 5
                report, _, _ = signed(secret, kit_id, sequence, body, made_at=when, synchronised=synchronised)
                ingest.store(db, report, when + 30)
        for kind, body in (
            ("alert", {"code": "hot", "severity": "critical", "message": "Hot.", "snapshot": {}}),
            ("records", {"statements": []}),
        ):
            sequence += 1
            report, _, _ = signed(secret, kit_id, sequence, body, kind=kind, made_at=today - 29 * DAY)
            ingest.store(db, report, today - 29 * DAY)
        sequence += 1
        report, _, _ = signed(secret, kit_id, sequence, health_body(kit_id), made_at=today + 60)
        ingest.store(db, report, today + 60)


def _days(db) -> list[dict]:
    return db.query("SELECT * FROM kit_days ORDER BY kit_id, day")


def test_prune_drops_old_days_into_the_same_kit_days_as_the_batched_delete_and_keeps_alerts(tmp_path):
    today, now = _today(), _today() + 3600
    with _postgres(tmp_path / "a") as by_day, _postgres(tmp_path / "b") as batched:
        for db in (by_day, batched):
            _old_days(db, today)
        old = {stored.partition_name(today - (30 - d) * DAY) for d in range(3)}
        assert old <= set(stored.day_partitions(by_day))
        dropped = retention.prune(by_day, now, 14, 0)
        rows = retention.prune(batched, now, 14, 0, partitions=False)
        assert dropped.partitions == 3 and rows.partitions == 0
        assert dropped.reports == rows.reports == 2 * (18 + 1)  # heartbeats and records, not alerts
        assert not old & set(stored.day_partitions(by_day))
        assert _days(by_day) == _days(batched) and len(_days(by_day)) == 6
        first = [d for d in _days(by_day) if d["kit_id"] == "kit-2"][0]
        assert (first["reports"], first["cpu_temp_c"], first["wifi_clients"], first["disk_percent"]) == (
            6,
            46.0,
            5,
            30.0,
        )
        for db in (by_day, batched):  # the alerts and today's heartbeats are left
            kinds = db.query("SELECT kind, count(*) AS n FROM reports GROUP BY kind ORDER BY kind")
            assert [(k["kind"], k["n"]) for k in kinds] == [("alert", 2), ("heartbeat", 2)]
        assert sorted(_where(by_day, "kit-1")) == sorted(["reports_default", stored.partition_name(today)])
        again = retention.prune(by_day, now, 14, 0)  # nothing left to do
        assert (again.partitions, again.reports) == (0, 0) and _days(by_day) == _days(batched)


def test_a_day_detached_by_a_stopped_prune_is_folded_and_dropped_by_the_next(pg):
    today = _today()
    _old_days(pg, today)
    name = stored.partition_name(today - 30 * DAY)
    with pg.transaction() as tx:  # the prune stopped here: its day is out of `reports`, not folded yet
        stored.detach_partition(tx, name)
    assert stored.day_partitions(pg)[name] is False
    done = retention.prune(pg, today + 3600, 0, 0)  # keeping reports for good still finishes it
    assert done.partitions == 1 and name not in stored.day_partitions(pg)
    assert {(d["kit_id"], d["reports"]) for d in _days(pg)} == {("kit-1", 6), ("kit-2", 6)}
    assert stored_reports(pg) == 2 * (12 + 2 + 1)  # the other two days, the alert and records, today's


OLD_COLUMNS = (
    "kit_id, report_id, sequence, kind, made_at, clock_synchronised, received_at, observed_at, cpu_temp_c, "
    "disk_percent, wifi_clients, sync_bytes, body"
)


def _old_rows(db, today: float) -> None:
    enrol_kit(db, "kit-1", today - 60 * DAY)
    with db.transaction() as tx:
        for n, (made_at, received) in enumerate(
            (("2026-01-05T10:00:00Z", 1767607200.0), (None, today + 60), ("2000-01-01T00:00:00Z", today + 70))
        ):
            made = made_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(today + 30))
            tx.execute(
                f"INSERT INTO reports ({OLD_COLUMNS}) VALUES (?, ?, ?, 'heartbeat', ?, 1, ?, ?, 50.0, 40.0, 3, NULL, '{{}}')",
                ("kit-1", f"r{n}", n + 1, made, received, received),
            )


def test_migration_0009_converts_an_existing_reports_table(tmp_path):
    today = _today()
    with _postgres(tmp_path, migrated=False) as db:
        migrate(db, upto=8)  # the hub as an older tpkit left it
        _old_rows(db, today)
        assert migrate(db) >= 9
        rows = db.query("SELECT report_id, made_unix, tableoid::regclass::text AS part FROM reports ORDER BY report_id")
        assert [(r["report_id"], r["made_unix"], r["part"]) for r in rows] == [
            ("r0", 1767607200.0, "reports_default"),
            ("r1", today + 30, stored.partition_name(today)),  # moved out of reports_default into its day
            ("r2", 946684800.0, "reports_default"),
        ]
        assert {i["indexname"] for i in db.query("SELECT indexname FROM pg_indexes WHERE tablename = 'reports'")} == {
            "reports_pkey",
            "reports_kit_time",
            "reports_received",
            "reports_alert_time",
        }
        refs = db.query(
            "SELECT confrelid::regclass::text AS ref FROM pg_constraint WHERE conrelid = 'reports'::regclass AND contype = 'f'"
        )
        assert [r["ref"] for r in refs] == ["kits"]


def test_sqlite_keeps_one_table_and_gets_the_column_filled(tmp_path):
    db = open_database(load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path)}))
    try:
        migrate(db, upto=8)  # the hub as an older tpkit left it
        _old_rows(db, _today())
        migrate(db)
        assert [r["made_unix"] for r in db.query("SELECT made_unix FROM reports ORDER BY report_id")] == [
            1767607200.0,
            _today() + 30,
            946684800.0,
        ]
        assert (
            db.query("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'reports_%' AND type = 'table'")[0]["n"]
            == 0
        )
        assert [name for number, name, _ in migrations("sqlite") if number == 9] == ["reports_by_day"]
        assert retention.prune(db, _today() + 400 * DAY, 14, 0).partitions == 0
    finally:
        db.close()


def test_cli_hub_prune_says_how_many_days_it_dropped(tmp_path):
    from tests.hub.test_cli_hub import tpkit

    today = _today()
    with postgres_database() as url:
        settings = load_hub_settings(environ={}, overrides={"hub_data_dir": str(tmp_path), "hub_database_url": url})
        db = open_database(settings)
        try:
            migrate(db)
            _old_days(db, today)
            result = tpkit("prune", settings=settings)  # the default window: 14 days
            assert result.returncode == 0, result.stderr
            assert "Pruned 38 report(s) older than 14 days, folded into 6 kit-day row(s)" in result.stdout
            assert "3 whole day(s) dropped" in result.stdout
            assert not {n for n in stored.day_partitions(db) if stored.partition_start(n) < today - 14 * DAY}
        finally:
            db.close()


def test_reports_keep_being_stored_while_prune_creates_and_drops_days(pg):
    # A kit stores reports all along (one transaction each, as the HTTP route does) made today, on an old day being
    # dropped, and on a day ahead that has no partition yet; each is stored, then either still in `reports` (in its
    # day, or in reports_default) or counted once in kit_days, never lost or counted twice.
    today = _today()
    _old_days(pg, today)
    secret = enrol_kit(pg, "kit-3", today - 60 * DAY)
    ahead = today + (stored.AHEAD_DAYS + 2) * DAY
    made = (today + 3600, today - 30 * DAY + 7200, ahead + 600)
    stop, started, stored_fresh, failures = threading.Event(), threading.Event(), [], []

    def kit() -> None:
        sequence = 0
        while not stop.is_set() and sequence < 2000:
            sequence += 1
            report, _, _ = signed(secret, "kit-3", sequence, made_at=made[sequence % 3], synchronised=False)
            try:
                stored_fresh.append(ingest.store(pg, report, today + 60)[0])
            except Exception as exc:  # noqa: BLE001  # the test reports any failure below
                failures.append(exc)
            if sequence == 6:
                started.set()

    worker = threading.Thread(target=kit)
    worker.start()
    try:
        assert started.wait(30)
        done = retention.prune(pg, today + 2 * DAY + 3600, 14, 0, between=lambda: time.sleep(0.05))
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive() and failures == [] and all(stored_fresh)
    assert done.partitions == 3 and stored.partition_name(ahead) in stored.day_partitions(pg)
    left = stored_reports(pg, "kit-3")
    folded = pg.query("SELECT coalesce(sum(reports), 0) AS n FROM kit_days WHERE kit_id = 'kit-3'")[0]["n"]
    assert left + folded == len(stored_fresh)
    places = {
        row["part"]
        for row in pg.query(
            "SELECT tableoid::regclass::text AS part FROM reports WHERE kit_id = 'kit-3' AND made_unix = ?",
            (ahead + 600,),
        )
    }
    assert places == {stored.partition_name(ahead)}  # those stored before its day existed moved in with it
