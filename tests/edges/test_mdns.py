"""The mDNS edge with real zeroconf bound to 127.0.0.1 only (no multicast leaves the machine)."""

from __future__ import annotations

import threading

import pytest

from appliance.edges import mdns
from tests.conftest import loopback_advertisement

LOOPBACK = ["127.0.0.1"]
# A deadline, not a duration: each wait returns as soon as the instance shows. Installed zeroconf is compiled and
# keeps RFC 6762's timing (probes 250 ms apart, a first query after 20-120 ms): a register takes ~1.7 s, a browse
# finds a kit after ~0.2-1.2 s; 15 s leaves room for a loaded machine.
WAIT_S = 15


def _ad(school: str = "Hill School", **txt: str) -> mdns.Advertisement:
    return loopback_advertisement(school, **txt)


def _named(name: str):
    return lambda found: any(f.name == name for f in found)


def _twins(found) -> set[str]:
    return {f.txt["kit_id"] for f in found if f.txt.get("school") == "Twin School"}


@pytest.fixture
def advertiser():
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
        found = [
            f for f in browser.wait(_named("tpkit — Hill School 学校"), WAIT_S) if f.name == "tpkit — Hill School 学校"
        ]
    assert len(found) == 1
    kit = found[0]
    assert (kit.addresses, kit.port) == (("127.0.0.1",), 8123)
    assert kit.txt == {
        "kit_id": "kit-1",
        "version": "0.1.0",
        "content": "abc123abc123",
        "mirror": "0",
        "school": "Hill School 学校",
    }
    http = mdns.browse(mdns.HTTP_TYPE, WAIT_S, LOOPBACK, enough=_named("tpkit — Hill School 学校"))
    assert any(f.name == "tpkit — Hill School 学校" and f.txt == {"path": "/"} for f in http)


def test_mdns_two_kits_with_one_school_name_get_distinct_names():
    """The second kit hears the first one's announcement of the name while it probes, and takes "<name>-2".

    Both kits live on this one host, so the first kit keeps announcing (as after a library change) while the second
    probes: its answer to a probe goes by unicast (RFC 6762 §5.4, QU probes) to 127.0.0.1:5353, which the kernel
    hands to only one of the sockets sharing that port, often its own. On a LAN the kits are two hosts."""
    first, second = mdns.Advertiser(LOOPBACK), mdns.Advertiser(LOOPBACK)
    probing = threading.Thread(target=second.start, args=(_ad(school="Twin School", kit_id="kit-2"),))
    try:
        first.start(_ad(school="Twin School"))
        probing.start()
        while probing.is_alive():  # each update announces three times, 225 ms apart; a probe takes ~1.2 s
            first.update(_ad(school="Twin School"))
        probing.join()
        assert first.names[1] == f"tpkit — Twin School.{mdns.KIT_TYPE}"
        assert second.names[1] != first.names[1] and second.names[1].startswith("tpkit — Twin School")
        found = mdns.browse(mdns.KIT_TYPE, WAIT_S, LOOPBACK, enough=lambda found: len(_twins(found)) == 2)
        assert _twins(found) == {"kit-1", "kit-2"}
    finally:
        probing.join(WAIT_S)
        second.stop()
        first.stop()


def test_mdns_update_announces_new_txt_and_stop_says_goodbye(advertiser):
    advertiser.start(_ad(school="Valley School"))
    valley = _named("tpkit — Valley School")
    with mdns.Browser(mdns.KIT_TYPE, LOOPBACK) as browser:
        assert valley(browser.wait(valley, WAIT_S))
        advertiser.update(_ad(school="Valley School", content="ffffffffffff"))

        def updated(found):
            return any(f.txt.get("content") == "ffffffffffff" for f in found if f.name == "tpkit — Valley School")

        assert updated(browser.wait(updated, WAIT_S))
        advertiser.stop()
        assert not valley(browser.wait(lambda found: not valley(found), WAIT_S))
    advertiser.stop()  # twice is harmless
