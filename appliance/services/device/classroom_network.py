"""The classroom network's configuration files, rendered from templates into a root folder for the chosen
mode: "ap" (hostapd + dnsmasq on the Pi's radio) or "ethernet" (behind the school's access point).

Must not import web or cli. Files only: systemd starts hostapd and dnsmasq when their files exist
(systemd/hostapd.service.d, systemd/dnsmasq.service.d).
"""

from __future__ import annotations

import dataclasses
import string
from importlib import resources
from pathlib import Path

from appliance.services.device.kit_toml import write_atomically

# The kit's address on its own Wi-Fi, and the addresses phones get: a /24 keeps names and
# numbers simple for a technician; 240 leases is far more than one radio can carry.
AP_ADDRESS = "192.168.4.1"
DHCP_FIRST, DHCP_LAST = "192.168.4.10", "192.168.4.250"
SHORT_NAME = "kit"
# The built-in radio of a Pi 3/4 handles about 20 phones reliably; a few more may join and idle. kit.toml's
# [wifi] max_clients changes it (a USB Wi-Fi adapter may carry more; docs/provisioning.md).
MAX_CLIENTS = 24
UPLINK_MATCH = "eth* en* usb* wwan*"
# Where each file goes under the root, and its mode: the hostapd file holds the passphrase.
FILES = {
    "hostapd.conf": ("etc/hostapd/hostapd.conf", 0o600),
    "dnsmasq.conf": ("etc/dnsmasq.d/tpkit.conf", 0o644),
    "ap.network": ("etc/systemd/network/10-tpkit-classroom.network", 0o644),
    "uplink.network": ("etc/systemd/network/20-tpkit-uplink.network", 0o644),
}
AP_ONLY = ("hostapd.conf", "dnsmasq.conf", "ap.network")


@dataclasses.dataclass(frozen=True)
class Classroom:
    """What the templates need: the mode, the access point's interface and, in "ap" mode, the Wi-Fi."""

    mode: str
    interface: str
    kit_id: str
    ssid: str = ""
    passphrase: str = ""
    country: str = ""
    kit_name: str = ""  # <kit_id>.<tls_domain>, the name on the kit's HTTPS certificate ('' without tls_domain)
    max_clients: int = MAX_CLIENTS  # phones the access point lets join at once (hostapd's max_num_sta)
    security: str = "wpa2"  # kit.toml [wifi] security: "wpa2", "wpa2-wpa3" or "wpa3"


def _template(name: str) -> string.Template:
    return string.Template(resources.files("appliance.services.device.network_templates").joinpath(name).read_text())


# hostapd's key management for each [wifi] security. SAE (WPA3-Personal) needs protected management frames: optional
# beside WPA2 (a WPA2 phone has none; an SAE phone must use them), required for WPA3 only.
KEY_MANAGEMENT = {
    "wpa2": "wpa_key_mgmt=WPA-PSK",
    "wpa2-wpa3": "wpa_key_mgmt=WPA-PSK SAE\nieee80211w=1\nsae_require_mfp=1",
    "wpa3": "wpa_key_mgmt=SAE\nieee80211w=2",
}


def _values(classroom: Classroom) -> dict[str, str]:
    hex_psk = len(classroom.passphrase) == 64
    return {
        "interface": classroom.interface,
        "ssid_hex": classroom.ssid.encode().hex(),
        "country": classroom.country,
        "max_clients": str(classroom.max_clients),
        "key_management": KEY_MANAGEMENT[classroom.security],
        "psk_line": f"wpa_psk={classroom.passphrase}" if hex_psk else f"wpa_passphrase={classroom.passphrase}",
        "address": AP_ADDRESS,
        "dhcp_first": DHCP_FIRST,
        "dhcp_last": DHCP_LAST,
        "short_name": SHORT_NAME,
        "kit_id": classroom.kit_id,
        "kit_name_line": (
            f"address=/{classroom.kit_name}/{AP_ADDRESS}"
            if classroom.kit_name
            else "# (no tls_domain: the kit has no name under a county domain)"
        ),
        "uplink_match": UPLINK_MATCH,
    }


def apply(classroom: Classroom, root: Path) -> list[Path]:
    """Write the files of `classroom.mode` under `root` and remove the other mode's; return the files written."""
    values, written = _values(classroom), []
    for name, (relative, mode) in FILES.items():
        target = root / relative
        if classroom.mode != "ap" and name in AP_ONLY:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, _template(name).substitute(values), mode)
        written.append(target)
    return written
