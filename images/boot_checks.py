"""Checks the boot test (images/image-test.sh) runs from the host side of its own network namespace.

    python3 boot_checks.py classroom IFACE KIT_ADDRESS KIT_ID   DHCP offer and names from the kit's dnsmasq
    python3 boot_checks.py hub HUB_SQLITE KIT_ID MIN_DATA_BYTES  the kit enrolled with a key, a verified report,
                                                                 its data file system grown to MIN_DATA_BYTES
    python3 boot_checks.py forwarded UPLINK_PCAP CLASSROOM_NET   no packet from the classroom network left the
                                                                 kit on its uplink (qemu's filter-dump of it)

Standard library only (the host's python3, not tpkit's venv). Prints one line per check; exit 0 when all
passed, 1 when one failed, 3 (hub) when the hub has nothing yet (the caller polls again).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sqlite3
import struct
import sys
from pathlib import Path

DHCP_MAGIC = b"\x63\x82\x53\x63"
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


def _options(raw: bytes) -> dict[int, bytes]:
    found, i = {}, 0
    while i < len(raw) and raw[i] != 255:
        if raw[i] == 0:
            i += 1
            continue
        code, length = raw[i], raw[i + 1]
        found[code] = raw[i + 2 : i + 2 + length]
        i += 2 + length
    return found


def dhcp_offer(iface: str, timeout_s: float = 10.0) -> tuple[str, dict[int, bytes]]:
    """Broadcast a DHCPDISCOVER on `iface` and return the offered address and the offer's options."""
    mac = bytes.fromhex(Path(f"/sys/class/net/{iface}/address").read_text().strip().replace(":", ""))
    xid = os.urandom(4)
    packet = (
        b"\x01\x01\x06\x00"
        + xid
        + b"\x00\x00\x80\x00"
        + b"\x00" * 16
        + mac
        + b"\x00" * 10
        + b"\x00" * 192
        + DHCP_MAGIC
        + b"\x35\x01\x01"
        + b"\x37\x03\x01\x03\x06"
        + b"\xff"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
        sock.bind(("0.0.0.0", 68))
        sock.settimeout(timeout_s)
        for _ in range(3):
            sock.sendto(packet, ("255.255.255.255", 67))
            try:
                while True:
                    reply, _ = sock.recvfrom(4096)
                    if reply[4:8] == xid and reply[236:240] == DHCP_MAGIC:
                        options = _options(reply[240:])
                        if options.get(53) == b"\x02":  # DHCPOFFER
                            return socket.inet_ntoa(reply[16:20]), options
            except TimeoutError:
                continue
    raise TimeoutError(f"no DHCPOFFER on {iface} within {3 * timeout_s:.0f} s")


def resolve(server: str, name: str, timeout_s: float = 5.0) -> list[str]:
    """The A records `server` answers for `name` (one plain UDP query)."""
    query_id = os.urandom(2)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(query_id + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + question, (server, 53))
        reply = sock.recv(4096)
    if reply[:2] != query_id:
        raise ValueError("answer to another query")
    answers, offset = struct.unpack("!H", reply[6:8])[0], 12 + len(question)
    found = []
    for _ in range(answers):
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else reply.index(b"\x00", offset) + 1 - offset
        kind, _, _, length = struct.unpack("!HHIH", reply[offset : offset + 10])
        if kind == 1:
            found.append(socket.inet_ntoa(reply[offset + 10 : offset + 14]))
        offset += 10 + length
    return found


def classroom(iface: str, kit_address: str, kit_id: str) -> int:
    failed = 0
    offered, options = dhcp_offer(iface)
    router = socket.inet_ntoa(options.get(3, b"\0\0\0\0")[:4])
    dns = socket.inet_ntoa(options.get(6, b"\0\0\0\0")[:4])
    in_net = ipaddress.ip_address(offered) in ipaddress.ip_network(f"{kit_address}/24", strict=False)
    good = in_net and router == kit_address and dns == kit_address
    failed += not good
    print(f"[{'✓' if good else '✗'}] dnsmasq offered {offered} (router {router}, DNS {dns}) on the classroom side")
    for name in (
        "kit",
        f"{kit_id}.lan",
        "connectivitycheck.gstatic.com",
        "captive.apple.com",
        "www.msftconnecttest.com",
    ):
        try:
            answer = resolve(kit_address, name)
        except (OSError, ValueError) as exc:
            answer = [f"no answer: {exc}"]
        good = answer == [kit_address]
        failed += not good
        print(f"[{'✓' if good else '✗'}] {name} resolves to {', '.join(answer) or 'nothing'} at the kit's dnsmasq")
    return 1 if failed else 0


def hub(db_path: str, kit_id: str, min_data_bytes: str) -> int:
    """The kit is enrolled with a key and the hub stored a report from it (stored only after its signature
    verified against that key: appliance/hub/ingest.py); its latest heartbeat shows the data file system
    grown to at least `min_data_bytes` (first boot fills the card)."""
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return 3
    try:
        kit = db.execute("SELECT public_key, enrolled_at, snapshot FROM kits WHERE kit_id = ?", (kit_id,)).fetchone()
        rows = db.execute(
            "SELECT kind, clock_synchronised FROM reports WHERE kit_id = ? ORDER BY sequence", (kit_id,)
        ).fetchall()
    finally:
        db.close()
    if kit is None:
        print(f"[✗] the hub has no kit {kit_id} registered")
        return 1
    if not kit[0] or not rows:
        return 3
    print(
        f"[✓] the hub has {kit_id} enrolled with key {kit[0].split()[-1][:16]}… and {len(rows)} verified "
        f"report(s): {', '.join(kind for kind, _ in rows)}"
    )
    clock = (json.loads(kit[2]) if kit[2] else {}).get("clock", {}).get("synchronized")
    honest = all(synced == 0 for _, synced in rows) and clock is False
    print(
        f"[{'✓' if honest else '✗'}] the kit says its clock is not synchronised (no NTP in the test): "
        f"reports' clock_synchronised {[synced for _, synced in rows]}, health clock.synchronized {clock!r}"
    )
    if not kit[2]:
        return 3  # an alert arrived first; the heartbeat (the snapshot) follows
    data = _data_filesystem(json.loads(kit[2]))
    size = data.get("total_bytes")
    grown = isinstance(size, int) and size >= int(min_data_bytes)
    print(
        f"[{'✓' if grown else '✗'}] the data file system {data.get('path', '?')} holds {size!r} bytes, at least "
        f"{int(min_data_bytes)} expected: first boot grew the data partition to fill the card"
    )
    return 0 if honest and grown else 1


def classroom_packets(pcap_path: str, network: str) -> list[str]:
    """Sources of the IPv4 packets in a pcap file (Ethernet frames, as qemu's filter-dump writes them) whose
    source address lies in `network`."""
    net = ipaddress.ip_network(network)
    raw = Path(pcap_path).read_bytes()
    if len(raw) < 24:
        raise ValueError(f"{pcap_path} is not a pcap file ({len(raw)} bytes)")
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(raw[:4])
    if order is None:
        raise ValueError(f"{pcap_path} is not a pcap file (magic {raw[:4].hex()})")
    found, offset = [], 24
    while offset + 16 <= len(raw):
        captured = struct.unpack(order + "I", raw[offset + 8 : offset + 12])[0]
        frame = raw[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        if len(frame) >= 34 and frame[12:14] == b"\x08\x00":  # IPv4
            source = ipaddress.ip_address(frame[26:30])
            if source in net:
                found.append(str(source))
    return found


def forwarded(pcap_path: str, network: str) -> int:
    """0 when no packet from the classroom network appears on the kit's uplink, 1 otherwise."""
    try:
        found = classroom_packets(pcap_path, network)
    except (OSError, ValueError) as exc:
        print(f"[✗] the kit's uplink was not recorded: {exc}")
        return 1
    print(
        f"[{'✗' if found else '✓'}] {len(found)} packet(s) from the classroom network {network} on the kit's "
        f"uplink{': from ' + ', '.join(sorted(set(found))) if found else ''}"
    )
    return 1 if found else 0


def _data_filesystem(snapshot: dict) -> dict:
    """The snapshot's entry for the kit's data folder (/var/lib/tpkit, the data partition), else its first."""
    found = [fs for fs in snapshot.get("filesystems") or () if isinstance(fs, dict)]
    return next((fs for fs in found if fs.get("path") == "/var/lib/tpkit"), found[0] if found else {})


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "classroom":
        sys.exit(classroom(*sys.argv[2:]))
    if len(sys.argv) == 5 and sys.argv[1] == "hub":
        sys.exit(hub(*sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "forwarded":
        sys.exit(forwarded(*sys.argv[2:]))
    sys.exit(
        "usage: boot_checks.py classroom IFACE KIT_ADDRESS KIT_ID | hub HUB_SQLITE KIT_ID MIN_DATA_BYTES | forwarded UPLINK_PCAP CLASSROOM_NET"
    )
