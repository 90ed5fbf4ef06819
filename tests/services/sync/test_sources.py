"""The one interface for a source (services/sync/sources/): the county mirror over a real rsync daemon on loopback,
a stick folder written by `tpkit export`, and a peer kit's mirror tree served by rsync with the shipped
rsyncd-kit.conf. Each yields the same verified index and books; each says what its bytes and faults mean."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, check_package_file
from appliance.edges import transfer
from appliance.errors import SyncError
from appliance.files import file_digest
from appliance.paths import Paths
from appliance.services.sync import channel, engine as sync_service, peers, stick_export as export
from appliance.services.sync.events import Event
from appliance.services.sync.limits import Limits
from appliance.services.sync.plan import Subscription, make_plan
from appliance.services.sync.route import Route
from appliance.services.sync.sources import Source
from appliance.services.sync.sources.mirror import MirrorSource
from appliance.services.sync.sources.peer import PEER_FAULTS, PeerSource
from appliance.services.sync.sources.stick import StickSource
from appliance.services.sync.staging import Staging
from appliance.services.sync.transfers import Transfers
from appliance.storage.installed_packages import InstalledPackages
from appliance.storage.sync_runs import SyncRuns
from tests.conftest import free_port
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 10
NO_ONE_LISTENS = "rsync://127.0.0.1:9/tpkit"  # the discard port: refused at once on loopback


class Roads:
    """The county's daemon; kit A synced from it, with its peer-mirror tree served by rsync; a stick kit A wrote;
    kit B, with nothing yet, whose transfers and staging the sources are asked through."""

    def __init__(self, tmp_path: Path, mirror: Mirror) -> None:
        self.tmp_path, self.mirror = tmp_path, mirror
        self.county = RsyncDaemon(mirror.root, tmp_path).start()
        self.a = kit_settings(tmp_path / "a", self.county.url, mirror, mirror_port=free_port())
        self.db_a = open_database(self.a)
        sync_service.Engine(self.a, self.db_a, peers={}).run()  # also refreshes kit A's mirror tree
        self.stick = tmp_path / "stick"
        self.stick.mkdir()
        engine = sync_service.Engine(self.a, self.db_a, peers={})
        kept, _ = engine.kept_channels()
        export.export_to_stick(engine.paths, self.stick, kept, [])
        self.peer_process = _serve_tree(engine.paths.mirror_dir, self.a.mirror_port)
        self.b = kit_settings(tmp_path / "b", self.county.url, mirror)
        self.db_b = open_database(self.b)
        self.events: list[Event] = []

    def sources(self) -> dict[str, Source]:
        return {
            "mirror": MirrorSource(self.county.url),
            "stick": StickSource(str(self.stick / "tpkit")),
            "peer": PeerSource(f"rsync://{LOOPBACK}:{self.a.mirror_port}/{peers.MODULE}"),
        }

    def transfers(self) -> Transfers:
        limits = Limits(self.b, lambda: dt.datetime.now(dt.timezone.utc), SyncRuns(self.db_b), windows_apply=True)
        program = transfer.wrapper()
        assert program is not None
        return Transfers(
            program,
            self.b,
            limits,
            free_bytes=lambda: 2**40,
            on_event=self.events.append,
            record_uplink=lambda bytes_per_s: None,
        )

    def staging(self) -> Staging:
        return Staging(Paths.from_settings(self.b), InstalledPackages(self.db_b), self.events.append)

    def stop(self) -> None:
        os.killpg(self.peer_process.pid, 9)
        self.peer_process.wait()
        self.county.stop()


def _serve_tree(tree: Path, port: int) -> subprocess.Popen:
    """What `tpkit mirror serve` becomes: rsync --daemon with rsyncd-kit.conf over the tree, on loopback."""
    argv = [
        "rsync",
        "--daemon",
        "--no-detach",
        f"--config={peers.rsyncd_config()}",
        f"--port={port}",
        f"--address={LOOPBACK}",
        f"--dparam=uid={os.getuid()}",
        f"--dparam=gid={os.getgid()}",
    ]
    process = subprocess.Popen(
        argv,
        env={**os.environ, "TPKIT_MIRROR_DIR": str(tree)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            socket.create_connection((LOOPBACK, port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("the peer's rsync daemon did not listen") from None
            time.sleep(0.05)


@pytest.fixture
def mirror(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("water_en")
    mirror.book("moon_en", title="Moon")
    mirror.publish()
    return mirror


@pytest.fixture
def roads(tmp_path, mirror):
    built = Roads(tmp_path, mirror)
    yield built
    built.stop()


def water(index):
    return next(p for p in index.packages if p["id"] == "water_en")


def test_sources_each_yield_the_same_verified_index(roads, mirror, tmp_path):
    keys = channel.trusted_keys(str(mirror.pub))
    for kind, source in roads.sources().items():
        stage = tmp_path / "stage" / kind
        stage.mkdir(parents=True)
        source.fetch_index(roads.transfers(), "primary-en", stage)
        index = channel.verify_index(stage, keys, None)
        assert index.channel == "primary-en" and index.sequence == 1, kind
        for name in (INDEX_NAME, SIGNATURE_NAME):  # the signed pair passed on unchanged by every road
            assert (stage / name).read_bytes() == (mirror.folder() / name).read_bytes(), (kind, name)


def test_sources_each_fetch_a_book_that_matches_the_signed_index(roads, mirror):
    index = channel.read_index(mirror.folder())
    for kind, source in roads.sources().items():
        transfers, stage = roads.transfers(), roads.tmp_path / "books" / kind
        package = water(index)
        dest = channel.package_path(stage, package)
        source.fetch_package(
            transfers, "primary-en", package, dest, basis=None, package_id="water_en", total_bytes=package["size_bytes"]
        )
        check_package_file(stage, package)  # size and SHA-256 as signed
        assert transfers.received[kind] > 0, kind  # as rsync counts them (a local copy: its protocol bytes only)
        assert transfers.uplink_bytes == (transfers.received[kind] if source.uplink else 0), kind


def test_sources_say_what_their_bytes_and_faults_mean(roads):
    sources = roads.sources()
    mirror_source, stick, peer = sources["mirror"], sources["stick"], sources["peer"]
    assert mirror_source.uplink and not stick.uplink and not peer.uplink  # budget, windows, yielding, rate probe
    # issue 21: what each carries, as the plan asks it (a mirror: everything its index lists, without looking)
    on_a = {"index.json", "index.json.minisig", "moon_en.zim", "water_en.zim"}
    assert mirror_source.carried("primary-en") is None
    assert stick.carried("primary-en") == on_a and peer.carried("primary-en") == on_a
    assert PeerSource(NO_ONE_LISTENS).carried("primary-en") == frozenset()  # not listed: nothing is counted on
    assert mirror_source.carries_all and not stick.carries_all and peer.carries_all
    assert mirror_source.lan_stand_ins and not MirrorSource("/srv/county").lan_stand_ins and not stick.lan_stand_ins
    with pytest.raises(SyncError) as gone:
        PeerSource(NO_ONE_LISTENS).fetch_index(roads.transfers(), "primary-en", roads.tmp_path / "nowhere")
    assert gone.value.code == "sync.transfer_failed" and gone.value.code in PEER_FAULTS
    assert peer.falls_back(gone.value, "index") and peer.falls_back(gone.value, "package")
    assert not mirror_source.falls_back(gone.value, "package") and not stick.falls_back(gone.value, "index")
    window = SyncError("closed", code="sync.window_closed", fix="wait")
    assert peer.falls_back(window, "index") and not peer.falls_back(window, "package")  # the kit's limits stop all
    assert stick.summary(0) == "From a USB stick: 0.0 MB copied." and peer.summary(0) == ""
    assert "from peer kits on the LAN" in peer.summary(2**20) and mirror_source.summary(2**20) == ""


def test_sources_a_stick_has_only_the_books_its_kit_exported(roads, mirror):
    index = channel.read_index(mirror.folder())
    stick = roads.sources()["stick"]
    assert {p["file"] for p in index.packages} <= (stick.carried("primary-en") or set())
    (roads.stick / "tpkit" / "primary-en" / "moon_en.zim").unlink()
    moon = next(p for p in index.packages if p["id"] == "moon_en")
    assert moon["file"] not in (stick.carried("primary-en") or set())
    assert roads.sources()["mirror"].carried("primary-en") is None  # asked without looking


def test_sources_route_refuses_a_bad_stand_in_and_falls_back_to_the_primary(roads, mirror):
    keys = channel.trusted_keys(str(mirror.pub))
    sources = roads.sources()
    route = Route(sources["mirror"], roads.events.append)
    route.add_stand_ins({"primary-en": [PeerSource(NO_ONE_LISTENS), sources["peer"]]})
    transfers, staging = roads.transfers(), roads.staging()

    def index_from(source):
        source.fetch_index(transfers, "primary-en", staging.folder("primary-en"))
        return channel.verify_index(staging.folder("primary-en"), keys, None)

    index = route.index("primary-en", index_from)
    assert route.source("primary-en") == sources["peer"] and len(route.notes) == 1
    assert f"peer {NO_ONE_LISTENS} refused for primary-en (its index: sync.transfer_failed)" in route.notes[0]
    served = Path(roads.a.data_dir) / "mirror" / "primary-en" / "water_en.zim"
    tampered = bytearray(served.read_bytes())
    tampered[len(tampered) // 2] ^= 0xFF
    served.with_name("tampered").write_bytes(bytes(tampered))
    os.replace(served.with_name("tampered"), served)  # a new file: kit A's own library keeps its good copy
    step = make_plan([index], {}, Subscription(("primary-en",))).steps
    step = next(s for s in step if s.package_id == "water_en")
    staged = route.package(
        "primary-en",
        "water_en",
        lambda source: staging.book(transfers, source, step),
        clean=lambda: staging.discard_book(step),
    )
    assert file_digest(staged.path)[1] == water(index)["sha256"]
    assert route.source("primary-en") == sources["mirror"] and "water_en: channel.package_mismatch" in route.notes[1]
    assert transfers.uplink_bytes > 0 and transfers.received["peer"] > 0  # the book came again over the uplink
    assert [e.kind for e in roads.events].count("peer") == 2


def test_sources_windows_apply_to_the_uplink_only(roads):
    monday_10 = dt.datetime(2026, 3, 2, 10, 0).astimezone()
    closed = kit_settings(roads.tmp_path / "b", roads.county.url, roads.mirror, sync_windows="Sat-Sun")
    with pytest.raises(SyncError) as caught:
        sync_service.Engine(closed, roads.db_b, clock=lambda: monday_10, peers={}).run()
    assert caught.value.code == "sync.outside_window"
    stick = StickSource(str(roads.stick / "tpkit"))
    _, result = sync_service.Engine(closed, roads.db_b, clock=lambda: monday_10, source=stick).run()
    assert result.outcome == "ok" and result.added == 2 and result.bytes_received == 0
    assert "From a USB stick" in result.detail


def test_sources_a_new_source_is_one_class(tmp_path, mirror):
    """What the county's shared lessons (next) will need: a class with its flags; the engine runs it unchanged."""
    import dataclasses

    from appliance.services.sync.sources.tree import ChannelTree

    @dataclasses.dataclass(frozen=True)
    class SharedLessons(ChannelTree):
        kind = "lessons"
        uplink = False

        def summary(self, received_bytes: int) -> str:
            return "From the county's shared lessons."

    settings = kit_settings(tmp_path / "c", "", mirror, sync_windows="Sat-Sun")  # not the uplink: no window
    monday_10 = dt.datetime(2026, 3, 2, 10, 0).astimezone()
    engine = sync_service.Engine(
        settings, open_database(settings), clock=lambda: monday_10, source=SharedLessons(str(mirror.root))
    )
    plan, result = engine.run()
    assert result.outcome == "ok" and result.added == 2 and result.bytes_received == 0
    assert result.detail.endswith("From the county's shared lessons.")
    assert engine.peers == {}  # no stand-ins for it: mDNS is not asked
