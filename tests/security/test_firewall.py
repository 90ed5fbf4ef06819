"""Who: one client on the classroom Wi-Fi or the school LAN. From where: TCP to the web port (80). With what: thousands
of connections from one address, more than any browser opens, to hold the web server's file descriptors.
What stops them: the image's nftables ruleset (images/files/common/etc/nftables.conf, loaded by nftables.service)
resets an address's 65th simultaneous connection to port 80. Tested here: its syntax (`nft -c`) and, in a private
network namespace of this test (`unshare -n`, root only; the machine's own firewall is never touched), that the 65th
connection from one address is refused. Only on the image: that nftables.service loads it at boot."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RULESET = Path(__file__).parents[2] / "images" / "files" / "common" / "etc" / "nftables.conf"
PER_ADDRESS = 64
needs_nft = pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed (apt-get install nftables)")

# Runs inside the namespace. Loopback is exempt in the ruleset (the panel asks on 127.0.0.1), so the copy loaded here
# drops that one line: every other rule is the shipped one, applied to connections to 127.0.0.1:80.
CONNECT = r"""
import socket, subprocess, sys
rules = open(sys.argv[1]).read().replace('iifname "lo" accept', '')
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
server = socket.socket()
server.bind(("127.0.0.1", 80))
server.listen(512)
held, refused = [], 0
for _ in range(int(sys.argv[2])):
    client = socket.socket()
    client.settimeout(2)
    try:
        client.connect(("127.0.0.1", 80))
        held.append(client)
    except OSError:
        refused += 1
print(len(held), refused)
"""


@needs_nft
def test_security_firewall_ruleset_is_valid_nftables():
    checked = subprocess.run(["nft", "-c", "-f", str(RULESET)], capture_output=True, text=True, timeout=30)
    if "Operation not permitted" in checked.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert checked.returncode == 0, checked.stderr
    assert 'iifname "lo" accept' in RULESET.read_text() and f"ct count over {PER_ADDRESS}" in RULESET.read_text()


@needs_nft
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None, reason="needs unshare and ip")
def test_security_firewall_resets_an_address_beyond_its_connections():
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", CONNECT, str(RULESET), str(PER_ADDRESS + 6)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 and ("Operation not permitted" in done.stderr or "unshare failed" in done.stderr):
        pytest.skip(f"no private network namespace here: {done.stderr.strip()[:200]}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(PER_ADDRESS), "6"]
