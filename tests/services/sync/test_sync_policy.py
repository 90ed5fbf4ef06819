"""Sync policy with a fake clock: time windows (`sync_windows`) and the monthly byte budget."""

from __future__ import annotations

import datetime as dt

import pytest

from appliance.errors import SyncError
from appliance.services.sync import engine as sync_service
from appliance.services.sync.policy import in_window, next_opening, parse_windows
from tests.mirror import Mirror, RsyncDaemon, kit_settings, open_database, staged_files

WINDOWS = "Mon-Fri 16:00-07:00, Sat-Sun"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in the kit's local zone in the week of Monday 2 March 2026 (day 0 = that Monday)."""
    return (dt.datetime(2026, 3, 2, hour, minute) + dt.timedelta(days=day)).astimezone()


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (local(0, 17), True),
        (local(1, 6, 59), True),
        (local(1, 7), False),
        (local(1, 12), False),
        (local(4, 23), True),
        (local(5, 3), True),
        (local(5, 12), True),
        (local(6, 23, 59), True),
        (local(7, 6), False),
        (local(0, 15, 59), False),
    ],
)
def test_sync_policy_windows_cover_evenings_nights_and_weekends(when, inside):
    assert in_window(parse_windows(WINDOWS), when) is inside


def test_sync_policy_next_opening_and_bad_windows():
    assert next_opening(parse_windows(WINDOWS), local(1, 12)) == local(1, 16)
    assert in_window(parse_windows(""), local(1, 12))
    for bad in ("Xyz", "Mon 16:00", "Mon 25:00-26:00"):
        with pytest.raises(ValueError):
            parse_windows(bad)


@pytest.fixture
def mirror(tmp_path):
    mirror = Mirror(tmp_path / "mirror", tmp_path / "keys")
    mirror.book("water_en", size_kb=300)
    mirror.publish()
    return mirror


@pytest.fixture
def daemon(tmp_path, mirror):
    server = RsyncDaemon(mirror.root, tmp_path).start()
    yield server
    server.stop()


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_sync_outside_the_window_downloads_nothing_and_says_when(tmp_path, mirror, daemon):
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_windows=WINDOWS)
    engine = sync_service.Engine(settings, open_database(settings), clock=FakeClock(local(1, 10)))
    with pytest.raises(SyncError) as caught:
        engine.run()
    assert caught.value.code == "sync.outside_window" and "Tue 16:00" in caught.value.fix
    assert engine.runs.recent()[0]["reason"] == "sync.outside_window"
    assert not (settings.content_dir / "water_en.zim").exists()


def test_sync_window_closing_mid_download_stops_it_and_the_next_window_resumes(tmp_path, mirror, daemon):
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_windows=WINDOWS, sync_rate_cap_kbps=100)
    clock = FakeClock(local(1, 6, 58))

    def lessons_start(event):
        if event.kind == "download" and event.done_bytes > 50_000:
            clock.now = local(1, 7, 1)

    engine = sync_service.Engine(settings, open_database(settings), clock=clock, on_event=lessons_start)
    with pytest.raises(SyncError) as caught:
        engine.run()
    assert caught.value.code == "sync.window_closed" and "resumes" in caught.value.fix
    assert not (settings.content_dir / "water_en.zim").exists()
    # rsync's partial file, or (when rsync, asked with SIGTERM, was too slow and got SIGKILL) its temporary file
    kept = [p for p in staged_files(settings) if ".partial" in p.parts or p.name.startswith(".water_en.zim.")]
    assert kept, [str(p)[-60:] for p in settings.data_dir.rglob("*")]
    clock.now = local(1, 16, 30)
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_windows=WINDOWS)
    _, result = sync_service.Engine(settings, open_database(settings), clock=clock).run()
    assert result.outcome == "ok" and (settings.content_dir / "water_en.zim").exists()


def test_sync_month_budget_stops_a_download_that_does_not_fit_until_next_month(tmp_path, mirror, daemon):
    settings = kit_settings(tmp_path, daemon.url, mirror, sync_month_budget_mb=1)
    clock = FakeClock(local(0, 17))
    engine = sync_service.Engine(settings, open_database(settings), clock=clock)
    _, first = engine.run()  # ~0.3 MB of the 1 MB budget
    assert first.bytes_received > 300_000
    mirror.book("water_en", size_kb=800, body="<p>v2</p>")
    mirror.publish()
    with pytest.raises(SyncError) as caught:
        engine.run()
    assert caught.value.code == "sync.month_budget" and "next month" in caught.value.fix
    clock.now = local(30, 17)  # April
    _, result = engine.run()
    assert result.updated == 1
