"""The technicians' dashboard: sign-in required, fleet filters, kit page with SVG charts, config, CSV;
and in headless Chromium at phone width (with TPKIT_SCREENSHOTS=1 it saves docs/screenshots/hub-*.png)."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import httpx
import pytest

from appliance.hub import configs, ingest, technicians
from tests.hub.conftest import enrol_kit, health_body, signed
from tests.web.browsers import PHONE, chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _fleet(db, clock) -> None:
    for n, (school, district, temp) in enumerate(
        (("Hill School", "North", 48.0), ("River School", "South", 83.0), ("五一小学", "North", 55.0)), start=1
    ):
        secret = enrol_kit(db, f"kit-{n}", clock.now - 86400, school=school, district=district)
        for hour in range(24):
            when = clock.now - (24 - hour) * 3600
            report, _, _ = signed(
                secret,
                f"kit-{n}",
                hour + 1,
                health_body(f"kit-{n}", temp_c=temp + hour % 5, clients=hour % 9),
                made_at=when,
            )
            ingest.store(db, report, when)


def _signed_in(client: httpx.Client, db, clock) -> None:
    """Signed in as the first technician, the one-time password changed (until then only /password opens)."""
    password = technicians.ensure_first(db, clock.now)
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/signin", data={"csrf": csrf, "username": "technician", "password": password})
    assert response.status_code == 303, response.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/password").text).group(1)
    changed = client.post("/password", data={"csrf": csrf, "current": password, "password": "a county password"})
    assert changed.status_code == 303, changed.text


def test_dashboard_needs_sign_in(hub_db, hub_client, clock):
    for path in ("/", "/alerts", "/rollout", "/kits/kit-1", "/fleet.csv"):
        response = hub_client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/signin"
    technicians.ensure_first(hub_db, clock.now)
    page = hub_client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    for _ in range(5):
        wrong = hub_client.post("/signin", data={"csrf": csrf, "username": "technician", "password": "guess"})
        assert wrong.status_code == 401
    throttled = hub_client.post("/signin", data={"csrf": csrf, "username": "technician", "password": "guess"})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    clock.now += 3600  # the throttle is over once the failures are older than its window
    assert hub_client.post("/signin", data={"csrf": csrf, "username": "technician", "password": "x"}).status_code == 401


def test_dashboard_fleet_kit_page_config_and_csv(hub_db, hub_client, clock):
    _fleet(hub_db, clock)
    _signed_in(hub_client, hub_db, clock)
    fleet_page = hub_client.get("/?district=North&sort=kit_id")
    assert fleet_page.status_code == 200 and "kit-1" in fleet_page.text and "五一小学" in fleet_page.text
    assert "River School" not in fleet_page.text.split("<tbody>")[1]
    critical = hub_client.get("/?status=critical")
    assert "kit-2" in critical.text and "kit-1</a>" not in critical.text
    kit = hub_client.get("/kits/kit-2")
    # temperature, disk and clients over two weeks and day by day; kits do not report sync bytes yet
    assert kit.text.count("<polyline") == 6
    assert kit.text.count("Synced this month: no readings yet") == 2
    csrf = re.search(r'name="csrf" value="([^"]+)"', kit.text).group(1)
    # Every field of the desired configuration is on the form: saving it keeps what was not changed.
    assert set(re.findall(r'<input name="(sync_[a-z_]+)"', kit.text)) == set(configs.FIELDS)
    saved = hub_client.post(
        "/kits/kit-2/config",
        data={
            "csrf": csrf,
            "sync_windows": "Sat-Sun",
            "sync_channels": "primary-zh",
            "sync_rate_cap_kbps": "500",
            "sync_rate_cap_percent": "40",
            "sync_month_budget_mb": "",
        },
    )
    assert saved.status_code == 303
    page = hub_client.get("/kits/kit-2").text
    assert "Version 1;" in page and 'name="sync_rate_cap_percent" inputmode="numeric" value="40"' in page
    with hub_db.transaction() as tx:
        assert configs.desired(tx, "kit-2")["sync_rate_cap_percent"] == 40
    no_csrf = hub_client.post("/kits/kit-2/config", data={"sync_windows": "Sat"})
    assert no_csrf.status_code == 403
    secret = enrol_kit(hub_db, "kit-9", clock.now)
    report, _, _ = signed(
        secret,
        "kit-9",
        1,
        {
            "code": "health.root_read_only",
            "severity": "critical",
            "message": "The system disk is read-only.",
            "snapshot": {},
        },
        kind="alert",
        made_at=clock.now,
    )
    ingest.store(hub_db, report, clock.now)
    alerts = hub_client.get("/alerts")
    assert "kit-2" in alerts.text and "hot" in alerts.text
    assert "health.root_read_only: The system disk is read-only." in alerts.text
    exported = hub_client.get("/fleet.csv")
    assert exported.headers["content-type"].startswith("text/csv") and exported.text.count("\n") == 5
    # A byte-order mark first, or Excel on Chinese Windows garbles the school names (issue 20).
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {row["kit_id"]: row["school"] for row in rows}["kit-3"] == "五一小学"
    assert hub_client.get("/kits/nope").status_code == 404


@pytest.mark.browser
def test_dashboard_in_a_phone_browser(hub_settings, hub_db, hub_live, clock):
    if hub_db.backend != "sqlite":
        pytest.skip("the pages are the same on both backends; one browser run is enough")

    _fleet(hub_db, clock)
    password = technicians.ensure_first(hub_db, clock.now)
    with chromium() as browser:
        context = browser.new_context(**PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(hub_live.url + "/")
        page.fill("input[name=username]", "technician")
        page.fill("input[name=password]", password)
        page.click("button")
        assert page.url == hub_live.url + "/password"  # the one-time password opens nothing else
        page.fill("input[name=current]", password)
        page.fill("input[name=password]", "a county password")
        page.click("main button")
        assert page.url == hub_live.url + "/"
        assert page.locator("tbody tr").count() == 3
        assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1  # no sideways scrolling at phone width
        _save(page, "hub-fleet.png")
        page.click("text=kit-2")
        assert page.locator("svg.chart").count() == 8
        _save(page, "hub-kit.png")


def _save(page, name: str) -> None:
    if os.environ.get("TPKIT_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
