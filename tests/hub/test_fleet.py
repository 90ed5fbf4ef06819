"""Fleet state from heartbeats: status, alerts, silence after N hours, Prometheus metrics, CSV."""

from __future__ import annotations

import csv
import io

from appliance.hub import fleet, ingest, prometheus
from tests.hub.conftest import enrol_kit, health_body, signed


def _send(db, secret, kit_id, sequence, body, now):
    report, payload, _ = signed(secret, kit_id, sequence, body, made_at=now)
    ingest.store(db, report, now)


def test_fleet_status_and_alerts_follow_the_latest_heartbeat(hub_db, clock):
    fine = enrol_kit(hub_db, "kit-ok", clock.now, school="Hill School")
    sick = enrol_kit(hub_db, "kit-sick", clock.now, school="River School", district="South")
    enrol_kit(hub_db, "kit-new", clock.now)
    _send(hub_db, fine, "kit-ok", 1, health_body("kit-ok"), clock.now)
    _send(
        hub_db,
        sick,
        "kit-sick",
        1,
        health_body("kit-sick", temp_c=82.0, disk_percent=93.5, damaged=2, under_voltage_now=True),
        clock.now,
    )
    states = {k.kit_id: k for k in fleet.kits(hub_db, clock.now, 6)}
    assert states["kit-ok"].status == "ok" and states["kit-ok"].alerts == []
    assert states["kit-sick"].status == "critical"
    assert [a.code for a in states["kit-sick"].alerts] == ["under_voltage", "disk_full", "hot", "books_damaged"]
    assert states["kit-new"].status == "silent" and states["kit-new"].alerts[0].message.startswith("The kit has never")
    assert [k.kit_id for k in fleet.kits(hub_db, clock.now, 6, district="South")] == ["kit-sick"]
    assert [k.kit_id for k in fleet.kits(hub_db, clock.now, 6, status="ok")] == ["kit-ok"]
    assert [k.kit_id for k in fleet.kits(hub_db, clock.now, 6, sort="school")][0] == "kit-new"


def test_fleet_kit_goes_silent_after_the_setting_and_back_on_a_report(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _send(hub_db, secret, "kit-1", 1, health_body(), clock.now)
    clock.now += 6 * 3600 + 60
    state = fleet.kit(hub_db, "kit-1", clock.now, 6)
    assert state.status == "silent" and "silent for 6 hours" in state.alerts[0].message
    _send(hub_db, secret, "kit-1", 2, health_body(), clock.now)
    assert fleet.kit(hub_db, "kit-1", clock.now, 6).status == "ok"


def test_fleet_metrics_label_every_kit(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now, school='Hill "Upper" School')
    _send(hub_db, secret, "kit-1", 1, {**health_body(temp_c=71.25, clients=7), "outbox_depth": 12}, clock.now)
    text = hub_client.get("/metrics").text
    labels = 'kit_id="kit-1",school="Hill \\"Upper\\" School",district="North"'
    assert f"tpkit_kit_cpu_temperature_celsius{{{labels}}} 71.25" in text
    assert f"tpkit_kit_wifi_clients{{{labels}}} 7" in text
    assert f"tpkit_kit_outbox_depth{{{labels}}} 12" in text
    assert f'tpkit_kit_status{{{labels},status="warning"}} 1' in text
    assert f'tpkit_kit_status{{{labels},status="ok"}} 0' in text
    assert "tpkit_hub_reports_received_total 1\n" in text


def test_fleet_csv_has_a_row_per_kit(hub_db, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now, school="五一小学")
    _send(hub_db, secret, "kit-1", 1, health_body(disk_percent=95.0), clock.now)
    exported = fleet.as_csv(fleet.kits(hub_db, clock.now, 6))
    assert exported.encode("utf-8").startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows needs it
    rows = list(csv.DictReader(io.StringIO(exported.encode("utf-8").decode("utf-8-sig"))))
    assert (
        rows[0]["kit_id"] == "kit-1"
        and rows[0]["school"] == "五一小学"
        and rows[0]["status"] == "warning"
        and rows[0]["disk_percent"] == "95"
    )
    assert "disk_full" in rows[0]["alerts"]


def test_fleet_rollout_lists_book_versions_per_kit(hub_db, clock):
    for n, version in ((1, "2026-01"), (2, "2026-03")):
        secret = enrol_kit(hub_db, f"kit-{n}", clock.now)
        _send(
            hub_db, secret, f"kit-{n}", 1, health_body(books=[{"name": "wikipedia_zh", "version": version}]), clock.now
        )
    assert fleet.rollout(hub_db) == {"wikipedia_zh": {"2026-01": ["kit-1"], "2026-03": ["kit-2"]}}


def test_metrics_auto_gives_every_kit_series_up_to_ten_thousand_kits():
    assert not prometheus.only_alerting("auto", prometheus.ALL_KITS_UP_TO)
    assert prometheus.only_alerting("auto", prometheus.ALL_KITS_UP_TO + 1)
    assert prometheus.only_alerting("alerting", 1) and not prometheus.only_alerting("all", 10**6)


def test_metrics_numbers_keep_every_digit_and_name_what_is_not_a_number():
    assert [prometheus.number(v) for v in (6560671.0, 1765432123.25, 0.1, -3)] == [
        "6560671",
        "1765432123.25",
        "0.1",
        "-3",
    ]
    assert [prometheus.number(v) for v in (float("nan"), float("inf"), -float("inf"))] == ["NaN", "+Inf", "-Inf"]
    assert prometheus.number(2.0**63) == "9.223372036854776e+18"  # beyond int64: Python's float form
