"""Reporting cycles against a real loopback hub (tests/hub_double.py) with a fake clock: enrolment, delivery,
the hub down for days, parking, back-off, desired configuration, alerts and folding."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

from appliance.config import load_settings
from appliance.edges import minisign
from appliance.errors import ReportError
from appliance.protocol import report_file
from appliance.services.device.readings import Readings
from appliance.services.kit import open_kit
from appliance.services.reporting import (
    cycle as report_cycle,
    delivery,
    desired_config,
    kit_key,
    outbox_reports as reports,
)
from appliance.storage import outbox
from appliance.web.app import create_app
from tests.conftest import LiveServer, free_port
from tests.hub_double import HubDouble
from tests.machine import HEALTHY_COMMANDS, SICK_COMMANDS, fake_commands, fake_root

MONDAY = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)
NO_JITTER = lambda: 0.0  # noqa: E731 - the back-off's random source, fixed so the timing is exact


@pytest.fixture
def open_reporting_kit(tmp_path, content_dir):
    """A kit on a fake healthy machine, reporting to `hub_url`; closed at the end."""
    opened = []

    def make(
        hub_url: str = "", token: str = "tok-1", commands=HEALTHY_COMMANDS, port: int = 8080, with_library: bool = True
    ):
        settings = load_settings(
            environ={},
            overrides={
                "data_dir": str(tmp_path / "data"),
                "content_dir": str(content_dir),
                "kit_id": "kit-0042",
                "hub_url": hub_url,
                "hub_enrol_token": token,
                "port": port,
            },
        )
        kit = open_kit(settings, with_library=with_library)
        kit.readings = Readings(root=fake_root(tmp_path / "root"), path=fake_commands(tmp_path / "bin", commands))
        opened.append(kit)
        return kit

    yield make
    for kit in opened:
        kit.close()


def _public(kit) -> minisign.PublicKey:
    return minisign.parse_public_key((kit.paths.keys_dir / "kit.pub").read_text(), "kit.pub")


def test_report_cycle_enrols_then_delivers_signed_reports(open_reporting_kit):
    config = {
        "version": 4,
        "sync_channels": ["primary-zh"],
        "sync_windows": "Mon-Fri 16:00-07:00",
        "sync_rate_cap_kbps": 2000,
        "sync_month_budget_mb": 20000,
    }
    with HubDouble(desired_config=config) as hub:
        kit = open_reporting_kit(hub.url)
        first = report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        assert first.delivery.enrolled and first.delivery.delivered == 1 and first.delivery.error is None
        assert hub.public == _public(kit) and hub.enrolments == 1
        assert desired_config.desired_config(kit) == config
        second = report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15), rand=NO_JITTER)
        assert second.delivery.delivered == 1 and hub.enrolments == 1  # enrolled once
        reports_seen = list(hub.stored.values())
        assert [r.sequence for r in reports_seen] == [1, 2] and {r.kind for r in reports_seen} == {"heartbeat"}
        assert [r.applied_config_version for r in reports_seen] == [None, 4]  # acknowledged in the next report
        assert reports_seen[0].body["kit_id"] == "kit-0042" and reports_seen[0].clock_synchronised is True
        assert kit.outbox.depth() == 0
        status = report_cycle.status(kit, now=MONDAY)
        assert status["enrolled"] and status["desired_config"] == config and status["outbox"] == {}


def test_report_cycle_enrols_with_the_token_first_boot_kept_when_the_setting_is_empty(open_reporting_kit):
    # tpkit firstboot keeps the card's token in keys/enrolment-token (mode 0600), never in /etc/tpkit/kit.toml.
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url, token="")
        assert report_cycle.run(kit, now=MONDAY, rand=NO_JITTER).delivery.error is not None  # no token at all
        assert hub.enrolments == 0
        kit.paths.enrolment_token.write_text("tok-1\n")
        result = report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15), rand=NO_JITTER, retry_now=True)
        assert result.delivery.enrolled and result.delivery.error is None
        assert hub.enrolments == 1 and hub.public == _public(kit)


@pytest.mark.slow
def test_report_cycle_hub_down_for_days_stays_bounded_then_delivers_everything_once(open_reporting_kit):
    hub = HubDouble()
    kit = open_reporting_kit(f"http://127.0.0.1:{free_port()}")  # nothing listens: connection refused
    now, sick = MONDAY, False
    for cycle in range(12 * 20):  # every 2 hours for 20 days
        sick_now = cycle % 30 == 5  # a sick spell now and then: each raises alerts once
        if sick_now != sick:
            kit.readings = Readings(
                root=fake_root(kit.paths.data_dir.parent / "root"),
                path=fake_commands(
                    kit.paths.data_dir.parent / ("sick" if sick_now else "bin"),
                    SICK_COMMANDS if sick_now else HEALTHY_COMMANDS,
                ),
            )
            sick = sick_now
        result = report_cycle.run(kit, now=now, rand=NO_JITTER)
        assert result.delivery.delivered == 0
        now += dt.timedelta(hours=2)
    depth = kit.outbox.depth_by_kind()
    alerts = depth["alert"]
    assert depth["heartbeat"] <= 12 and depth["daily_summary"] == 20  # today's heartbeats + one summary per day
    assert alerts == 8 * 4  # 8 sick spells × 4 problem codes (under-voltage, hot, fs errors, clock): none dropped
    state = kit.uplink.read()
    assert state.failures >= 1 and "ConnectionRefusedError" in state.last_error
    expected = [s.sequence for s in kit.outbox.all()]
    # The hub comes back on a new port; the technician points the kit at it (and the back-off lets it try).
    with hub:
        kit = open_reporting_kit(hub.url)
        result = report_cycle.run(kit, now=now, rand=NO_JITTER, retry_now=True)
        assert result.delivery.error is None and kit.outbox.depth() == 0
        assert hub.sequences() == sorted(hub.sequences()) == expected + [expected[-1] + 1]
        assert len(hub.received) == len(set(hub.received))  # none twice
        summary = next(r for r in hub.stored.values() if r.kind == "daily_summary")
        assert summary.body["day"] == "2026-03-02" and summary.body["heartbeats"] == 8
        assert set(summary.body) == {"day", "heartbeats", "first", "last", "min", "max"}
        assert summary.body["max"]["severity"] == 2 and summary.body["min"]["severity"] == 0


def test_report_cycle_desired_config_null_clears_it_and_junk_is_ignored(open_reporting_kit):
    with HubDouble(desired_config={"version": 3}) as hub:
        kit = open_reporting_kit(hub.url)
        report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        assert desired_config.desired_config(kit) == {"version": 3}
        hub.desired_config = {"version": "three"}  # not a configuration: kept as it was
        report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15), rand=NO_JITTER)
        assert desired_config.desired_config(kit) == {"version": 3}
        hub.desired_config = None  # the county set none
        report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=30), rand=NO_JITTER)
        assert desired_config.desired_config(kit) is None
        report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=45), rand=NO_JITTER)
        assert [r.applied_config_version for r in hub.stored.values()] == [None, 3, 3, None]


def test_report_cycle_parks_4xx_and_does_not_retry_them(open_reporting_kit):
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url)
        report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        hub.mode = 400
        parked = report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15), rand=NO_JITTER)
        assert parked.delivery.error is None and [s for s, _ in parked.delivery.parked] == [2]
        assert "HTTP 400 report.malformed" in parked.delivery.parked[0][1]
        hub.mode = "ok"
        later = report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=30), rand=NO_JITTER)
        assert later.delivery.delivered == 1 and hub.sequences() == [1, 3]  # 2 is kept, not sent again
        assert [(s, k) for s, k, _ in kit.outbox.parked()] == [(2, "heartbeat")]
        parked_status = report_cycle.status(kit)["parked"]
        assert parked_status[0]["sequence"] == 2 and "report.malformed" in parked_status[0]["reason"]
        assert kit.outbox.unpark_all() == 1
        report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=45), rand=NO_JITTER)
        assert hub.sequences() == [1, 3, 2, 4]


def test_report_cycle_503_backs_off_doubling_and_persists_it(open_reporting_kit):
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url)
        report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)  # enrols, delivers
        hub.mode, now, attempts = 503, MONDAY + dt.timedelta(minutes=1), []
        for _ in range(40):  # a cycle every 5 minutes for 200 minutes
            before = len(hub.received)
            result = report_cycle.run(kit, now=now, rand=NO_JITTER)
            attempted = result.delivery.error is not None and result.delivery.error.code == "uplink.unreachable"
            if attempted:
                attempts.append(now)
            else:
                assert result.delivery.error.code == "uplink.waiting" and len(hub.received) == before
            now += dt.timedelta(minutes=5)
        gaps = [(b - a).total_seconds() / 60 for a, b in zip(attempts, attempts[1:])]
        # Waits of 1, 2, 4, 8, 16, 32, 64 min after each failure, as seen by a cycle every 5 minutes.
        assert gaps == [5, 5, 5, 10, 20, 35, 65]
        assert kit.uplink.read().failures == len(attempts)
        # A new process (the next timer run) sees the same back-off: it is in SQLite.
        reopened = open_reporting_kit(hub.url)
        assert delivery.waiting(reopened, now.timestamp()) > 0
        hub.mode = "ok"
        back = report_cycle.run(reopened, now=now, rand=NO_JITTER, retry_now=True)
        assert back.delivery.error is None and reopened.outbox.depth() == 0
        assert reopened.uplink.read().failures == 0


def test_report_cycle_backoff_doubles_is_capped_and_jittered_down():
    assert [delivery.backoff_s(n, NO_JITTER) for n in (1, 2, 3, 9, 10, 40)] == [60, 120, 240, 15360, 21600, 21600]
    assert delivery.backoff_s(1, lambda: 1.0) == 48 and delivery.backoff_s(40, lambda: 0.5) == 21600 * 0.9


def test_report_cycle_clock_going_back_does_not_block_delivery(open_reporting_kit):
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url)
        kit.uplink.failed(
            "no answer", MONDAY.timestamp() + 365 * 86400, "2027-03-02T08:00:00Z"
        )  # clock was a year ahead
        assert delivery.waiting(kit, MONDAY.timestamp()) == 0
        assert report_cycle.run(kit, now=MONDAY, rand=NO_JITTER).delivery.delivered == 1


def test_report_cycle_dropped_connection_stops_the_round(open_reporting_kit):
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url)
        hub.mode = "drop"
        result = report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        assert result.delivery.error.code == "uplink.unreachable" and kit.outbox.depth() == 1
        assert "no answer" in kit.uplink.read().last_error


def test_report_cycle_refused_token_is_not_presented_again(open_reporting_kit):
    with HubDouble(token="the-right-one") as hub:
        kit = open_reporting_kit(hub.url, token="a-wrong-one")
        result = report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        assert result.delivery.error.code == "uplink.not_enrolled" and "hub.bad_token" in str(result.delivery.error)
        again = report_cycle.run(kit, now=MONDAY + dt.timedelta(hours=7), rand=NO_JITTER)
        assert "refused this hub_enrol_token before" in again.delivery.error.message
        assert hub.enrolments == 0 and hub.received == [] and kit.outbox.depth() == 2


def test_report_cycle_401_forgets_enrolment_and_reenrols_with_the_token(open_reporting_kit):
    with HubDouble() as hub:
        kit = open_reporting_kit(hub.url)
        report_cycle.run(kit, now=MONDAY, rand=NO_JITTER)
        hub.public = None  # the hub lost the kit (re-registered, database restored)
        lost = report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15), rand=NO_JITTER)
        assert lost.delivery.error.code == "uplink.not_enrolled" and kit.uplink.read().enrolled_hub_url is None
        back = report_cycle.run(kit, now=MONDAY + dt.timedelta(hours=1), rand=NO_JITTER)
        assert back.delivery.error is None and hub.sequences() == [1, 2, 3] and hub.enrolments == 2


def test_report_cycle_heartbeat_is_the_running_web_servers_snapshot(open_reporting_kit, book):
    web_kit = open_reporting_kit("")
    with LiveServer(create_app(web_kit)) as live:
        reporter = open_reporting_kit("", port=live.port, with_library=False)
        report_cycle.run(reporter, now=MONDAY, ask_web=True)
        heartbeat = report_file.decode(next(reporter.outbox.all()).payload, "t")
        assert isinstance(heartbeat.body["requests_served"], int)  # only the web server counts requests
        assert reporter.library is None  # the report process opened no book
    alone = report_cycle.run(reporter, now=MONDAY, ask_web=True)  # web server gone: made here
    made_here = report_file.decode(list(reporter.outbox.all())[-1].payload, "t")
    assert alone.status == "ok" and made_here.body["books"] == heartbeat.body["books"]
    assert heartbeat.body["books"]["served"] == 1
    assert reporter.library is None  # counted from the checks the web server recorded (services/book_counts)


def test_report_cycle_without_hub_url_keeps_reports(open_reporting_kit):
    kit = open_reporting_kit("")
    result = report_cycle.run(kit, now=MONDAY)
    assert result.delivery.no_hub and kit.outbox.depth() == 1


def test_report_cycle_alert_once_per_new_problem(open_reporting_kit, tmp_path):
    kit = open_reporting_kit("", commands=SICK_COMMANDS)
    first = report_cycle.run(kit, now=MONDAY)
    codes = {report_file.decode(s.payload, "t").body["code"] for s in kit.outbox.all() if s.kind == "alert"}
    assert first.alerts == 4 and codes == {
        "health.under_voltage",
        "health.hot",
        "health.fs_errors",
        "health.clock_unsynchronised",
    }
    assert report_cycle.run(kit, now=MONDAY + dt.timedelta(minutes=15)).alerts == 0  # same problems: no new alert
    alert = report_file.decode(next(s for s in kit.outbox.all() if s.kind == "alert").payload, "t")
    assert alert.clock_synchronised is False and set(alert.body) == {"code", "severity", "message", "snapshot"}


def test_report_cycle_caps_todays_heartbeats(open_reporting_kit):
    kit = open_reporting_kit("")
    secret = kit_key.ensure(kit.paths)
    snapshot = {"problems": [], "status": "ok", "cpu_temp_c": 50.0}
    for minute in range(reports.MAX_HEARTBEATS_TODAY + 4):
        signer = reports.Signer.for_kit(kit, secret, MONDAY + dt.timedelta(minutes=minute), clock_synchronised=True)
        reports.queue_snapshot(kit, signer, snapshot)
        reports.fold(kit, signer)
    depth = kit.outbox.depth_by_kind()
    assert depth == {"heartbeat": reports.MAX_HEARTBEATS_TODAY, "daily_summary": 1}
    summary = report_file.decode(next(s for s in kit.outbox.all() if s.kind == "daily_summary").payload, "t")
    assert summary.body["heartbeats"] == 4  # the early ones were merged into one summary, not four


def test_report_cycle_records_are_split_below_the_limit_all_or_none(open_reporting_kit):
    kit = open_reporting_kit("")
    # Incompressible statements (random result text) force the halving; plain ones batch by size.
    statements = [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "actor": {"mbox": f"mailto:s{i}@school.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": f"https://kit.local/quiz/{i}"},
            "result": {"response": os.urandom(3000).hex()},
        }
        for i in range(400)
    ]
    sequences = reports.queue_records(kit, statements, now=MONDAY)
    assert len(sequences) >= 3 and sequences == sorted(sequences)
    batches = [report_file.decode(s.payload, "t") for s in kit.outbox.all()]
    assert all(len(s.payload) <= report_file.MAX_COMPRESSED_BYTES for s in kit.outbox.all())
    assert [st for b in batches for st in b.body["statements"]] == statements  # every one, in order
    before = kit.outbox.depth()
    huge = [{"id": "x", "result": {"response": os.urandom(400_000).hex()}}]
    with pytest.raises(ReportError) as caught:
        reports.queue_records(kit, statements[:5] + huge, now=MONDAY)
    assert caught.value.code == "report.too_large" and kit.outbox.depth() == before  # none queued
    with kit.db.transaction() as conn:  # the refused batch gave its sequences back
        assert outbox.next_sequence(conn, "kit-0042") == sequences[-1] + 1


def test_report_cycle_kit_key_is_made_once_private_and_kept(open_reporting_kit):
    kit = open_reporting_kit("")
    first = kit_key.ensure(kit.paths)
    key_path = kit.paths.keys_dir / "kit.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    (kit.paths.keys_dir / "kit.pub").unlink()
    assert kit_key.ensure(kit.paths) == first and _public(kit) == first.public  # .pub rewritten from the key
    assert minisign.read_secret_key(key_path) == first
