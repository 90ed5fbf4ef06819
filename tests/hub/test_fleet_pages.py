"""The fleet table at county and province size: filtered, counted, sorted and paged by the database from the
columns ingest keeps of each kit's newest heartbeat, judged exactly as hub/alerts.py judges a kit; searched by kit
id, school and district; rows stored before those columns existed are filled in when the hub starts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from appliance.hub import alerts, fleet, ingest
from appliance.hub.storage.kits import ORDER
from tests.hub.conftest import enrol_kit, health_body, signed
from tests.hub.test_dashboard import _signed_in

DAY = 86400


def _send(db, secret, kit_id: str, body: dict, received_at: float, sequence: int = 1, synchronised: bool = True):
    report, _, _ = signed(secret, kit_id, sequence, body, made_at=received_at, synchronised=synchronised)
    ingest.store(db, report, received_at)


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _synced(body: dict, ok_at: float) -> dict:
    return {**body, "last_sync": {"state": "idle", "outcome": "ok", "ok": True, "last_ok_at": _iso(ok_at)}}


def _mixed_fleet(db, clock, count: int) -> None:
    """`count` kits in every status, kinds cycling: fine, hot, critical disk, silent, never heard, old content, a
    clock far off, a failed sync; schools with Chinese names, two districts."""
    now = clock.now
    for n in range(count):
        kit_id = f"gs-{n:04d}"
        kind = n % 8
        if kind == 4:
            enrol_kit(db, kit_id, now, school=f"第{n}小学", district="南区")
            continue
        secret = enrol_kit(db, kit_id, now, school=f"第{n}小学" if n % 3 else f"Hill {n} School", district="北区")
        body = health_body(kit_id)
        received_at, made_at, synchronised = now - 60, now - 60, True
        if kind == 1:
            body = health_body(kit_id, temp_c=74.0)
        elif kind == 2:
            body = health_body(kit_id, disk_percent=98.0)
        elif kind == 3:
            received_at = made_at = now - 7 * 3600
        elif kind == 5:
            body = _synced(body, now - 45 * DAY)
        elif kind == 6:
            synchronised, made_at = False, now - 3 * 3600
        elif kind == 7:
            body = {**body, "last_sync": {"state": "failed", "outcome": "failed", "ok": False, "last_ok_at": None}}
        report, _, _ = signed(secret, kit_id, 1, body, made_at=made_at, synchronised=synchronised)
        ingest.store(db, report, received_at)


def test_fleet_status_filters_and_counts_agree_with_the_alerts(hub_db, clock):
    _mixed_fleet(hub_db, clock, 96)
    everyone = fleet.kits(hub_db, clock.now, 6)
    judged = {k.kit_id: alerts.status(k.alerts) for k in everyone}
    assert {k.kit_id: k.status for k in everyone} == judged
    assert set(judged.values()) == {"ok", "warning", "critical", "silent"}
    for status in alerts.STATUSES:  # the database's filter picks exactly the kits hub/alerts.py gives that status
        picked = {k.kit_id for k in fleet.kits(hub_db, clock.now, 6, status=status)}
        assert picked == {kit_id for kit_id, found in judged.items() if found == status}, status
    page = fleet.page(hub_db, clock.now, 6, 30, limit=10)
    assert page.counts == {s: list(judged.values()).count(s) for s in alerts.STATUSES} and page.total == 96
    assert [k.status for k in page.kits][:3] == ["silent"] * 3  # sorted by urgency, then kit id
    codes = {k.kit_id: [a.code for a in k.alerts] for k in everyone}
    assert codes["gs-0005"] == ["old_content"] and codes["gs-0006"] == ["clock"]
    assert codes["gs-0007"] == ["sync_failing"] and codes["gs-0002"] == ["disk_full"]


def test_fleet_pages_search_and_sort(hub_db, clock):
    _mixed_fleet(hub_db, clock, 250)
    first = fleet.page(hub_db, clock.now, 6, 30, sort="kit_id", limit=100)
    third = fleet.page(hub_db, clock.now, 6, 30, sort="kit_id", offset=200, limit=100)
    assert [k.kit_id for k in first.kits][:2] == ["gs-0000", "gs-0001"] and len(first.kits) == 100
    assert [k.kit_id for k in third.kits][-1] == "gs-0249" and len(third.kits) == 50 and third.total == 250
    found = fleet.page(hub_db, clock.now, 6, 30, search="第12")  # 第12小学 and 第120…第129小学 (not 12 % 3 == 0)
    assert {k.school for k in found.kits} == {
        "第12小学",
        *{f"第{n}小学" for n in range(120, 130) if n % 3 or n % 8 == 4},
    }
    assert {k.kit_id for k in fleet.page(hub_db, clock.now, 6, 30, search="GS-0249").kits} == {"gs-0249"}
    assert fleet.page(hub_db, clock.now, 6, 30, search="hill 3 school").total == 1  # case does not matter
    assert fleet.page(hub_db, clock.now, 6, 30, search="100%").total == 0  # % and _ are letters, not wildcards
    assert fleet.page(hub_db, clock.now, 6, 30, search="gs_0").total == 0
    south = fleet.page(hub_db, clock.now, 6, 30, district="南区", status="silent")
    assert south.total == 31 and south.counts["silent"] == 31 and {k.district for k in south.kits} == {"南区"}
    newest = fleet.page(hub_db, clock.now, 6, 30, sort="last_seen", limit=300).kits
    assert [k.last_seen_at for k in newest if k.last_seen_at] == sorted(
        (k.last_seen_at for k in newest if k.last_seen_at), reverse=True
    )
    assert all(k.last_seen_at is None for k in newest[-31:])  # never heard: last


def test_fleet_pages_and_alerting_kits_are_slices_of_the_whole_sorted_table(hub_db, clock):
    # a page (and /metrics' kits that are not ok) chooses its kit ids from index kits_status first, then reads
    # their rows: the same kits in the same order as reading every row
    _mixed_fleet(hub_db, clock, 120)
    for sort in ORDER:
        whole = fleet.kits(hub_db, clock.now, 6, sort=sort)
        for offset in (0, 50, 100):
            page = fleet.page(hub_db, clock.now, 6, 30, sort=sort, offset=offset, limit=50)
            assert [k.kit_id for k in page.kits] == [k.kit_id for k in whole[offset : offset + 50]], (sort, offset)
        alerting = fleet.kits(hub_db, clock.now, 6, sort=sort, alerting=True)
        assert alerting == [k for k in whole if k.status != "ok"] and 0 < len(alerting) < len(whole)


def test_fleet_rows_from_before_the_columns_are_filled_in_when_the_hub_starts(hub_db, clock):
    _mixed_fleet(hub_db, clock, 16)
    before = {k.kit_id: (k.status, [a.code for a in k.alerts]) for k in fleet.kits(hub_db, clock.now, 6)}
    with hub_db.transaction() as tx:  # what a hub migrated to 0006 holds for kits that reported before it
        tx.execute(
            "UPDATE kits SET cpu_temp_c = NULL, disk_percent = NULL, snapshot_rank = NULL, snapshot_alerts = NULL, "
            "last_sync_ok_at = NULL, under_voltage = NULL"
        )
    hot = fleet.kit(hub_db, "gs-0001", clock.now, 6)  # a kit's own page reads its snapshot meanwhile
    assert hot is not None and [a.code for a in hot.alerts] == ["hot"]
    assert ingest.refresh_latest(hub_db) == 14  # the two kits that never reported have nothing to fill
    assert ingest.refresh_latest(hub_db) == 0
    after = {k.kit_id: (k.status, [a.code for a in k.alerts]) for k in fleet.kits(hub_db, clock.now, 6)}
    assert after == before
    assert {k.kit_id for k in fleet.kits(hub_db, clock.now, 6, status="critical")} == {"gs-0002", "gs-0010"}


def test_dashboard_fleet_page_counts_pages_and_searches_in_chinese(hub_db, hub_client, clock):
    _mixed_fleet(hub_db, clock, 130)
    _signed_in(hub_client, hub_db, clock)
    page = hub_client.get("/", params={"lang": "zh"})
    assert page.status_code == 200
    text = page.text
    assert "设备总览：130 台" in text and "全部：130 台" in text and "第 1 页，共 2 页" in text
    assert len(re.findall(r'<tr><td><a href="/kits/', text)) == 100
    assert 'href="/?lang=zh&amp;page=2" rel="next"' in text
    second = hub_client.get("/", params={"lang": "zh", "page": "2"}).text
    assert len(re.findall(r'<tr><td><a href="/kits/', second)) == 30 and 'rel="prev"' in second
    found = hub_client.get("/", params={"lang": "zh", "q": "第10小学"}).text
    assert "设备总览：1 台" in found and "gs-0010" in found and "gs-0100" not in found
    assert hub_client.get("/", params={"page": "x' OR 1=1"}).status_code == 200  # a bad page number: the first
    csv_text = hub_client.get("/fleet.csv", params={"q": "第10小学"}).text
    assert len(csv_text.strip().splitlines()) == 2
    alerts = hub_client.get("/alerts", params={"lang": "zh"}).text  # 113 kits are not ok (kind 0 of 8 is)
    assert "有告警的设备：113 台" in alerts and "第 1 页，共 2 页" in alerts
    assert 'href="/alerts?lang=zh&amp;page=2" rel="next"' in alerts
    rows = re.findall(r'<tr><td><span class="status (\w+)">', alerts.split("<h2>")[0])
    assert len(rows) >= 100 and rows[0] == "critical"  # every alert of the page's 100 kits, critical first


def test_fleet_csv_is_written_in_batches_every_kit_once_by_kit_id(hub_db, clock):
    _mixed_fleet(hub_db, clock, 45)
    chunks = list(fleet.csv_chunks(hub_db, clock.now, 6, 30, batch=7))
    assert len(chunks) == 1 + 7  # the header, then 45 kits 7 at a time
    rows = list(csv.DictReader(io.StringIO("".join(chunks).removeprefix("\ufeff"))))
    assert [row["kit_id"] for row in rows] == [f"gs-{n:04d}" for n in range(45)]
    assert chunks[0].startswith("\ufeffkit_id,") and all("kit_id" not in chunk for chunk in chunks[1:])
    silent = list(csv.DictReader(io.StringIO("".join(fleet.csv_chunks(hub_db, clock.now, 6, 30, status="silent")))))
    assert {row["status"] for row in silent} == {"silent"} and len(silent) == 12  # kinds 3 and 4 of every 8
