"""mDNS (zeroconf) on the LAN: advertise this kit's services and browse for other kits. The only zeroconf module.

Must not import storage, content, services or web. IPv4 only: classroom access points hand out IPv4.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import ifaddr  # zeroconf's own dependency for listing adapters
from zeroconf import (
    Error as ZeroconfError,
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

from appliance.errors import LanError

log = logging.getLogger(__name__)

HTTP_TYPE = "_http._tcp.local."  # what every mDNS browser (Bonjour, Android, avahi) lists
KIT_TYPE = "_tpkit._tcp.local."  # what `tpkit discover` and other kits look for
# RFC 6763 §4.1.1: an instance name is at most 63 bytes. zeroconf appends "-2", "-3"… on a
# name conflict, so 4 bytes stay free for that suffix.
INSTANCE_MAX_BYTES = 63 - 4
TXT_VALUE_MAX_BYTES = 200  # RFC 6763 §6.1: one TXT string is at most 255 bytes with its key
RESOLVE_TIMEOUT_MS = 1500  # a kit that answered the browse answers its details from the same cache


def _fit(text: str, max_bytes: int) -> str:
    """Cut `text` to `max_bytes` of UTF-8 without splitting a character."""
    return text.encode()[:max_bytes].decode(errors="ignore")


def instance_name(school_name: str) -> str:
    """The name people see in an mDNS browser: "tpkit — <school>", within the 63-byte limit."""
    return _fit(f"tpkit — {school_name}".replace(".", " "), INSTANCE_MAX_BYTES).rstrip()


def host_name(kit_id: str, addresses: Sequence[str]) -> str:
    """A .local host name for the SRV record; the address digest keeps two kits that share a kit_id
    (unprovisioned ones are all "tpkit-dev") from answering for each other's name."""
    label = re.sub(r"[^a-z0-9-]+", "-", kit_id.lower()).strip("-")[:40] or "tpkit"
    suffix = hashlib.sha256(",".join(sorted(addresses)).encode()).hexdigest()[:6]
    return f"{label}-{suffix}.local."


@dataclasses.dataclass(frozen=True)
class Advertisement:
    """What this kit says about itself: a display name, where its web server is, and its TXT records."""

    name: str
    port: int
    addresses: tuple[str, ...]
    server: str
    txt: Mapping[str, str]

    def infos(self) -> list[ServiceInfo]:
        kit_txt = {key: _fit(value, TXT_VALUE_MAX_BYTES) for key, value in self.txt.items()}
        return [
            ServiceInfo(
                type_,
                f"{self.name}.{type_}",
                port=self.port,
                properties=props,
                server=self.server,
                parsed_addresses=list(self.addresses),
            )
            for type_, props in ((HTTP_TYPE, {"path": "/"}), (KIT_TYPE, kit_txt))
        ]


def _zeroconf(interfaces: Sequence[str] | None) -> Zeroconf:
    """A zeroconf bound to `interfaces` (IPv4 addresses), or to every interface when None."""
    try:
        return Zeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All, ip_version=IPVersion.V4Only)
    except (OSError, ZeroconfError) as exc:
        where = ", ".join(interfaces) if interfaces else "all interfaces"
        raise LanError(
            f"Cannot open mDNS (UDP port 5353, group 224.0.0.251) on {where}: {exc}.",
            cause="The address is not this machine's, the interface has no multicast, or a firewall blocks it.",
            fix='Set mdns_interfaces to an address shown by `ip -4 addr` (or "all"), and allow UDP 5353.',
        ) from exc


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses except loopback: what other devices on the LAN can reach."""
    found = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    return sorted(a for a in found if not a.startswith("127."))


class Advertiser:
    """Registers an Advertisement's two services (renamed on a conflict) until `stop()` withdraws them."""

    def __init__(self, interfaces: Sequence[str] | None) -> None:
        self.interfaces = interfaces
        self._zc: Zeroconf | None = None
        self._infos: list[ServiceInfo] = []

    @property
    def names(self) -> list[str]:
        """The instance names actually registered (after any conflict renaming), HTTP first."""
        return [info.name for info in self._infos]

    def start(self, ad: Advertisement) -> None:
        """Probe and announce both services; LanError when mDNS cannot be used."""
        self._zc = _zeroconf(self.interfaces)
        try:
            for info in ad.infos():
                self._zc.register_service(info, allow_name_change=True)
                self._infos.append(info)
        except (OSError, ZeroconfError) as exc:
            self.stop()
            raise LanError(
                f"Cannot announce {ad.name!r} with mDNS: {exc}.",
                cause="Multicast is not delivered on this interface.",
                fix="Check `ip -4 addr` for the interface's MULTICAST flag, or set mdns_interfaces.",
            ) from exc

    def update(self, ad: Advertisement) -> None:
        """Announce new TXT records (and addresses) under the names already registered."""
        fresh = {info.type: info for info in ad.infos()}
        for index, info in enumerate(self._infos):
            new = fresh[info.type]
            new.name = info.name  # keep a name won in a conflict
            self._zc.update_service(new)  # type: ignore[union-attr]  # registered: _zc is open
            self._infos[index] = new

    def stop(self) -> None:
        """Send goodbyes for both services and close the sockets; safe to call twice."""
        if self._zc is None:
            return
        try:
            if self._infos:
                self._zc.unregister_all_services()
        finally:
            self._zc.close()
            self._zc, self._infos = None, []


