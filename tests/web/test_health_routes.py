"""GET /-/health, GET /metrics and the admin page's health section on a real uvicorn, on a fake sick machine."""

from __future__ import annotations

import re

import httpx
import pytest

from appliance.services.device.readings import Readings
from appliance.services.people import auth
from appliance.web.app import create_app
from tests.conftest import LiveServer
from tests.machine import SICK_COMMANDS, fake_commands, fake_root

# One sample line of the text exposition format 0.0.4: name, optional {labels}, a number.
SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
    r"(-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$"
)


def parse_metrics(text: str) -> dict[str, float]:
    """Every sample as {'name{labels}': value}; fails on any line that is not HELP, TYPE or a sample."""
    assert text.endswith("\n")
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter") and name not in typed
            typed.add(name)
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        assert match.group(1) in typed, f"sample before its TYPE: {line!r}"
        samples[line.rsplit(" ", 1)[0]] = float(match.group(4))
    return samples


@pytest.fixture
def sick(kit, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path / "bin", {k: v for k, v in SICK_COMMANDS.items() if k != "iw"}))
    kit.readings = Readings(root=fake_root(tmp_path / "root"))
    with LiveServer(create_app(kit)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def test_health_route_is_200_with_status_in_the_body(sick):
    response = sick.get("/-/health")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    snap = response.json()
    assert snap["status"] == "critical"
    assert {p["code"] for p in snap["problems"]} >= {"health.under_voltage", "health.hot"}
    assert snap["wifi_clients"] == "not available"  # no iw on this PATH
    assert snap["throttled"]["since_boot"]["under_voltage"] is True
    assert snap["boot_count"] == 1
    assert sick.get("/-/health").json()["requests_served"] > snap["requests_served"] >= 1


def test_health_metrics_parse_and_omit_what_is_not_available(sick):
    response = sick.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse_metrics(response.text)
    assert samples["tpkit_up"] == 1
    assert samples['tpkit_info{version="0.1.0",kit_id="tpkit-dev"}'] == 1
    assert samples["tpkit_cpu_temperature_celsius"] == 81.5
    assert samples['tpkit_under_voltage{when="now"}'] == 1 and samples['tpkit_under_voltage{when="since_boot"}'] == 1
    assert samples['tpkit_books{state="served"}'] == 1 and samples['tpkit_books{state="damaged"}'] == 0
    assert samples["tpkit_uptime_seconds"] == 3725.5
    assert samples["tpkit_requests_total"] >= 1
    ratios = [v for k, v in samples.items() if k.startswith("tpkit_filesystem_used_ratio{path=")]
    assert len(ratios) == 1 and 0 < ratios[0] < 1
    assert "tpkit_wifi_clients" not in response.text
    assert samples["tpkit_memory_available_bytes"] == 2940000 * 1024 and samples["tpkit_oom_kills_total"] == 0
    assert samples["tpkit_swap_used_bytes"] == 4096 * 1024
    assert samples['tpkit_disk_written_bytes_total{mount="/var/lib/tpkit",device="mmcblk0p3"}'] == 2048000 * 512
    assert samples['tpkit_unit_written_bytes_total{unit="tpkit-web.service"}'] == 52432896
    assert samples['tpkit_unit_memory_peak_bytes{unit="tpkit-web.service"}'] == 209715200
    # a unit's reading that its kernel lacks (memory.peak before 5.19) is left out, not drawn as 0
    assert 'tpkit_unit_memory_peak_bytes{unit="tpkit-usb-import@sda1.service"}' not in samples
    assert 'tpkit_unit_memory_bytes{unit="cron.service"}' not in samples


def test_health_metrics_escape_label_values():
    from appliance.web.metrics import _family

    assert _family("x", "gauge", "h", [({"path": 'a"b\\c\nd'}, 1)])[2] == 'x{path="a\\"b\\\\c\\nd"} 1'


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Health", "Needs attention now", "81.5 °C", "5.1 V 3 A"]),
        ("zh", ["运行状况", "需要立即处理", "电源供电不足", "官方 5.1 V 3 A"]),
    ],
)
def test_health_admin_page_shows_status_and_fixes(sick, kit, lang, words):
    password = auth.ensure_first_admin(kit.accounts)
    token = re.search(r'name="csrf" value="([^"]+)"', sick.get("/admin/signin").text).group(1)
    sick.post("/admin/signin", data={"csrf": token, "username": "admin", "password": password})
    page = sick.get(f"/admin?lang={lang}")
    assert page.status_code == 200
    for word in words:
        assert word in page.text
