"""Bytes on the wire: an interface's counters from /sys, and each TCP connection to one peer from `ss`.

The sync engine uses both to tell its own traffic from people's (docs/sync.md, "Yielding to people").
Must not import storage, content, services or web. Tests pass a fake /sys tree as `root`, or run in a
network namespace they create.
"""

from __future__ import annotations

import re
from pathlib import Path

from appliance.edges.commands import run

ROOT = Path("/")
SOCKET = re.compile(r"^\S+\s+\d+\s+\d+\s+(\S+)\s+(\S+)")
COUNTER = re.compile(r"\b(bytes_received|bytes_acked|segs_in|segs_out|data_segs_in|rcvmss):(\d+)")
# What each TCP segment carries on the wire besides its payload, as the interface counters count it: Ethernet
# (14) + IPv4 (20, IPv6 40) + TCP with timestamps (32). At a full 5 Mbit/s this is ~7 % of the bytes (~45 KB/s):
# left out, a download alone would look like people's traffic above the default yield threshold.
HEADER_BYTES = {4: 66, 6: 86}


def interface_bytes(interface: str, root: Path = ROOT, names: tuple[str, ...] = ("rx_bytes", "tx_bytes")) -> int | None:
    """Bytes received plus sent on `interface` since it came up, or None when it does not exist."""
    total = 0
    for name in names:
        try:
            total += int((root / "sys/class/net" / interface / "statistics" / name).read_text())
        except (OSError, ValueError):
            return None
    return total


def interface_received_bytes(interface: str, root: Path = ROOT) -> int | None:
    """Bytes received on `interface` since it came up (a download's direction), or None when it does not exist."""
    return interface_bytes(interface, root, ("rx_bytes",))


def connection_bytes(host: str, port: int, path: str | None = None) -> dict[str, int] | None:
    """{local address: its bytes on the wire} of each TCP connection to `host:port`, or None without `ss`
    (iproute2). A connection that has closed is simply absent. See `_wire_bytes` for what is counted."""
    peer = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    text = run(["ss", "-tinH", "dst", peer], path=path)
    if text is None:
        return None
    counters: dict[str, dict[str, int]] = {}
    local = None
    for line in text.splitlines():
        head = SOCKET.match(line)
        if head:
            local = head.group(1)
            counters.setdefault(local, {})
        elif local is not None:
            counters[local].update((name, int(value)) for name, value in COUNTER.findall(line))
    header = HEADER_BYTES[6 if ":" in host else 4]
    return {local: _wire_bytes(found, header) for local, found in counters.items()}


def _wire_bytes(found: dict[str, int], header: int) -> int:
    """Payload received and acknowledged, plus `header` bytes per segment in or out. Payload received is the larger
    of the bytes TCP has put in order and the data segments that arrived times their size: after a lost packet the
    segments behind the gap are on the interface (and in `data_segs_in`) but not in `bytes_received` until the
    retransmission fills it an RTT or more later; counted late, they would look like people's traffic meanwhile."""
    arrived = found.get("data_segs_in", 0) * found.get("rcvmss", 0)
    payload = max(found.get("bytes_received", 0), arrived) + found.get("bytes_acked", 0)
    return payload + header * (found.get("segs_in", 0) + found.get("segs_out", 0))
