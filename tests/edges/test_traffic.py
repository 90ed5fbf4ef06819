"""Uplink counters: an interface's bytes from a /sys tree, each connection's bytes from a fake `ss`."""

from __future__ import annotations

from appliance.edges import traffic
from tests.machine import fake_commands

SS_OUTPUT = """ESTAB 0      0      10.231.77.2:51424 10.231.77.1:8873
\t cubic wscale:7,7 rto:204 rtt:0.5/0.2 bytes_sent:700 bytes_acked:701 bytes_received:200000 segs_out:9
ESTAB 0      0      10.231.77.2:51430 10.231.77.1:8873
\t cubic rto:204 bytes_acked:1 bytes_received:5 segs_out:2
ESTAB 0      0      10.231.77.2:51436 10.231.77.1:8873
\t cubic rcvmss:1448 bytes_acked:1 bytes_received:14480 segs_out:5 segs_in:20 data_segs_in:20
"""


def test_traffic_interface_bytes_adds_both_directions_and_says_none_without_it(tmp_path):
    stats = tmp_path / "sys/class/net/eth0/statistics"
    stats.mkdir(parents=True)
    (stats / "rx_bytes").write_text("1000\n")
    (stats / "tx_bytes").write_text("234\n")
    assert traffic.interface_bytes("eth0", tmp_path) == 1234
    assert traffic.interface_bytes("wwan0", tmp_path) is None
    (stats / "tx_bytes").write_text("garbage")
    assert traffic.interface_bytes("eth0", tmp_path) is None


def test_traffic_connection_bytes_per_local_address_with_headers(tmp_path):
    path = fake_commands(tmp_path / "bin", {"ss": f"printf '%s' '{SS_OUTPUT}'"})  # PATH holds only this folder
    # payload (received + acknowledged) and 66 header bytes for each segment in or out
    # 51436: 20 full segments arrived, only 10 in order (a gap): the 10 behind the gap were on the wire too
    assert traffic.connection_bytes("10.231.77.1", 8873, path=path) == {
        "10.231.77.2:51424": 200701 + 9 * 66,
        "10.231.77.2:51430": 6 + 2 * 66,
        "10.231.77.2:51436": 20 * 1448 + 1 + 25 * 66,
    }
    assert traffic.connection_bytes("10.231.77.1", 8873, path=str(tmp_path / "nothing")) is None
    empty = fake_commands(tmp_path / "bin2", {"ss": "true"})
    assert traffic.connection_bytes("10.231.77.1", 8873, path=empty) == {}
