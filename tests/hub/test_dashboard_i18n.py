"""The dashboard in English and Chinese (`?lang=`, the cookie, Accept-Language), with no English label left on the
Chinese pages; the kit page's daily charts from heartbeats, a kit's folded daily summaries and pruned days; and a
kit page in Chinese in headless Chromium at 1280 px (TPKIT_SCREENSHOTS=1 saves docs/screenshots/hub-kit-zh.png)."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest

from appliance.hub import ingest, retention, technicians
from tests.hub.conftest import enrol_kit, health_body, signed
from tests.hub.test_dashboard import _save, _signed_in
from tests.test_messages import texts
from tests.web.browsers import chromium

DAY = 86400
# The labels a technician reads on the fleet and kit pages; none may stay English on a Chinese page.
MAIN_LABELS = ("site", "nav.", "fleet.", "kit.", "chart.", "alert.hot", "password.", "severity.", "kind.heartbeat")


def _county(db, now: float) -> None:
    """Two kits at Chinese schools: 60 days of heartbeats (the old ones pruned into days), a daily summary the kit
    folded offline, and recent heartbeats; kit-2 is hot."""
    for n, temp in ((1, 50.0), (2, 82.0)):
        kit_id = f"kit-{n}"
        secret = enrol_kit(db, kit_id, now - 90 * DAY, school=f"第{n}小学", district="城北")
        sequence, midnight = 0, now // DAY * DAY
        for day in range(60, 0, -1):
            for hour in (9, 15):
                sequence += 1
                when = midnight - day * DAY + hour * 3600
                report, _, _ = signed(
                    secret, kit_id, sequence, health_body(kit_id, temp_c=temp + day % 7, clients=day % 11), made_at=when
                )
                ingest.store(db, report, when)
        sequence += 1
        summary_day = dt.datetime.fromtimestamp(now - 70 * DAY, dt.timezone.utc).strftime("%Y-%m-%d")
        report, _, _ = signed(
            secret,
            kit_id,
            sequence,
            {"day": summary_day, "heartbeats": 96, "first": "", "last": "", "min": {}, "max": {"cpu_temp_c": temp + 9}},
            kind="daily_summary",
            made_at=now - 69 * DAY,
        )
        ingest.store(db, report, now - 69 * DAY)
        sequence += 1
        report, _, _ = signed(secret, kit_id, sequence, health_body(kit_id, temp_c=temp), made_at=now - 1)
        ingest.store(db, report, now - 1)
    retention.prune(db, now, 30, 730)


def _visible(page: str) -> str:
    body = page.split("<body>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(svg|style)\b.*?</\1>", " ", body, flags=re.S)))


def _english_labels() -> list[str]:
    found = []
    for key, text in texts("hub", "en").items():
        if key.startswith(MAIN_LABELS):
            found += [part.strip(" .:()") for part in re.split(r"\{[a-z_]+\}", text) if len(part.strip(" .:()")) >= 4]
    return found


def test_dashboard_in_chinese_and_english(hub_db, hub_client, clock):
    _county(hub_db, clock.now)
    _signed_in(hub_client, hub_db, clock)
    english = hub_client.get("/kits/kit-2")
    assert english.headers["content-language"] == "en" and "Day by day" in english.text
    assert "The processor is at 82.0 °C." in english.text and "处理器" not in _visible(english.text)
    zh = hub_client.get("/kits/kit-2?lang=zh")
    assert zh.status_code == 200 and zh.headers["content-language"] == "zh" and '<html lang="zh">' in zh.text
    text = _visible(zh.text)
    assert "按天统计" in text and "处理器温度为 82.0 °C。" in text and "严重" in text and "保存为新版本" in text
    leaks = [label for label in _english_labels() if label in text]
    assert not leaks, f"English labels on the Chinese kit page: {leaks}"
    fleet = hub_client.get("/")  # the cookie remembers the choice
    assert fleet.headers["content-language"] == "zh"
    text = _visible(fleet.text)
    assert "设备总览：2 台" in text and "最近报告" in text and "退出登录" in text
    assert not [label for label in _english_labels() if label in text]
    for status in ("ok", "warning", "critical", "silent"):
        assert f">{status}<" not in fleet.text
    assert hub_client.get("/?lang=en").headers["content-language"] == "en"
    with httpx.Client(
        base_url=str(hub_client.base_url), timeout=20, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    ) as browser_like:
        signin = browser_like.get("/signin")
        assert signin.headers["content-language"] == "zh" and "用户名" in signin.text and "User name" not in signin.text
        missing = browser_like.get("/kits/nope", headers={"Accept": "text/html"})
        assert missing.status_code == 303  # strangers are sent to sign in before anything is looked up


def test_kit_page_charts_days_from_heartbeats_summaries_and_pruned_days(hub_db, hub_client, clock):
    _county(hub_db, clock.now)
    _signed_in(hub_client, hub_db, clock)
    days = retention.daily(hub_db, "kit-1", clock.now - 730 * DAY)
    assert len(days) == 62  # 60 days of heartbeats (30 of them pruned into kit_days), the summary's day, today
    assert days[0]["cpu_temp_c"] == 59.0  # the summary the kit folded offline: its day's highest
    page = hub_client.get("/kits/kit-1").text
    daily = page.split("Day by day", 1)[1]
    assert daily.count("<polyline") == 3 and daily.count(",") > 3 * 60  # a point per day in three charts
    assert days[0]["day"] in daily and "Synced this month: no readings yet" in daily


@pytest.mark.browser
def test_kit_page_in_chinese_on_a_laptop(hub_settings, hub_db, hub_live, clock):
    if hub_db.backend != "sqlite":
        pytest.skip("the pages are the same on both backends; one browser run is enough")

    _county(hub_db, clock.now)
    password = technicians.ensure_first(hub_db, clock.now)
    technicians.add(hub_db, "technician", password + "-changed", clock.now)
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="zh-CN", java_script_enabled=False
        )
        page = context.new_page()
        page.goto(hub_live.url + "/signin")
        assert page.locator("h1").inner_text() == "登录"  # Accept-Language from the browser's locale
        page.fill("input[name=username]", "technician")
        page.fill("input[name=password]", password + "-changed")
        page.click("button")
        page.goto(hub_live.url + "/kits/kit-2")
        assert page.locator("svg.chart").count() == 8
        assert "按天统计" in page.locator("main").first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        _save(page, "hub-kit-zh.png")
