"""Who: anyone on the classroom Wi-Fi or the school LAN (a pupil's laptop, a phone running a script). From where: TCP
to the web port. With what: hundreds of connections that never send a request (idle, half-open) or send a request
head a line at a time and never finish it (slowloris), to hold every file descriptor so the kit answers nobody.
What stops them: uvicorn's protocol with a deadline for the first request head (cli/common.REQUEST_HEAD_S drops them),
LimitNOFILE=8192 in tpkit-web.service (set here as the unit sets it), and, on the image only, the firewall's cap of
connections per address (images/files/common/etc/nftables.conf; its syntax checked in test_firewall.py).
The full-size run with its figures is bench/slow_clients.py (docs/security.md)."""

from __future__ import annotations

import http.client
import time

from appliance.cli.common import KEEP_ALIVE_S, REQUEST_HEAD_S
from bench import slow_clients


def test_security_slow_clients_do_not_starve_the_probe_and_are_dropped():
    hold_s = REQUEST_HEAD_S + 4
    found = slow_clients.run(idle=600, partial=100, hold_s=hold_s, probe_every_s=0.5, workers=1)
    assert found["probe_failures"] == 0 and found["probe_max_s"] < 1, found
    assert found["attackers_dropped_after_s"] is not None, found
    assert REQUEST_HEAD_S <= found["attackers_dropped_after_s"] <= hold_s and found["attackers_still_open"] == 0, found


def test_security_head_deadline_spares_a_kept_alive_connection(tmp_path):
    """A phone that asked for a page keeps its connection past REQUEST_HEAD_S: only the head has a deadline."""
    assert KEEP_ALIVE_S > REQUEST_HEAD_S + 2
    with slow_clients.tpkit_serve(tmp_path, workers=1) as port:
        phone = http.client.HTTPConnection(slow_clients.HOST, port, timeout=5)
        phone.request("GET", "/")
        assert phone.getresponse().read() and phone.sock is not None
        kept = phone.sock
        time.sleep(REQUEST_HEAD_S + 1)
        phone.request("GET", "/")
        assert phone.getresponse().status == 200 and phone.sock is kept  # the same connection, not a new one
        phone.close()
