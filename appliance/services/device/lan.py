"""The kit on the LAN: what it advertises over mDNS, keeping that current, and finding other kits.

Must not import web or cli. The mDNS edge is reached only through here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from appliance import __version__
from appliance.config import Settings
from appliance.content.library import Book, Library
from appliance.edges import mdns
from appliance.errors import LanError
from appliance.services.kit import claim_once
from appliance.typed_numbers import whole_number

log = logging.getLogger(__name__)

DIGEST_HEX_CHARS = 12  # 48 bits: two different libraries in one county will not collide by chance


def content_digest(books: Iterable[Book]) -> str:
    """A short digest of which books a library holds: sha256 over the sorted "name<TAB>uuid" lines,
    first 12 hex characters. Two kits with the same digest hold the same books."""
    lines = sorted(f"{book.name}\t{book.uuid}\n" for book in books)
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:DIGEST_HEX_CHARS]


def interfaces(settings: Settings) -> list[str] | None:
    """The IPv4 addresses named by `mdns_interfaces`, or None for "all" (where `tpkit discover` listens)."""
    if settings.mdns_interfaces == "all":
        return None
    return [part.strip() for part in settings.mdns_interfaces.split(",") if part.strip()]


def advertise_interfaces(settings: Settings) -> list[str] | None:
    """Where the kit advertises: `mdns_interfaces`, but "all" means where the web server listens — every
    address for 0.0.0.0, else its one address. A laptop running `./build.sh run` on 127.0.0.1 so speaks
    mDNS on loopback only, never on a LAN it does not serve."""
    if settings.mdns_interfaces == "all" and settings.host not in ("0.0.0.0", ""):
        return [settings.host]
    return interfaces(settings)


def advertisement(settings: Settings, digest: str, channels: str = "") -> mdns.Advertisement:
    """What this kit announces: its web server's port and addresses, and the TXT records kits compare: `mirror` is
    the peer mirror's rsync port (0: none) and `channels` what it serves ("primary-en:5,…", peers.format_channels)."""
    addresses = tuple(advertise_interfaces(settings) or mdns.lan_addresses())
    if not addresses:
        raise LanError(
            "This machine has no IPv4 address other than loopback to advertise.",
            cause="The Wi-Fi access point or the network cable is not up yet.",
            fix="Check `ip -4 addr`; restart tpkit-web once the access point has its address.",
        )
    txt = {
        "kit_id": settings.kit_id,
        "version": __version__,
        "content": digest,
        "mirror": str(settings.mirror_port),
        "school": settings.school_name,
    }
    if settings.mirror_port:
        txt["channels"] = channels
    return mdns.Advertisement(
        name=mdns.instance_name(settings.school_name),
        port=settings.port,
        addresses=addresses,
        server=mdns.host_name(settings.kit_id, addresses),
        txt=txt,
    )


class LanPresence:
    """Advertises the kit from a daemon thread while the web server runs, re-announcing when the library's
    digest changes; failure to advertise is one warning, never a stopped server."""

    def __init__(
        self, settings: Settings, library: Library, lock_dir: Path, channels: Callable[[], str] = lambda: ""
    ) -> None:
        self.settings = settings
        self.channels = channels  # what the mirror tree serves, read again at every rescan
        self.library = library
        self.lock_path = lock_dir / "mdns.lock"
        self.advertiser = mdns.Advertiser(advertise_interfaces(settings))
        self.advertising = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tpkit-mdns", daemon=True)
        self._lock_fd: int | None = None

    def start(self) -> bool:
        """Begin advertising in the background; False when disabled or another web worker already does."""
        if not self.settings.mdns_enabled:
            log.info("mdns: not advertising (mdns_enabled is false)")
            return False
        self._lock_fd = claim_once(self.lock_path)
        if self._lock_fd is None:
            return False  # several web workers share one kit; one advertisement is enough
        self._thread.start()
        return True

    def _run(self) -> None:
        state = (content_digest(self.library.books()), self.channels())
        try:
            self.advertiser.start(advertisement(self.settings, *state))
        except LanError as exc:
            log.warning(
                "mdns: tried to advertise port %d with mDNS (UDP 5353) on mdns_interfaces=%s and could not; "
                "the kit still serves, but `tpkit discover` and mDNS browsers will not list it. %s",
                self.settings.port,
                self.settings.mdns_interfaces,
                exc,
            )
            return
        self.advertising.set()
        log.info("mdns: advertised as %s", ", ".join(self.advertiser.names))
        while not self._stop.wait(self.settings.library_scan_interval_s):
            fresh = (content_digest(self.library.books()), self.channels())
            if fresh != state:
                state = fresh
                self.advertiser.update(advertisement(self.settings, *state))
                log.info("mdns: library changed, content digest now %s, mirror channels %r", *state)

    def stop(self) -> None:
        """Withdraw the advertisement (goodbye packets) and release the claim; safe to call twice."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.advertiser.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


@dataclasses.dataclass(frozen=True)
class FoundKit:
    """Another kit that answered on the LAN."""

    name: str
    school: str
    kit_id: str
    version: str
    content: str
    mirror_port: int
    addresses: tuple[str, ...]
    port: int
    channels: dict[str, int] = dataclasses.field(default_factory=dict)  # what its mirror serves: name -> sequence

    @property
    def urls(self) -> list[str]:
        return [f"http://{address}:{self.port}/" for address in self.addresses]


def discover(
    settings: Settings, timeout_s: float, enough: Callable[[list[FoundKit]], bool] = lambda kits: False
) -> list[FoundKit]:
    """Kits that answer on the LAN (on `mdns_interfaces`), sorted by school: as soon as `enough(kits)` holds, else
    after `timeout_s` seconds."""
    found = mdns.browse(
        mdns.KIT_TYPE, timeout_s, interfaces(settings), enough=lambda instances: enough(_kits(instances))
    )
    return _kits(found)


def at_least(count: int) -> Callable[[list[FoundKit]], bool]:
    """For `discover`: enough once `count` kits answered (`tpkit discover --count`)."""
    return lambda kits: len(kits) >= count


def with_kit_id(kit_id: str) -> Callable[[list[FoundKit]], bool]:
    """For `discover`: enough once the kit with `kit_id` answered (`tpkit discover --kit-id`)."""
    return lambda kits: any(kit.kit_id == kit_id for kit in kits)


def _kits(instances: list[mdns.Found]) -> list[FoundKit]:
    kits = []
    for found in instances:
        txt = found.txt
        mirror = txt.get("mirror", "0")
        kits.append(
            FoundKit(
                name=found.name,
                school=txt.get("school", ""),
                kit_id=txt.get("kit_id", ""),
                version=txt.get("version", ""),
                content=txt.get("content", ""),
                mirror_port=whole_number(mirror, max_digits=5) or 0,  # isdigit() then int() failed on "²"
                addresses=found.addresses,
                port=found.port,
                channels=_channels(txt.get("channels", "")),
            )
        )
    return sorted(kits, key=lambda kit: (kit.school.casefold(), kit.name))


def format_channels(sequences: dict[str, int]) -> str:
    """The `channels` TXT value a kit with a peer mirror advertises: what its tree serves, name:sequence."""
    return ",".join(f"{name}:{sequence}" for name, sequence in sorted(sequences.items()))


def _channels(text: str) -> dict[str, int]:
    """The `channels` TXT value ("primary-en:5,county-local:2") as name -> sequence; bad parts are ignored."""
    found = {}
    for part in text.split(","):
        name, _, sequence = part.strip().rpartition(":")
        if name and (number := whole_number(sequence)) is not None:
            found[name] = number
    return found
