"""Phones' connectivity checks through a real uvicorn: redirected to the kit's home page without an uplink,
an honest 404 with one. The routing tables are a fake /proc tree."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from appliance.services.device.readings import Readings
from appliance.web.app import create_app
from appliance.web.portal_routes import CHECKS
from tests.conftest import LiveServer

ROUTE_HEADER = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
CLASSROOM_ONLY = ROUTE_HEADER + "wlan0\t0004A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
WITH_UPLINK = CLASSROOM_ONLY + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
# A kit that is the access point for its own default route's interface has no uplink either.
DEFAULT_VIA_CLASSROOM = CLASSROOM_ONLY + "wlan0\t00000000\t0104A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
IPV6_DEFAULT = (
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000003 00000000 00000003 usb0\n"
)


def _proc(folder: Path, route: str, ipv6_route: str = "") -> Path:
    (folder / "proc/net").mkdir(parents=True)
    (folder / "proc/net/route").write_text(route)
    (folder / "proc/net/ipv6_route").write_text(ipv6_route)
    return folder


@pytest.mark.parametrize("route", [CLASSROOM_ONLY, DEFAULT_VIA_CLASSROOM])
def test_portal_without_uplink_phones_are_sent_to_the_home_page(kit, tmp_path, route):
    kit.readings = Readings(root=_proc(tmp_path / "machine", route), ap_interface="wlan0")
    with LiveServer(create_app(kit)) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        for path in CHECKS:
            answer = http.get(path, headers={"Host": "connectivitycheck.gstatic.com"})
            assert answer.status_code == 302, path
            assert answer.headers["location"] == f"http://127.0.0.1:{live.port}/"
            assert answer.headers["cache-control"] == "no-store"
        home = http.get("/hotspot-detect.html", headers={"Host": "captive.apple.com"}, follow_redirects=True)
        assert home.status_code == 200 and "Test book" in home.text


@pytest.mark.parametrize("route, ipv6_route", [(WITH_UPLINK, ""), (CLASSROOM_ONLY, IPV6_DEFAULT)])
def test_portal_with_an_uplink_the_kit_does_not_pretend_to_be_the_internet(kit, tmp_path, route, ipv6_route):
    kit.readings = Readings(root=_proc(tmp_path / "machine", route, ipv6_route), ap_interface="wlan0")
    with LiveServer(create_app(kit)) as live, httpx.Client(base_url=live.url, timeout=10) as http:
        for path in CHECKS:
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert "Microsoft" not in answer.text and "Success" not in answer.text
