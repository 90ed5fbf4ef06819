"""The hub's pages show times in its `hub_time_zone` setting (Asia/Shanghai unless set), in the page's language,
through webcore/times.py's `when` filter; the fleet CSV keeps UTC ISO stamps (issue 16, "times in the kit's time
zone"). A real hub on each backend, uvicorn on loopback, a signed report made at 16:30 UTC: 00:30 the next day in
Shanghai."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from appliance.errors import ConfigError
from appliance.hub import ingest
from appliance.hub.settings import load_hub_settings
from tests.hub.conftest import enrol_kit, health_body, signed
from tests.hub.test_dashboard import _signed_in

UTC = dt.timezone.utc
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _this_year_at(hour: int, minute: int) -> dt.datetime:
    """16:30 UTC on a day of this year whose next day is in this year too (the pages leave this year out)."""
    return dt.datetime(dt.datetime.now(UTC).year, 6, 1, hour, minute, tzinfo=UTC)


def test_hub_pages_show_report_times_in_shanghai_time(hub_db, hub_client, clock):
    made = _this_year_at(16, 30)  # 2 June 00:30 in Shanghai
    received = made + dt.timedelta(minutes=1)
    secret = enrol_kit(hub_db, "kit-1", made.timestamp() - 3600, school="五一小学", district="城北")
    report, _, _ = signed(secret, "kit-1", 1, health_body("kit-1"), made_at=made.timestamp())
    ingest.store(hub_db, report, received.timestamp())
    alert, _, _ = signed(
        secret,
        "kit-1",
        2,
        {"code": "disk_full", "severity": "critical", "message": "Disk 97% full"},
        kind="alert",
        made_at=made.timestamp(),
    )
    ingest.store(hub_db, alert, received.timestamp())
    clock.now = received.timestamp() + 60
    _signed_in(hub_client, hub_db, clock)

    zh = hub_client.get("/kits/kit-1", headers=ZH).text
    assert "6月2日 00:30" in zh and "6月2日 00:31" in zh  # made, received (and last heard)
    assert "16:30" not in zh and "16:31" not in zh and "T16:3" not in zh
    en = hub_client.get("/kits/kit-1?lang=en").text
    assert "2 Jun 00:30" in en and "2 Jun 00:31" in en and "T16:3" not in en
    fleet = hub_client.get("/?lang=zh").text
    assert "6月2日 00:31" in fleet.split("<tbody>")[1]
    alerts = hub_client.get("/alerts?lang=zh").text
    assert re.search(r"<td>6月2日 00:31</td>", alerts) and "6月2日 00:30" in alerts
    csv = hub_client.get("/fleet.csv").text
    assert received.strftime("%Y-%m-%dT%H:%M:%SZ") in csv  # exports stay UTC ISO


def test_hub_time_zone_setting(tmp_path):
    assert load_hub_settings(environ={}).hub_time_zone == "Asia/Shanghai"
    london = load_hub_settings(environ={"TPKIT_HUB_TIME_ZONE": "Europe/London"})
    assert london.hub_time_zone == "Europe/London"
    with pytest.raises(ConfigError, match="hub_time_zone"):
        load_hub_settings(environ={"TPKIT_HUB_TIME_ZONE": "Nowhere/Atlantis"})
