"""Retention on SQLite and PostgreSQL: old raw reports fold into one row per kit and day and are deleted in batches
while the hub keeps accepting reports (a real POST between two batches); alerts and enrolment are never pruned;
old days go after hub_keep_daily_days; the kit page's daily series reads folded and raw days alike."""

from __future__ import annotations

import datetime as dt

from appliance.hub import ingest, retention
from tests.hub.conftest import enrol_kit, health_body, signed, stored_reports
from tests.hub.test_cli_hub import tpkit

DAY = 86400


def _kinds(db, kit_id: str) -> dict[str, int]:
    rows = db.query("SELECT kind, count(*) AS n FROM reports WHERE kit_id = ? GROUP BY kind", (kit_id,))
    return {row["kind"]: row["n"] for row in rows}


def _noon(clock) -> float:
    """Set the hub's clock to noon UTC of today, so each day's reports stay within their day whatever the time the
    test runs: today's (up to an hour old) fell into yesterday after midnight UTC, and ten old ones 10 minutes apart
    spilled into the next day from 22:30 UTC."""
    clock.now = clock.now - clock.now % DAY + 12 * 3600
    return clock.now


def _old_fleet(db, now: float):
    """kit-1: 30 heartbeats 200 days ago (10 a day over three days), one alert then, one records batch, one
    daily summary 150 days ago, and 5 heartbeats today."""
    secret = enrol_kit(db, "kit-1", now - 400 * DAY)
    sequence = 0
    for day in range(3):
        for n in range(10):
            sequence += 1
            when = now - (200 - day) * DAY + n * 600
            report, _, _ = signed(
                secret,
                "kit-1",
                sequence,
                health_body("kit-1", temp_c=50.0 + day * 5 + n, clients=n, disk_percent=40.0 + day),
                made_at=when,
            )
            ingest.store(db, report, when)
    for kind, body, age in (
        ("alert", {"code": "hot", "severity": "critical", "message": "Hot.", "snapshot": {}}, 200),
        ("records", {"statements": []}, 199),
    ):
        sequence += 1
        report, _, _ = signed(secret, "kit-1", sequence, body, kind=kind, made_at=now - age * DAY)
        ingest.store(db, report, now - age * DAY)
    summary_day = dt.datetime.fromtimestamp(now - 150 * DAY, dt.timezone.utc).strftime("%Y-%m-%d")
    sequence += 1
    report, _, _ = signed(
        secret,
        "kit-1",
        sequence,
        {
            "day": summary_day,
            "heartbeats": 96,
            "first": "",
            "last": "",
            "min": {"cpu_temp_c": 40.0},
            "max": {"cpu_temp_c": 77.5, "disk_use_percent": 61.0, "wifi_clients": 12},
        },
        kind="daily_summary",
        made_at=now - 149 * DAY,
    )
    ingest.store(db, report, now - 149 * DAY)
    for n in range(5):
        sequence += 1
        report, _, _ = signed(secret, "kit-1", sequence, health_body("kit-1", temp_c=45.0), made_at=now - n * 900)
        ingest.store(db, report, now - n * 900)
    return secret, sequence, summary_day


def test_prune_folds_old_reports_into_days_in_batches_while_reports_keep_arriving(hub_db, hub_client, clock):
    secret, sequence, summary_day = _old_fleet(hub_db, _noon(clock))
    before = retention.daily(hub_db, "kit-1", clock.now - 400 * DAY)
    arrived = []

    def ingest_meanwhile() -> None:  # a kit reports between two batches: the hub answers at once
        report, payload, headers = signed(secret, "kit-1", sequence + 1 + len(arrived), made_at=clock.now)
        arrived.append(hub_client.post("/api/v1/reports", content=payload, headers=headers).status_code)

    done = retention.prune(hub_db, clock.now, 90, 730, batch=7, pause_s=0, between=ingest_meanwhile)
    assert done.reports == 32 and done.batches == 6 and arrived == [201] * 4  # 5 batches of reports, 1 of days
    assert done.days_folded >= 4 and done.days_deleted == 0
    assert _kinds(hub_db, "kit-1") == {"alert": 1, "heartbeat": 9}  # alerts kept; 5 recent + 4 sent meanwhile
    assert hub_db.query("SELECT public_key FROM kits WHERE kit_id = 'kit-1'")[0]["public_key"]  # enrolment kept
    days = hub_db.query("SELECT * FROM kit_days WHERE kit_id = 'kit-1' ORDER BY day")
    assert [d["reports"] for d in days] == [10, 10, 10, 1]
    assert [d["cpu_temp_c"] for d in days] == [59.0, 64.0, 69.0, 77.5]
    assert [d["disk_percent"] for d in days] == [40.0, 41.0, 42.0, 61.0] and days[-1]["day"] == summary_day
    assert [d["wifi_clients"] for d in days] == [9, 9, 9, 12]
    after = retention.daily(hub_db, "kit-1", clock.now - 400 * DAY)
    assert [(d["day"], d["cpu_temp_c"]) for d in after][:4] == [(d["day"], d["cpu_temp_c"]) for d in before][:4]
    assert after[4]["cpu_temp_c"] == 51.5 and len(after) == 5  # today: the reports sent meanwhile

    again = retention.prune(hub_db, clock.now, 90, 730)
    assert again.reports == 0 and again.batches == 2  # nothing left to do, and it says so
    later = retention.prune(hub_db, clock.now + 600 * DAY, 0, 730)  # 0: raw reports kept for good
    assert later.reports == 0 and later.days_deleted == 4 and stored_reports(hub_db, "kit-1") == 10
    assert retention.prune(hub_db, clock.now + 9000 * DAY, 0, 0).days_deleted == 0


def test_cli_hub_prune(hub_settings, hub_db, clock):
    _old_fleet(hub_db, _noon(clock))
    result = tpkit("prune", "--hub-keep-reports-days", "100", settings=hub_settings)
    assert result.returncode == 0, result.stderr
    assert "Pruned 32 report(s) older than 100 days, folded into 4 kit-day row(s)" in result.stdout
    assert "Alerts and enrolment are kept." in result.stdout
    assert _kinds(hub_db, "kit-1") == {"alert": 1, "heartbeat": 5}
