"""The kit on the LAN: the content digest, the web app's advertisement and its fallback, discovery."""

from __future__ import annotations

import errno
import hashlib
import logging
import time
from unittest import mock

import httpx
import pytest

from appliance.config import load_settings
from appliance.edges import mdns
from appliance.services.device import lan
from appliance.services.kit import open_kit
from appliance.web.app import create_app
from tests.conftest import LiveServer, make_book

LOOPBACK = ["127.0.0.1"]
WAIT_S = 15  # a deadline: waits end when the kit shows (compiled zeroconf registers in ~1.7 s per service)


def _settings(tmp_path, content_dir, **extra):
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path / "data"),
            "content_dir": str(content_dir),
            "library_scan_interval_s": 0.1,
            "mdns_interfaces": "127.0.0.1",
            "school_name": "River School",
            "kit_id": "kit-river",
            **extra,
        },
    )


def _wait(condition, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout_s} s")


def _has(kit_id: str):
    return lambda kits: any(k.kit_id == kit_id for k in kits)


def _river(found) -> bool:
    return any(f.name == "tpkit — River School" for f in found)


def test_lan_content_digest_is_sha256_of_sorted_name_uuid_pairs(kit):
    books = kit.library.books()
    expected = hashlib.sha256("".join(sorted(f"{b.name}\t{b.uuid}\n" for b in books)).encode()).hexdigest()[:12]
    assert lan.content_digest(books) == expected == lan.content_digest(reversed(books))
    assert lan.content_digest([]) != expected and len(expected) == 12


def test_lan_web_app_advertises_updates_on_library_change_and_withdraws(tmp_path, content_dir, book):
    settings = _settings(tmp_path, content_dir)
    kit = open_kit(settings)
    with mdns.Browser(mdns.KIT_TYPE, LOOPBACK) as browser:
        with LiveServer(create_app(kit)) as server:
            assert httpx.get(server.url + "/").status_code == 200
            (river,) = [f for f in browser.wait(_river, WAIT_S) if f.name == "tpkit — River School"]
            assert river.port == settings.port and river.addresses == ("127.0.0.1",)
            assert river.txt["content"] == lan.content_digest(kit.library.books())
            assert river.txt["kit_id"] == "kit-river" and river.txt["mirror"] == "0"
            make_book(content_dir, "second_book", title="Second")
            _wait(lambda: len(kit.library.books()) == 2)
            digest = lan.content_digest(kit.library.books())

            def new_digest(found):
                return any(f.txt.get("content") == digest for f in found if f.txt.get("kit_id") == "kit-river")

            assert new_digest(browser.wait(new_digest, WAIT_S))
        assert not _river(browser.wait(lambda found: not _river(found), WAIT_S))


def test_lan_one_web_worker_advertises_when_several_share_a_kit(tmp_path, content_dir):
    settings = _settings(tmp_path, content_dir)
    (tmp_path / "data").mkdir()
    kit = open_kit(settings)
    first = lan.LanPresence(settings, kit.library, settings.data_dir)
    second = lan.LanPresence(settings, kit.library, settings.data_dir)
    try:
        assert first.start() is True
        assert second.start() is False
    finally:
        second.stop()
        first.stop()
        kit.close()


def test_lan_disabled_setting_advertises_nothing(tmp_path, content_dir):
    settings = _settings(tmp_path, content_dir, mdns_enabled="false")
    kit = open_kit(settings)
    presence = lan.LanPresence(settings, kit.library, settings.data_dir)
    assert presence.start() is False
    presence.stop()
    kit.close()


def test_lan_failure_to_advertise_is_one_warning_and_the_server_keeps_serving(tmp_path, content_dir, book, caplog):
    kit = open_kit(_settings(tmp_path, content_dir))
    # No real way to make multicast fail on loopback without touching the host's network: patched, as
    # zeroconf raises when the interface cannot join 224.0.0.251.
    no_multicast = OSError(errno.ENODEV, "No such device")
    with (
        caplog.at_level(logging.WARNING, logger="appliance"),
        mock.patch.object(mdns, "Zeroconf", side_effect=no_multicast),
    ):
        with LiveServer(create_app(kit)) as server:
            _wait(lambda: [r for r in caplog.records if r.name == "appliance.services.device.lan"])
            assert httpx.get(server.url + "/").status_code == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("appliance")]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "mdns_interfaces=127.0.0.1" in text and "UDP 5353" in text and "Fix:" in text


def test_lan_discover_finds_an_advertised_kit(tmp_path, content_dir, book):
    settings = _settings(tmp_path, content_dir, school_name="Lake School", kit_id="kit-lake")
    kit = open_kit(settings)
    presence = lan.LanPresence(settings, kit.library, settings.data_dir)
    try:
        presence.start()
        assert presence.advertising.wait(WAIT_S)
        kits = [k for k in lan.discover(settings, WAIT_S, _has("kit-lake")) if k.kit_id == "kit-lake"]
    finally:
        presence.stop()
        kit.close()
    assert len(kits) == 1
    assert kits[0].school == "Lake School" and kits[0].urls == [f"http://127.0.0.1:{settings.port}/"]
    assert kits[0].content == lan.content_digest(kit.library.books()) and kits[0].mirror_port == 0


def test_lan_advertisement_refuses_loopback_only_hosts_in_production(tmp_path, content_dir):
    settings = _settings(tmp_path, content_dir, mdns_interfaces="all", host="0.0.0.0")
    with mock.patch.object(mdns, "lan_addresses", return_value=[]):  # a host whose only address is loopback
        with pytest.raises(lan.LanError, match="no IPv4 address other than loopback"):
            lan.advertisement(settings, "0" * 12)


def test_lan_advertises_only_where_the_web_server_listens():
    from appliance.config import load_settings
    from appliance.services.device.lan import advertise_interfaces, interfaces

    on_loopback = load_settings(environ={"TPKIT_HOST": "127.0.0.1"})
    assert advertise_interfaces(on_loopback) == ["127.0.0.1"]  # ./build.sh run never speaks mDNS on the LAN
    assert interfaces(on_loopback) is None  # but `tpkit discover` listens everywhere
    everywhere = load_settings(environ={"TPKIT_HOST": "0.0.0.0"})
    assert advertise_interfaces(everywhere) is None
    chosen = load_settings(environ={"TPKIT_HOST": "0.0.0.0", "TPKIT_MDNS_INTERFACES": "192.168.4.1"})
    assert advertise_interfaces(chosen) == ["192.168.4.1"]


def test_lan_discover_reads_hostile_numbers_as_none(tmp_path, content_dir):
    """A device on the LAN advertising `mirror=²` (str.isdigit() is true for it, int() refuses it) and a channel
    sequence of 30 digits: before, discovering it raised ValueError (the class of fault the endpoint fuzzer found,
    issue 14); now the kit is listed with no mirror and those channels left out (typed_numbers.whole_number)."""
    from tests.conftest import loopback_advertisement

    settings = _settings(tmp_path, content_dir)
    ad = loopback_advertisement("Odd School", kit_id="kit-odd", mirror="²", channels=f"a:²,b:{'9' * 30},c:3")
    advertiser = mdns.Advertiser(["127.0.0.1"])
    advertiser.start(ad)
    try:
        kits = [k for k in lan.discover(settings, WAIT_S, _has("kit-odd")) if k.kit_id == "kit-odd"]
    finally:
        advertiser.stop()
    assert len(kits) == 1 and kits[0].mirror_port == 0 and kits[0].channels == {"c": 3}
