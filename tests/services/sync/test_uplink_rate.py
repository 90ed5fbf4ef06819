"""A rate cap as a share of the measured uplink: the probe with a fake clock, then the real engine against a real
rsync daemon on loopback, with the loopback interface standing in for the uplink."""

from __future__ import annotations

import datetime as dt

from appliance.files import file_digest
from appliance.services.sync import uplink_rate
from appliance.services.sync.engine import Engine
from appliance.services.sync.uplink_rate import PAYLOAD_PER_WIRE_BYTE, Probe, combined_cap_kbps, share_kbps
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database


def test_uplink_rate_probe_skips_the_ramp_and_measures_the_rest():
    clock, counter = [0.0], [0]
    probe = Probe("wwan0", clock=lambda: clock[0], read_received=lambda interface: counter[0])
    readings = []
    for step in range(14):  # 0.5 s apart; 100 KB/s during the ramp, then 600 KB/s
        clock[0] = step * 0.5
        counter[0] += 50_000 if clock[0] <= uplink_rate.RAMP_S else 300_000
        readings.append(probe.sample())
    done = [r for r in readings if r is not None]
    assert readings.index(done[0]) * 0.5 == uplink_rate.PROBE_S and done[0] == 600_000


def test_uplink_rate_probe_says_nothing_without_counters():
    probe = Probe("gone0", clock=iter(range(100)).__next__, read_received=lambda interface: None)
    assert all(probe.sample() is None for _ in range(20))


def test_uplink_rate_share_and_the_lower_cap_wins():
    assert share_kbps(50, 625_000) == int(312_500 * PAYLOAD_PER_WIRE_BYTE / 1024)  # 5 Mbit/s: ~291 KiB/s of payload
    assert share_kbps(1, 10) == 1  # never 0, which rsync reads as "no cap"
    assert combined_cap_kbps(0, 0) == 0
    assert combined_cap_kbps(200, 0) == 200 and combined_cap_kbps(0, 150) == 150
    assert combined_cap_kbps(200, 150) == 150 and combined_cap_kbps(100, 150) == 100


def test_uplink_rate_sync_measures_then_caps_and_reuses_the_measurement_for_a_day(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("big_en", size_kb=1400)
    mirror.publish()
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    now = [dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.timezone.utc)]
    events = []
    try:
        # Loopback as the "uplink": sync_rate_cap_kbps stands in for the link's speed during the probe.
        settings = kit_settings(
            tmp_path,
            daemon.url,
            mirror,
            sync_rate_cap_kbps=200,
            sync_rate_cap_percent=50,
            uplink_interface="lo",
            sync_yield_kbps=0,
        )
        engine = Engine(settings, open_database(settings), clock=lambda: now[0], on_event=events.append)
        _, result = engine.run()
        measured = engine.runs.recent(1)[0]["uplink_bytes_per_s"]
        caps = [e.text for e in events if e.kind == "cap"]
        assert result.outcome == "ok", result
        # the probe's attempt (killed, no totals from rsync) is counted: the run received at least the whole book
        assert result.bytes_received >= (mirror.folder() / "big_en.zim").stat().st_size
        assert file_digest(settings.content_dir / "big_en.zim")[1] == file_digest(mirror.folder() / "big_en.zim")[1]
        assert measured > 0 and caps == [
            f"uplink measured at {measured / 1024:.0f} KiB/s, 50 % of it: "
            f"{combined_cap_kbps(200, share_kbps(50, measured))} KiB/s"
        ]

        mirror.book("big_en", body="v2", size_kb=100)
        mirror.publish()
        now[0] += dt.timedelta(hours=2)
        events.clear()
        engine.run()
        assert engine.uplink_bps == measured and not [e for e in events if e.kind == "cap"]  # reused, not probed
        assert engine.runs.recent(1)[0]["uplink_bytes_per_s"] is None

        mirror.book("big_en", body="v3", size_kb=100)
        mirror.publish()
        now[0] += dt.timedelta(days=1)
        engine.run()
        assert engine.uplink_bps is None  # a day old: measured again (the small book ended before the probe did)
    finally:
        daemon.stop()


def test_uplink_rate_without_an_uplink_interface_says_the_share_is_not_applied(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("small_en", size_kb=50)
    mirror.publish()
    daemon = RsyncDaemon(mirror.root, tmp_path).start()
    events = []
    try:
        settings = kit_settings(
            tmp_path, daemon.url, mirror, sync_rate_cap_percent=50, uplink_interface="nosuch0", sync_yield_kbps=0
        )
        engine = Engine(settings, open_database(settings), on_event=events.append)
        _, result = engine.run()
    finally:
        daemon.stop()
    assert result.outcome == "ok"
    assert [e.text for e in events if e.kind == "cap"] == [
        "the uplink's speed cannot be measured (not an rsync:// mirror, or no uplink interface): "
        "sync_rate_cap_percent is not applied"
    ]
