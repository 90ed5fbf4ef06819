"""A kit as a peer mirror: kit A syncs from the county, serves its mirror tree with the real `tpkit mirror serve`
(an rsync daemon on 127.0.0.1 with content-sync/rsyncd-kit.conf) and advertises it with zeroconf on 127.0.0.1;
kit B finds it and syncs from it, verifying everything against the county's signatures."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from appliance.config import as_environment
from appliance.edges import mdns
from appliance.files import file_digest
from appliance.paths import Paths
from appliance.services.device import lan
from appliance.services.sync import engine as sync_service, peers
from tests.conftest import free_port
from tests.mirror import RsyncDaemon, kit_settings, open_database

LOOPBACK = "127.0.0.1"
# Unique to this test process: another run on the same machine (a second checkout's tests, a chroot CI sharing the
# network) advertises its own kit A on 127.0.0.1 too, and must not be taken for this one.
KIT_A = f"kit-a-{os.getpid()}"


def sha(path):
    return file_digest(path)[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection((LOOPBACK, port), timeout=1).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(
                    f"tpkit mirror serve did not listen: {process.stderr.read() if process.stderr else ''}"
                ) from exc
            time.sleep(0.05)


class PeerKit:
    """Kit A: synced from the county, serving its tree through `tpkit mirror serve`, advertised on 127.0.0.1."""

    def __init__(self, tmp_path, mirror, uplink_url):
        self.settings = kit_settings(
            tmp_path / "a",
            uplink_url,
            mirror,
            kit_id=KIT_A,
            school_name="Hill School",
            mirror_port=free_port(),
            host=LOOPBACK,
            mdns_interfaces=LOOPBACK,
        )
        self.db = open_database(self.settings)
        self.paths = Paths.from_settings(self.settings)
        self.process = None
        self.advertiser = mdns.Advertiser([LOOPBACK])

    def sync(self):
        return sync_service.Engine(self.settings, self.db, peers={}).run()

    def serve(self):
        env = {**os.environ, **as_environment(self.settings), "TPKIT_LOG_LEVEL": "error"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "mirror", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        wait_for_port(self.settings.mirror_port, self.process)
        ad = lan.advertisement(self.settings, "digest", peers.advertised_channels(self.paths))
        self.advertiser.start(ad)
        return self

    def stop(self):
        self.advertiser.stop()
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process.stderr.close()


def second_kit(tmp_path, mirror, uplink_url, name="b"):
    settings = kit_settings(
        tmp_path / name,
        uplink_url,
        mirror,
        kit_id=f"kit-{name}",
        mdns_enabled=True,
        mdns_interfaces=LOOPBACK,
        # On a fresh machine (compiled zeroconf) a browse first hears kit A after ~1.2 s; 1.5 s missed it once there.
        sync_peer_browse_s=4.0,
    )
    return settings, open_database(settings)


@pytest.fixture
def county(tmp_path, mirror):
    mirror.book("water_en")
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def peer(tmp_path, mirror, county):
    kit = PeerKit(tmp_path, mirror, county.url)
    plan, result = kit.sync()
    assert result.outcome == "ok" and result.added == 2
    yield kit.serve()
    kit.stop()


def test_peer_mirror_tree_is_hard_links_and_the_kept_signed_index(peer, mirror, capsys):
    tree = peer.paths.mirror_dir / "primary-en"
    assert sorted(p.name for p in tree.iterdir()) == ["index.json", "index.json.minisig", "moon_en.zim", "water_en.zim"]
    assert os.path.samefile(tree / "water_en.zim", peer.settings.content_dir / "water_en.zim")
    assert (tree / "index.json").read_bytes() == (mirror.folder() / "index.json").read_bytes()
    assert peers.advertised_channels(peer.paths) == "primary-en:1"
    from appliance.cli import main

    main(["discover", "--timeout-s", "15", "--kit-id", KIT_A, "--mdns-interfaces", LOOPBACK])
    assert f"peer mirror on port {peer.settings.mirror_port}: primary-en (sequence 1)" in capsys.readouterr().out


def test_peer_mirror_kit_b_syncs_from_kit_a_while_the_uplink_is_down(tmp_path, mirror, county, peer):
    found = lan.discover(second_kit(tmp_path, mirror, county.url, "probe")[0], 15, lan.with_kit_id(KIT_A))
    (kit_a,) = [k for k in found if k.kit_id == KIT_A]
    assert kit_a.mirror_port == peer.settings.mirror_port and kit_a.channels == {"primary-en": 1}
    settings, db = second_kit(tmp_path, mirror, county.url)
    county.stop()  # the uplink is gone: everything must come from the peer
    events = []
    plan, result = sync_service.Engine(settings, db, on_event=events.append).run()
    assert result.outcome == "ok" and result.added == 2
    assert sha(settings.content_dir / "water_en.zim") == sha(mirror.folder() / "water_en.zim")
    assert result.bytes_received == 0 and "from peer kits" in result.detail  # LAN bytes are not the uplink's
    assert any(e.kind == "peer" and f":{peer.settings.mirror_port}/tpkit" in e.text for e in events)


def test_peer_mirror_serving_a_tampered_book_is_refused_and_the_uplink_used(tmp_path, mirror, county, peer):
    served = peer.paths.mirror_dir / "primary-en" / "water_en.zim"
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered = served.with_name("tampered")
    tampered.write_bytes(bytes(data))
    os.replace(tampered, served)  # a new file: kit A's own library keeps its good copy
    assert sha(peer.settings.content_dir / "water_en.zim") == sha(mirror.folder() / "water_en.zim")
    settings, db = second_kit(tmp_path, mirror, county.url)
    events = []
    plan, result = sync_service.Engine(settings, db, on_event=events.append).run()
    assert result.outcome == "ok" and result.added == 2
    assert sha(settings.content_dir / "water_en.zim") == sha(mirror.folder() / "water_en.zim")
    refused = [e.text for e in events if e.kind == "peer" and "refused" in e.text]
    assert refused and "channel.package_mismatch" in refused[0] and "refused" in result.detail
    assert result.bytes_received > 0  # the uplink supplied what the peer could not


def test_peer_mirror_with_an_older_sequence_is_not_used(tmp_path, mirror, county, peer):
    mirror.book("water_en", body="<p>v2</p>")
    mirror.publish()  # the county moves to sequence 2; kit A still serves 1
    settings, db = second_kit(tmp_path, mirror, county.url)
    sync_service.Engine(settings, db, peers={}).run()  # B has sequence 2 from the county
    engine = sync_service.Engine(settings, db)
    plan, _ = engine.preview()
    assert engine.peers == {} and plan.steps == ()  # A's sequence 1 is older: not a candidate


def test_peer_mirror_web_app_advertises_the_mirror_and_its_channels(tmp_path, mirror, county):
    """The kit's web server (LanPresence) puts mirror=<port> and channels=<name:sequence> in _tpkit._tcp and
    announces a new sequence after a sync."""
    from appliance.services.kit import open_kit
    from appliance.web.app import create_app
    from tests.conftest import LiveServer

    kit_a = PeerKit(tmp_path, mirror, county.url)
    kit_a.sync()
    settings = dataclasses.replace(kit_a.settings, mdns_enabled=True, library_scan_interval_s=0.1)  # quick re-announce
    kit = open_kit(settings)
    with mdns.Browser(mdns.KIT_TYPE, [LOOPBACK]) as browser, LiveServer(create_app(kit)):

        def txt():
            return next((f.txt for f in browser.found() if f.txt.get("kit_id") == KIT_A), {})

        deadline = time.monotonic() + 10
        while txt().get("channels") != "primary-en:1" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert txt()["mirror"] == str(settings.mirror_port) and txt()["channels"] == "primary-en:1"
        mirror.book("water_en", body="<p>v2</p>")
        mirror.publish()
        kit_a.sync()
        deadline = time.monotonic() + 10
        while txt().get("channels") != "primary-en:2" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert txt()["channels"] == "primary-en:2"


def test_peer_mirror_serving_a_changed_index_is_refused_and_the_uplink_used(tmp_path, mirror, county, peer):
    index = peer.paths.mirror_dir / "primary-en" / "index.json"
    forged = index.read_text().replace('"sequence": 1', '"sequence": 9')  # signature no longer matches
    changed = index.with_name("forged")
    changed.write_text(forged)
    os.replace(changed, index)
    settings, db = second_kit(tmp_path, mirror, county.url)
    events = []
    plan, result = sync_service.Engine(settings, db, on_event=events.append).run()
    assert result.outcome == "ok" and result.added == 2
    refused = [e.text for e in events if e.kind == "peer" and "refused" in e.text]
    assert refused and "its index: channel.bad_signature" in refused[0]
    assert sync_service.Engine(settings, db).sequences.last("primary-en") == 1  # the forged 9 was never recorded
