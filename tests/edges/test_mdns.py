"""The mDNS edge with real zeroconf bound to 127.0.0.1 only (no multicast leaves the machine)."""

from __future__ import annotations

import time

import pytest

from appliance.edges import mdns
from tests.conftest import loopback_advertisement

LOOPBACK = ["127.0.0.1"]
WAIT_S = 5


def _ad(school: str = "Hill School", **txt: str) -> mdns.Advertisement:
    return loopback_advertisement(school, **txt)


def _wait(condition, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s} s")


@pytest.fixture
def advertiser(quick_mdns):
    advertiser = mdns.Advertiser(LOOPBACK)
    yield advertiser
    advertiser.stop()


def test_mdns_instance_name_fits_63_bytes_with_room_for_a_suffix():
    assert mdns.instance_name("Hill School") == "tpkit — Hill School"
    long = mdns.instance_name("山区教学点" * 20)
    assert len(long.encode()) <= 59 and long.startswith("tpkit — 山区")
    assert "." not in mdns.instance_name("St. Mary's")


def test_mdns_advertiser_is_found_by_the_browser_with_its_txt(advertiser):
    advertiser.start(_ad(school="Hill School 学校"))
    with mdns.Browser(mdns.KIT_TYPE, LOOPBACK) as browser:
        _wait(lambda: f"tpkit — Hill School 学校.{mdns.KIT_TYPE}" in browser.names())
        found = [f for f in browser.found() if f.name == "tpkit — Hill School 学校"]
    assert len(found) == 1
    kit = found[0]
    assert (kit.addresses, kit.port) == (("127.0.0.1",), 8123)
    assert kit.txt == {"kit_id": "kit-1", "version": "0.1.0", "content": "abc123abc123", "mirror": "0",
                       "school": "Hill School 学校"}
    http = mdns.browse(mdns.HTTP_TYPE, 0.3, LOOPBACK)
    assert any(f.name == "tpkit — Hill School 学校" and f.txt == {"path": "/"} for f in http)


def test_mdns_two_kits_with_one_school_name_get_distinct_names(quick_mdns):
    first, second = mdns.Advertiser(LOOPBACK), mdns.Advertiser(LOOPBACK)
    try:
        first.start(_ad(school="Twin School"))
        second.start(_ad(school="Twin School", kit_id="kit-2"))
        assert first.names[1] == f"tpkit — Twin School.{mdns.KIT_TYPE}"
        assert second.names[1] != first.names[1] and second.names[1].startswith("tpkit — Twin School")
        found = mdns.browse(mdns.KIT_TYPE, 0.5, LOOPBACK)
        twins = {f.txt["kit_id"] for f in found if f.txt.get("school") == "Twin School"}
        assert twins == {"kit-1", "kit-2"}
    finally:
        second.stop()
        first.stop()


def test_mdns_update_announces_new_txt_and_stop_says_goodbye(advertiser):
    advertiser.start(_ad(school="Valley School"))
    full = f"tpkit — Valley School.{mdns.KIT_TYPE}"
    with mdns.Browser(mdns.KIT_TYPE, LOOPBACK) as browser:
        _wait(lambda: full in browser.names())
        advertiser.update(_ad(school="Valley School", content="ffffffffffff"))
        _wait(lambda: any(f.txt.get("content") == "ffffffffffff" for f in browser.found()
                          if f.name == "tpkit — Valley School"))
        advertiser.stop()
        _wait(lambda: full not in browser.names())
    advertiser.stop()  # twice is harmless
