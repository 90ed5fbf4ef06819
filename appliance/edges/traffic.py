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
COUNTER = re.compile(r"\b(bytes_received|bytes_acked):(\d+)")


def interface_bytes(interface: str, root: Path = ROOT) -> int | None:
    """Bytes received plus sent on `interface` since it came up, or None when it does not exist."""
    total = 0
    for name in ("rx_bytes", "tx_bytes"):
        try:
            total += int((root / "sys/class/net" / interface / "statistics" / name).read_text())
        except (OSError, ValueError):
            return None
    return total


def connection_bytes(host: str, port: int, path: str | None = None) -> dict[str, int] | None:
    """{local address: bytes received + bytes acknowledged} of each TCP connection to `host:port`, or None
    without `ss` (iproute2). A connection that has closed is simply absent."""
    peer = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    text = run(["ss", "-tinH", "dst", peer], path=path)
    if text is None:
        return None
    found: dict[str, int] = {}
    local = None
    for line in text.splitlines():
        head = SOCKET.match(line)
        if head:
            local = head.group(1)
            found.setdefault(local, 0)
        elif local is not None:
            found[local] += sum(int(value) for _, value in COUNTER.findall(line))
    return found
