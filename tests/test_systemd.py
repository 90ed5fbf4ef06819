"""The systemd units as shipped: mode, the directives the house requires, `systemd-analyze verify` and
`security`, and the web unit's own command stopping within its TimeoutStopSec."""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

UNITS = Path(__file__).parents[1] / "systemd"
PANEL = UNITS / "tpkit-panel.service"
WEB = UNITS / "tpkit-web.service"
UNIT_FILES = sorted(p for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
# The county hub's units (its server, not a kit: not in the image).
HUB = UNITS / "hub" / "tpkit-hub.service"
HUB_UNIT_FILES = sorted(p for p in (UNITS / "hub").iterdir() if p.suffix in (".service", ".timer"))
# Every file in systemd/ that systemd or udev reads: units, drop-ins, tmpfiles, sysusers, udev rules.
CONFIG_FILES = sorted(
    p
    for p in UNITS.rglob("*")
    if p.is_file() and p.suffix in (".service", ".timer", ".conf", ".rules") and p.name != "50-tpkit-panel.rules"
)
# The bound for the web unit (a plain unit scores ~9.6 on this systemd).
WEB_EXPOSURE_MAX = 2.5
needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _unit(path: Path) -> configparser.RawConfigParser:
    """A unit file's directives; repeated keys keep their last value (enough for the checks below)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


def _verifiable_copies(folder: Path) -> list[Path]:
    """Copies of every unit whose /usr/bin/tpkit is this checkout's own tpkit: verify insists that ExecStart's
    binary exists, and /usr/bin/tpkit exists only on a kit. Everything else is verbatim."""
    tpkit = Path(sys.executable).with_name("tpkit")
    copies = []
    for unit in UNIT_FILES + HUB_UNIT_FILES:
        copy = folder / unit.name
        copy.write_text(unit.read_text().replace("/usr/bin/tpkit", str(tpkit)))
        copies.append(copy)
    return copies


def test_systemd_every_file_is_mode_644():
    assert [p.name for p in UNITS.rglob("*") if p.is_file() and stat.S_IMODE(p.stat().st_mode) != 0o644] == []


def test_systemd_panel_unit_is_hardened():
    text = PANEL.read_text()
    for directive in (
        "Type=simple",
        "Restart=on-failure",
        "StartLimitBurst=",
        "TimeoutStopSec=",
        "User=tpkit-panel\n",
        "Group=tpkit-panel\n",
        "SupplementaryGroups=gpio",
        "CapabilityBoundingSet=\n",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "DeviceAllow=char-gpiochip rw",
        "DeviceAllow=/dev/gpiomem rw",
        "ExecStart=/usr/bin/tpkit panel",
        "Environment=TPKIT_PORT=80",
    ):
        assert directive in text, directive


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(UNITS)))
def test_systemd_every_block_has_a_comment_saying_why(path):
    for block in (b for b in path.read_text().split("\n\n") if b.strip()):
        lines = [line for line in block.splitlines() if not line.startswith("[")]
        assert lines and lines[0].startswith("#"), f"say why above:\n{block}"


def test_systemd_only_sync_and_report_want_the_network():
    for unit in (u for u in UNIT_FILES if u.suffix == ".service"):
        wants = _unit(unit).get("Unit", "Wants", fallback="") + _unit(unit).get("Unit", "After", fallback="")
        expected = unit.stem in ("tpkit-sync", "tpkit-report")
        assert ("network-online.target" in wants) == expected, unit.name


def test_systemd_web_unit_binds_port_80_through_a_capability_not_root():
    web = _unit(WEB)["Service"]
    assert web["User"] == "tpkit" and web["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert web["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert "TPKIT_PORT=80" in WEB.read_text() and web["Type"] == "simple"
    assert "WatchdogSec" not in web, "uvicorn does not sd_notify; a watchdog would kill it every period"
    for directive in (
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tpkit",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "SystemCallFilter=@system-service",
        "Restart=on-failure",
    ):
        assert directive in WEB.read_text(), directive


def test_systemd_timers_are_persistent_and_randomized():
    for name in ("tpkit-sync.timer", "tpkit-report.timer"):
        timer = _unit(UNITS / name)["Timer"]
        assert timer["Persistent"] == "true" and timer["RandomizedDelaySec"] and timer["OnCalendar"]
        assert timer["Unit"] == name.replace(".timer", ".service")


def test_systemd_firstboot_runs_once_per_boot_before_the_web_server_when_kit_toml_exists():
    unit = _unit(UNITS / "tpkit-firstboot.service")
    assert unit["Unit"]["ConditionPathExists"] == "/boot/firmware/kit.toml"
    assert "tpkit-web.service" in UNITS.joinpath("tpkit-firstboot.service").read_text().split("Before=", 1)[1]
    assert unit["Service"]["Type"] == "oneshot"
    assert unit["Service"]["ExecStart"] == "/usr/bin/tpkit firstboot --boot-dir /boot/firmware"
    assert "Requires" not in _unit(WEB)["Unit"], "a failed first boot must not keep the web server down"


def test_systemd_udev_rule_starts_the_usb_import_template():
    rule = (UNITS / "udev" / "90-tpkit-usb-import.rules").read_text()
    assert 'ENV{SYSTEMD_WANTS}+="tpkit-usb-import@%k.service"' in rule and 'ENV{ID_BUS}!="usb"' in rule
    assert "ExecStart=/usr/bin/tpkit import --device /dev/%I" in (UNITS / "tpkit-usb-import@.service").read_text()


def test_systemd_mirror_unit_is_hardened_and_serves_as_tpkit():
    text = (UNITS / "tpkit-mirror.service").read_text()
    for directive in (
        "Type=simple",
        "ExecStart=/usr/bin/tpkit mirror serve",
        "Restart=on-failure",
        "StartLimitBurst=",
        "TimeoutStopSec=",
        "User=tpkit",
        "CapabilityBoundingSet=\n",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "IPAddressDeny=any",
        "SystemCallFilter=@system-service",
    ):
        assert directive in text, directive
    assert "enable tpkit-mirror.service" in (UNITS.parent / "images" / "units.list").read_text()


def test_systemd_journald_is_volatile_and_capped_and_the_watchdog_is_on():
    journald = _unit(UNITS / "journald.conf.d" / "50-tpkit.conf")["Journal"]
    assert journald["Storage"] == "volatile" and journald["RuntimeMaxUse"] == "32M"
    assert _unit(UNITS / "system.conf.d" / "50-tpkit-watchdog.conf")["Manager"]["RuntimeWatchdogSec"] == "15s"


def test_systemd_a_hostapd_without_a_radio_is_retried_every_15_s_not_every_2():
    """Debian's 2 s never reaches the start limit: without a working radio hostapd started ~24 times a minute and
    filled the RAM journal (seen in the image's class-load run: 795 starts in 33 minutes)."""
    dropin = _unit(UNITS / "hostapd.service.d" / "10-tpkit.conf")
    assert dropin["Service"]["RestartSec"] == "15s"
    assert dropin["Unit"]["ConditionPathExists"] == "/etc/hostapd/hostapd.conf"


@needs_analyze
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    copies = _verifiable_copies(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, copies)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    # verify only warns about unknown keys and bad values, naming the file: any mention is a finding.
    assert not [line for line in result.stderr.splitlines() if "tpkit" in line], result.stderr


@needs_analyze
def test_systemd_verify_catches_a_misspelt_directive(tmp_path):
    """The verify test above can fail: a misspelt directive is reported."""
    broken = tmp_path / "tpkit-web.service"
    broken.write_text(_verifiable_copies(tmp_path)[UNIT_FILES.index(WEB)].read_text().replace("UMask=", "UMsk="))
    result = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'UMsk'" in result.stderr


def _exposure(unit: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    if found is None:
        pytest.skip(f"systemd-analyze security --offline=true cannot run here: {result.stderr.strip()[:200]}")
    return float(found.group(1))


@needs_analyze
def test_systemd_web_unit_exposure_is_at_most_2_5():
    assert _exposure(WEB) <= WEB_EXPOSURE_MAX


@needs_analyze
@pytest.mark.parametrize("unit", [u for u in UNIT_FILES if u.suffix == ".service"], ids=lambda p: p.name)
def test_systemd_every_kit_unit_exposure_is_at_most_2_5(unit):
    """Issue 14: the panel scored 6.7 and first boot 4.3; every kit unit is held to the web unit's bar."""
    assert _exposure(unit) <= WEB_EXPOSURE_MAX, unit.name


@pytest.mark.parametrize("unit", [u for u in UNIT_FILES if u.suffix == ".service"], ids=lambda p: p.name)
def test_systemd_every_kit_unit_bounds_its_memory_and_file_descriptors(unit):
    """Issue 14: on a 1 GB Pi the kernel must stop one unit's runaway, not the kit; every unit sizes its share."""
    service = _unit(unit)["Service"]
    high, most = (_megabytes(service[key]) for key in ("MemoryHigh", "MemoryMax"))
    assert 0 < high < most <= 640, unit.name  # under two thirds of a 1 GB Pi, whatever the unit
    assert int(service["LimitNOFILE"]) >= 256, unit.name


def test_systemd_web_unit_holds_a_flood_of_connections_and_loses_only_a_worker():
    web = _unit(WEB)["Service"]
    assert int(web["LimitNOFILE"]) >= 8192 and web["OOMPolicy"] == "continue"
    assert sum(_megabytes(_unit(u)["Service"]["MemoryMax"]) for u in (WEB, PANEL)) < 1024 * 2 / 3


def test_systemd_only_the_panels_user_may_power_off():
    rule = (UNITS / "50-tpkit-panel.rules").read_text()
    assert 'subject.user !== "tpkit-panel"' in rule and '"tpkit"' not in rule
    assert "User=tpkit-panel\n" in PANEL.read_text() and "User=tpkit\n" in WEB.read_text()


def _megabytes(value: str) -> int:
    return int(value[:-1]) * {"M": 1, "G": 1024}[value[-1]]


@needs_analyze
def test_systemd_hub_units_are_as_locked_down_as_the_web_unit():
    for unit in (u for u in HUB_UNIT_FILES if u.suffix == ".service"):
        assert _exposure(unit) <= WEB_EXPOSURE_MAX, unit.name


def test_systemd_hub_timers_prune_nightly_forward_often_and_notify_every_minute():
    prune = _unit(UNITS / "hub" / "tpkit-hub-prune.timer")["Timer"]
    assert prune["OnCalendar"] and prune["Persistent"] == "true" and prune["Unit"] == "tpkit-hub-prune.service"
    forward = _unit(UNITS / "hub" / "tpkit-hub-forward.timer")["Timer"]
    assert forward["OnUnitInactiveSec"] == "5min" and forward["Unit"] == "tpkit-hub-forward.service"
    notify = _unit(UNITS / "hub" / "tpkit-hub-notify.timer")["Timer"]
    assert notify["OnUnitInactiveSec"] == "1min" and notify["Unit"] == "tpkit-hub-notify.service"
    lessons = _unit(UNITS / "hub" / "tpkit-hub-lessons.timer")["Timer"]
    assert lessons["OnCalendar"] == "hourly" and lessons["Unit"] == "tpkit-hub-lessons.service"
    for name in (
        "tpkit-hub-lessons.service",
        "tpkit-hub.service",
        "tpkit-hub-prune.service",
        "tpkit-hub-forward.service",
        "tpkit-hub-notify.service",
    ):
        service = _unit(UNITS / "hub" / name)["Service"]
        assert (service["User"], service["StateDirectory"]) == ("tpkit-hub", "tpkit-hub"), name
    assert "ExecStart=/usr/bin/tpkit hub prune\n" in (UNITS / "hub" / "tpkit-hub-prune.service").read_text()
    assert "ExecStart=/usr/bin/tpkit hub notify\n" in (UNITS / "hub" / "tpkit-hub-notify.service").read_text()
    assert (
        "ExecStart=/usr/bin/tpkit hub lessons publish --channel "
        in (UNITS / "hub" / "tpkit-hub-lessons.service").read_text()
    )


@needs_analyze
def test_systemd_sync_and_report_are_as_locked_down_as_the_web_unit():
    for name in ("tpkit-sync.service", "tpkit-report.service", "tpkit-mirror.service"):
        assert _exposure(UNITS / name) <= WEB_EXPOSURE_MAX, name


def _unit_command(unit: Path, config: Path, **environment: str) -> tuple[list[str], dict[str, str]]:
    """A unit's ExecStart and Environment=, as systemd would run them, with this checkout's tpkit, `config` as
    TPKIT_CONFIG and `environment` over the unit's own."""
    service = unit.read_text()
    argv = shlex.split(re.search(r"^ExecStart=(.+)$", service, re.M).group(1))
    argv[0] = str(Path(sys.executable).with_name("tpkit"))
    env = dict(value.partition("=")[::2] for value in re.findall(r"^Environment=(.+)$", service, re.M))
    env.update(TPKIT_CONFIG=str(config), **environment)
    return argv, {**{k: v for k, v in os.environ.items() if not k.startswith("TPKIT_")}, **env}


@contextlib.contextmanager
def _running(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield server
    finally:
        server.kill()
        server.stdout.close()


def _serving(server: subprocess.Popen, url: str, ready) -> None:
    """Wait until `url` answers a response `ready` accepts; generous: other work may share this machine."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ready(httpx.get(url, timeout=1)):
                return
        except (httpx.TransportError, ValueError):
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"the unit's command did not serve {url} within 60 s")


def _stopped_s(server: subprocess.Popen, timeout_stop_s: float) -> tuple[float, str]:
    """SIGTERM as systemd sends it (KillMode=mixed: the main process only); seconds until it exited, its output."""
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=timeout_stop_s)
    return time.monotonic() - started, output


def test_systemd_hub_unit_command_serves_and_stops_within_its_timeout_stop_sec(tmp_path):
    timeout_stop_s = float(_unit(HUB)["Service"]["TimeoutStopSec"])
    assert "Environment=TPKIT_HUB_DATA_DIR=/var/lib/tpkit-hub" in HUB.read_text()
    port = free_port()
    (tmp_path / "hub.toml").write_text(f"hub_port = {port}\n")
    argv, env = _unit_command(HUB, tmp_path / "hub.toml", TPKIT_HUB_DATA_DIR=str(tmp_path / "hub"))
    with _running(argv, env) as server:
        _serving(server, f"http://127.0.0.1:{port}/-/alive", lambda reply: reply.json().get("backend") == "sqlite")
        stopped_s, output = _stopped_s(server, timeout_stop_s)
    assert stopped_s < timeout_stop_s, output
    assert server.returncode == 0, output
    assert (tmp_path / "hub" / "hub.sqlite3").exists()  # in the folder the unit names, not elsewhere


def test_systemd_web_unit_command_stops_within_its_timeout_stop_sec(tmp_path):
    timeout_stop_s = float(_unit(WEB)["Service"]["TimeoutStopSec"])
    assert "TPKIT_PORT=80" in WEB.read_text()
    port = free_port()
    config = tmp_path / "kit.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nweb_workers = 2\nmdns_enabled = false\n')
    argv, env = _unit_command(WEB, config, TPKIT_HOST="127.0.0.1", TPKIT_PORT=str(port))
    with _running(argv, env) as server:
        _serving(server, f"http://127.0.0.1:{port}/", lambda reply: reply.status_code == 200)
        # A client holding a keep-alive connection open must not hold up the stop either.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as held:
            held.get("/")
            stopped_s, output = _stopped_s(server, timeout_stop_s)
    assert stopped_s < timeout_stop_s, output
    assert server.returncode == 0, output


@pytest.mark.skipif(
    not (shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")),
    reason="systemd-sysusers/systemd-tmpfiles are not installed",
)
@pytest.mark.skipif(os.geteuid() != 0, reason="systemd-tmpfiles --root sets owners, which needs root")
def test_systemd_sysusers_and_tmpfiles_make_the_user_and_folders_in_a_fresh_root(tmp_path):
    (tmp_path / "etc").mkdir()
    sysusers = subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "sysusers.d/tpkit.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sysusers.returncode == 0, sysusers.stderr
    user = next(
        line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines() if line.startswith("tpkit:")
    )
    assert user[6] == "/usr/sbin/nologin"
    groups = {line.split(":")[0]: line.split(":")[3] for line in (tmp_path / "etc/group").read_text().splitlines()}
    assert all("tpkit" in groups[name].split(",") for name in ("video", "systemd-journal"))
    assert groups["gpio"].split(",") == ["tpkit-panel"], "only the panel's user opens the GPIO pins"
    (tmp_path / "etc/tpkit").mkdir()
    (tmp_path / "etc/tpkit/kit.toml").write_text('kit_id = "gx-1"\n')  # what first boot wrote: kept
    tmpfiles = subprocess.run(
        ["systemd-tmpfiles", "--create", f"--root={tmp_path}", str(UNITS / "tmpfiles.d/tpkit.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tmpfiles.returncode == 0, tmpfiles.stderr
    data = (tmp_path / "var/lib/tpkit").stat()
    assert (data.st_uid, stat.S_IMODE(data.st_mode)) == (int(user[2]), 0o750)
    assert (tmp_path / "var/lib/tpkit/content").stat().st_uid == int(user[2])
    assert (tmp_path / "etc/tpkit/kit.toml").read_text() == 'kit_id = "gx-1"\n'


@pytest.mark.skipif(not shutil.which("systemd-sysusers"), reason="systemd-sysusers is not installed")
def test_systemd_hub_sysusers_makes_the_hub_user_without_a_login(tmp_path):
    (tmp_path / "etc").mkdir()
    made = subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(UNITS / "hub" / "tpkit-hub.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    user = next(
        line.split(":") for line in (tmp_path / "etc/passwd").read_text().splitlines() if line.startswith("tpkit-hub:")
    )
    assert (user[5], user[6]) == ("/var/lib/tpkit-hub", "/usr/sbin/nologin")