@dataclasses.dataclass(frozen=True)
class Found:
    """A service instance another device announced."""

    name: str
    server: str
    addresses: tuple[str, ...]
    port: int
    txt: dict[str, str]


def _decode_txt(properties: Mapping[bytes, bytes | None]) -> dict[str, str]:
    return {key.decode(errors="replace"): (value or b"").decode(errors="replace") for key, value in properties.items()}


class Browser:
    """Watches the LAN for instances of one service type while open (a context manager)."""

    def __init__(self, service_type: str, interfaces: Sequence[str] | None) -> None:
        self.service_type = service_type
        self.interfaces = interfaces
        self._names: set[str] = set()
        self._changes = 0  # counts added, updated and removed instances, so a waiter misses none
        self._changed = threading.Condition()

    def __enter__(self) -> Browser:
        self._zc = _zeroconf(self.interfaces)
        self._browser = ServiceBrowser(self._zc, self.service_type, handlers=[self._on_change])
        return self

    def __exit__(self, *exc) -> None:
        self._browser.cancel()
        self._zc.close()

    def _on_change(self, zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        with self._changed:
            if state_change is ServiceStateChange.Removed:
                self._names.discard(name)
            else:
                self._names.add(name)
            self._changes += 1
            self._changed.notify_all()

    def names(self) -> set[str]:
        """Full names of the instances present now (added and not yet said goodbye)."""
        with self._changed:
            return set(self._names)

    def found(self) -> list[Found]:
        """The present instances with their addresses, port and TXT records, sorted by name."""
        results = []
        for name in sorted(self.names()):
            info = self._zc.get_service_info(self.service_type, name, timeout=RESOLVE_TIMEOUT_MS)
            if info is None:
                continue  # left between the browse and the question
            results.append(
                Found(
                    name=name.removesuffix("." + self.service_type),
                    server=info.server or "",
                    addresses=tuple(info.parsed_addresses(IPVersion.V4Only)),
                    port=info.port or 0,
                    txt=_decode_txt(info.properties),
                )
            )
        return results

    def wait(self, enough: Callable[[list[Found]], bool], timeout_s: float) -> list[Found]:
        """The present instances as soon as `enough(found)` holds, checked after every added, updated or removed
        instance; what is present when `timeout_s` runs out otherwise (the caller checks `enough` again)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._changed:
                seen = self._changes
            found = self.found()
            remaining = deadline - time.monotonic()
            if enough(found) or remaining <= 0:
                return found
            with self._changed:
                self._changed.wait_for(functools.partial(self._changed_since, seen), timeout=remaining)

    def _changed_since(self, seen: int) -> bool:
        return self._changes != seen


def _never(found: list[Found]) -> bool:
    return False


def browse(
    service_type: str,
    timeout_s: float,
    interfaces: Sequence[str] | None,
    enough: Callable[[list[Found]], bool] = _never,
) -> list[Found]:
    """Every instance of `service_type` that answered: listen until `enough(found)` holds, at most `timeout_s` seconds
    (the whole `timeout_s` without `enough`: a LAN has no "that was everyone")."""
    with Browser(service_type, interfaces) as browser:
        return browser.wait(enough, timeout_s)
