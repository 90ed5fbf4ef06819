"""Interop: Debian's `avahi-browse` sees the kit's advertisement, through a private avahi-daemon on loopback.

avahi-browse talks to avahi-daemon over D-Bus, so the test starts its own system bus (a socket in a temp
folder) and its own avahi-daemon restricted to `lo` (allow-interfaces=lo, IPv4 only, publishing off), in a
private mount namespace (`unshare -m`) where a tmpfs hides /run/avahi-daemon and a copy of /etc/passwd
names the `avahi` user the daemon insists on: nothing on the host is changed and nothing is sent outside
loopback. Needs root (for the namespace), `unshare`, `dbus-daemon` and avahi's binaries: installed
(`apt-get install avahi-daemon avahi-utils`), or unpacked without installing into a folder named by
TPKIT_TEST_AVAHI_ROOT (`apt-get download avahi-daemon avahi-utils libavahi-core7 libdaemon0` then
`dpkg -x FILE.deb DIR` for each). Skipped, with the reason, when any of these is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from appliance.edges import mdns
from tests.conftest import loopback_advertisement

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 5

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/>
<allow receive_sender="*"/></policy></busconfig>
"""
AVAHI_CONFIG = """[server]
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
disallow-other-stacks=no
[wide-area]
enable-wide-area=no
[publish]
disable-publishing=yes
"""


def _avahi_binaries() -> tuple[Path, Path, dict[str, str]]:
    root = os.environ.get("TPKIT_TEST_AVAHI_ROOT")
    if root:
        daemon, browse = Path(root, "usr/sbin/avahi-daemon"), Path(root, "usr/bin/avahi-browse")
        env = {"LD_LIBRARY_PATH": ":".join(str(p) for p in Path(root, "usr/lib").glob("*-linux-gnu"))}
    else:
        daemon = Path(shutil.which("avahi-daemon") or "/usr/sbin/avahi-daemon")
        browse, env = Path(shutil.which("avahi-browse") or "/usr/bin/avahi-browse"), {}
    missing = [str(p) for p in (daemon, browse) if not p.exists()]
    if missing:
        pytest.skip(
            f"avahi not found ({', '.join(missing)}); install avahi-daemon avahi-utils or set TPKIT_TEST_AVAHI_ROOT"
        )
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("dbus-daemon"):
        pytest.skip("a private avahi-daemon needs root, unshare and dbus-daemon")
    return daemon, browse, env


def _namespace_script(folder: Path, daemon: Path) -> str:
    """Run avahi-daemon with its runtime folder and user database private to a new mount namespace."""
    passwd, group = folder / "passwd", folder / "group"
    passwd.write_text(Path("/etc/passwd").read_text() + "avahi:x:0:0:avahi:/nonexistent:/usr/sbin/nologin\n")
    group.write_text(Path("/etc/group").read_text() + "avahi:x:0:\n")
    (folder / "avahi.conf").write_text(AVAHI_CONFIG)
    return (
        f"mount --bind {passwd} /etc/passwd && mount --bind {group} /etc/group && "
        "mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && "
        f"exec {daemon} -f {folder / 'avahi.conf'} --no-drop-root --no-chroot --no-rlimits --no-proc-title"
    )


@pytest.fixture
def avahi(tmp_path):
    """(avahi-browse path, environment) for a private avahi-daemon on loopback."""
    daemon, browse, env = _avahi_binaries()
    socket = tmp_path / "bus"
    (tmp_path / "bus.conf").write_text(BUS_CONFIG.format(socket=socket))
    bus = subprocess.Popen(
        ["dbus-daemon", "--nofork", f"--config-file={tmp_path / 'bus.conf'}"], stderr=subprocess.DEVNULL
    )  # it warns that it may not raise its fd limit
    env = {**os.environ, **env, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
    log = (tmp_path / "avahi.log").open("w")
    server = subprocess.Popen(
        ["unshare", "-m", "sh", "-c", _namespace_script(tmp_path, daemon)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Server startup complete" not in (tmp_path / "avahi.log").read_text():
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.skip(f"private avahi-daemon did not start: {(tmp_path / 'avahi.log').read_text()[-300:]}")
            time.sleep(0.05)
        yield browse, env
    finally:
        for process in (server, bus):
            process.terminate()
            process.wait(timeout=5)
        log.close()


def test_mdns_avahi_browse_lists_the_kit(avahi):
    browse, env = avahi
    ad = loopback_advertisement("Avahi School", port=8321, kit_id="kit-avahi", content="feedfeedfeed")
    advertiser = mdns.Advertiser(["127.0.0.1"])
    advertiser.start(ad)
    try:
        result = subprocess.run(
            [str(browse), "--resolve", "--terminate", "--parsable", "_tpkit._tcp"],
            capture_output=True,
            text=True,
            env=env,
            timeout=15,
        )
    finally:
        advertiser.stop()
    resolved = [line.split(";") for line in result.stdout.splitlines() if line.startswith("=;lo;IPv4;")]
    mine = [fields for fields in resolved if "kit_id=kit-avahi" in fields[9]]
    assert mine, result.stdout + result.stderr
    fields = mine[0]
    # --parsable escapes each byte outside [A-Za-z0-9-] as \DDD: spaces and the em dash's three UTF-8 bytes
    assert fields[3] == r"tpkit\032\226\128\148\032Avahi\032School"
    assert (fields[7], fields[8]) == ("127.0.0.1", "8321")
    assert '"content=feedfeedfeed"' in fields[9] and '"school=Avahi School"' in fields[9]
