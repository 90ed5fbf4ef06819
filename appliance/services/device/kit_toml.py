"""The provisioning file, kit.toml on the card's boot partition: its format, every check of its values,
writing one (for `tpkit provision`) and taking the secrets out of one (docs/provisioning.md).

Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.config import check_value
from appliance.protocol.kit_ids import kit_id_problem
from appliance.services.device.setup_problems import Problem
from appliance.services.people.auth import is_argon2id_hash

BOOT_FILE_NAME = "kit.toml"
NETWORK_MODES = ("ap", "ethernet")
# (table, key) of the values that must not stay on a card anyone can read in a laptop.
SECRETS = (("wifi", "passphrase"), ("hub", "enrolment_token"), ("admin", "password_hash"))
TOP_KEYS = ("kit_id", "school_name", "time_zone", "network_mode", "trusted_content_keys")
TABLES: dict[str, tuple[str, ...] | None] = {
    "hub": ("url", "enrolment_token"),
    "wifi": ("ssid", "passphrase", "country", "max_clients", "security"),
    "admin": ("password_hash",),
    "settings": None,
}
# WPA2-Personal: 8-63 printable ASCII characters, or exactly 64 hex digits (IEEE 802.11i H.4).
PASSPHRASE = re.compile(r"^[\x20-\x7e]{8,63}$|^[0-9a-fA-F]{64}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2, as hostapd's country_code and the regulatory database
# Phones the access point lets join at once: at most one per address dnsmasq hands out (192.168.4.10-250,
# services/device/classroom_network.py).
MAX_CLIENTS_MOST = 241
# The access point's security: WPA2-Personal for every phone (the default: whether a Pi's own radio runs a WPA3 access
# point is not known, docs/provisioning.md), WPA3-Personal (SAE) beside WPA2 (transition mode), or WPA3 only.
WIFI_SECURITY = ("wpa2", "wpa2-wpa3", "wpa3")
MIN_TOKEN_CHARS = 16


@dataclasses.dataclass
class KitFile:
    """The checked values of one kit.toml. Values that failed a check are None and named in `problems`."""

    source: str
    kit_id: str | None = None
    school_name: str | None = None
    time_zone: str | None = None
    network_mode: str | None = "ap"  # None when the file's value is bad: the network is then left as it was
    trusted_content_keys: tuple[str, ...] = ()
    hub_url: str | None = None
    enrolment_token: str | None = None
    wifi_ssid: str | None = None
    wifi_passphrase: str | None = None
    wifi_country: str | None = None
    wifi_max_clients: int | None = None  # None: classroom_network.MAX_CLIENTS, what a Pi's own radio carries
    wifi_security: str | None = None  # one of WIFI_SECURITY; None: "wpa2"
    admin_password_hash: str | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)  # setup_problems.Problem lines

    def problem(self, key: str, text: str) -> None:
        self.problems.append(Problem(f"{key} in {self.source} {text}", "firstboot.setting", about=key))


def read(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed TOML of `path`, or (None, the problem) when it cannot be read or parsed."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), None
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{path} cannot be read: {exc}"
    except tomllib.TOMLDecodeError as exc:
        return None, f'{path} is not valid TOML: {exc} (write key = "value", one per line)'


def check(data: Mapping[str, Any], source: str) -> KitFile:
    """Every value of a parsed kit.toml checked; all problems collected (a missing secret is not one:
    later boots read a file whose secrets first boot removed)."""
    kit = KitFile(source=source)
    _check_shape(kit, data)
    _check_kit(kit, data)
    _check_wifi(kit, _table(data, "wifi"))
    _check_hub(kit, _table(data, "hub"))
    admin = _table(data, "admin")
    if "password_hash" in admin:
        if isinstance(admin["password_hash"], str) and is_argon2id_hash(admin["password_hash"]):
            kit.admin_password_hash = admin["password_hash"]
        else:
            kit.problem(
                "admin.password_hash",
                "is not an argon2id hash ($argon2id$v=19$…); make one with `tpkit provision --admin-password …`",
            )
    _check_settings(kit, _table(data, "settings"))
    return kit


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A table of the file, or an empty one when it is absent or not a table (_check_shape names that)."""
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _check_shape(kit: KitFile, data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        if key in TABLES:
            if not isinstance(value, dict):
                kit.problem(key, f"must be a table ([{key}])")
                continue
            allowed = TABLES[key]
            if allowed is None:
                continue
            for inner in value:
                if inner not in allowed:
                    kit.problem(f"{key}.{inner}", f"is not a known key (known in [{key}]: {', '.join(allowed)})")
        elif key not in TOP_KEYS:
            kit.problem(
                key,
                f"is not a known key (known: {', '.join(TOP_KEYS)} and the tables "
                f"{', '.join('[' + t + ']' for t in TABLES)})",
            )


def _text(kit: KitFile, data: Mapping[str, Any], key: str, label: str | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        kit.problem(label or key, f"= {value!r} must be a non-empty text in quotes")
        return None
    return value.strip()


def _check_kit(kit: KitFile, data: Mapping[str, Any]) -> None:
    kit_id = _text(kit, data, "kit_id")
    if kit_id is None and "kit_id" not in data:
        kit.problem("kit_id", 'is missing; every kit needs its county id, e.g. kit_id = "gx-0042"')
    elif kit_id is not None and kit_id_problem(kit_id):
        kit.problem("kit_id", f"= {kit_id_problem(kit_id)}")
    else:
        kit.kit_id = kit_id
    kit.school_name = _text(kit, data, "school_name")
    if "school_name" not in data:
        kit.problem(
            "school_name", 'is missing; it is shown on every page, e.g. school_name = "Shuangxi Teaching Point"'
        )
    zone = _text(kit, data, "time_zone")
    if zone is not None:
        if _known_zone(zone):
            kit.time_zone = zone
        else:
            kit.problem(
                "time_zone",
                f'= {zone!r} is not a time zone name; use one like "Asia/Shanghai" (timedatectl list-timezones)',
            )
    mode = data.get("network_mode", "ap")
    kit.network_mode = mode if mode in NETWORK_MODES else None
    if kit.network_mode is None:
        kit.problem(
            "network_mode",
            f'= {mode!r} must be "ap" (the kit is the classroom Wi-Fi) or "ethernet" '
            "(the kit sits behind the school's access point)",
        )
    keys = data.get("trusted_content_keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        kit.problem("trusted_content_keys", 'must be a list of minisign public keys: ["RWQ…", …]')
        return
    _, problem = check_value("trusted_channel_keys", ",".join(keys), f"{kit.source} key trusted_content_keys")
    if problem:
        kit.problems.append(Problem(problem, "firstboot.setting", about="trusted_content_keys"))
    else:
        kit.trusted_content_keys = tuple(keys)


def _known_zone(zone: str) -> bool:
    """In the time zone database; on a machine without one (a technician's laptop may lack tzdata), any
    Area/City-shaped name passes and the kit's timedatectl has the last word."""
    if not any(Path(folder).is_dir() for folder in zoneinfo.TZPATH):
        return re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z0-9_+-]+){0,2}", zone) is not None
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_wifi(kit: KitFile, wifi: Mapping[str, Any]) -> None:
    ssid = _text(kit, wifi, "ssid", "wifi.ssid")
    if ssid is not None and not 1 <= len(ssid.encode()) <= 32:
        kit.problem(
            "wifi.ssid",
            f"= {ssid!r} is {len(ssid.encode())} bytes long; a Wi-Fi name has at most 32 (a Chinese character takes 3)",
        )
    else:
        kit.wifi_ssid = ssid
    passphrase = wifi.get("passphrase")
    if passphrase is not None:
        if isinstance(passphrase, str) and PASSPHRASE.match(passphrase):
            kit.wifi_passphrase = passphrase
        else:
            length = len(passphrase) if isinstance(passphrase, str) else "no"
            kit.problem(
                "wifi.passphrase",
                f"has {length} characters; WPA2 needs 8 to 63 ASCII letters, digits "
                "and signs (it is not quoted here: it is a secret)",
            )
    country = wifi.get("country")
    if country is not None:
        if isinstance(country, str) and COUNTRY.match(country):
            kit.wifi_country = country
        else:
            kit.problem(
                "wifi.country",
                f'= {country!r} must be two capital letters (ISO 3166), e.g. "CN"; '
                "it sets the radio channels allowed by law",
            )
    most = wifi.get("max_clients")
    if most is not None:
        if isinstance(most, int) and not isinstance(most, bool) and 1 <= most <= MAX_CLIENTS_MOST:
            kit.wifi_max_clients = most
        else:
            kit.problem(
                "wifi.max_clients",
                f"= {most!r} must be a whole number from 1 to {MAX_CLIENTS_MOST}: how many phones may join the "
                "classroom Wi-Fi at once (leave it out for a Pi's own radio; a USB Wi-Fi adapter may carry more)",
            )
    security = wifi.get("security")
    if security is not None:
        if security in WIFI_SECURITY:
            kit.wifi_security = security
        else:
            kit.problem(
                "wifi.security",
                f'= {security!r} must be "wpa2" (every phone; a Pi\'s own radio), "wpa2-wpa3" (WPA3 phones use it, '
                'older ones WPA2; a USB Wi-Fi adapter that can) or "wpa3" (WPA3 phones only)',
            )
    if kit.wifi_security in WIFI_SECURITY[1:] and isinstance(passphrase, str) and len(passphrase) == 64:
        kit.wifi_security = None
        kit.problem(
            "wifi.passphrase",
            f'is a 64-digit key, which only WPA2 takes; security = "{security}" needs the passphrase itself '
            "(8 to 63 characters), and the Wi-Fi stays WPA2 until it has it",
        )
    if kit.network_mode == "ap":
        for key, value in (("ssid", ssid), ("country", country)):
            if value is None and key not in wifi:
                kit.problem(f"wifi.{key}", 'is missing; network_mode = "ap" needs [wifi] ssid, passphrase and country')


def _check_hub(kit: KitFile, hub: Mapping[str, Any]) -> None:
    url = _text(kit, hub, "url", "hub.url")
    if url is not None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme in ("http", "https") and parsed.hostname:
            kit.hub_url = url
        else:
            kit.problem("hub.url", f'= {url!r} must be an https:// address, e.g. "https://hub.county.example/"')
    token = hub.get("enrolment_token")
    if token is not None:
        if isinstance(token, str) and len(token.strip()) >= MIN_TOKEN_CHARS:
            kit.enrolment_token = token.strip()
        else:
            kit.problem(
                "hub.enrolment_token",
                f"must be the one-time token the hub gave for this kit "
                f"(at least {MIN_TOKEN_CHARS} characters; not quoted here: it is a secret)",
            )


def _check_settings(kit: KitFile, settings: Mapping[str, Any]) -> None:
    owned = {
        "kit_id": "kit_id",
        "school_name": "school_name",
        "hub_url": "[hub] url",
        "trusted_channel_keys": "trusted_content_keys",
    }
    for name, raw in settings.items():
        if name in owned:
            kit.problem(f"settings.{name}", f"is set by {owned[name]} in the same file; remove it from [settings]")
            continue
        value, problem = check_value(name, raw, f"{kit.source} key settings.{name}")
        if problem:
            kit.problems.append(Problem(problem, "firstboot.setting", about=f"settings.{name}"))
        else:
            kit.settings[name] = raw if not isinstance(value, Path) else str(value)


def toml_value(value: Any) -> str:
    """A str, int, float, bool or list of them as a TOML value (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def render(values: Mapping[str, Any]) -> str:
    """A kit.toml for the boot partition from flat values (the names of `tpkit provision`'s options)."""
    lines = [
        "# tpkit provisioning file: the kit applies it at every boot (docs/provisioning.md).",
        "# First boot moves the secrets (Wi-Fi passphrase, enrolment token, password hash) onto the kit",
        "# and removes them from this file. Edit the rest at any time; it is applied at the next boot.",
        "",
    ]
    for key in TOP_KEYS:
        if values.get(key) not in (None, "", (), []):
            lines.append(f"{key} = {toml_value(values[key])}")
    for table, pairs in (
        ("hub", (("url", "hub_url"), ("enrolment_token", "enrolment_token"))),
        (
            "wifi",
            (
                ("ssid", "wifi_ssid"),
                ("passphrase", "wifi_passphrase"),
                ("country", "wifi_country"),
                ("max_clients", "wifi_max_clients"),
                ("security", "wifi_security"),
            ),
        ),
        ("admin", (("password_hash", "admin_password_hash"),)),
        ("settings", tuple((k, k) for k in values.get("settings", {}))),
    ):
        source = values.get("settings", {}) if table == "settings" else values
        present = [(key, source[name]) for key, name in pairs if source.get(name) not in (None, "")]
        if present:
            lines += ["", f"[{table}]"] + [f"{key} = {toml_value(value)}" for key, value in present]
    return "\n".join(lines) + "\n"


def without_secrets(text: str, stamp: str) -> str:
    """`text` (a kit.toml) with each secret's line replaced by a comment saying when it was taken onto the kit;
    every other line, comments included, kept as it was."""
    table, out = "", []
    for line in text.splitlines(keepends=True):
        header = re.match(r"^\s*\[\s*([A-Za-z_]+)\s*\]", line)
        if header:
            table = header.group(1)
        key = re.match(r"^\s*([A-Za-z_]+)\s*=", line)
        if key and (table, key.group(1)) in SECRETS:
            out.append(f"# {key.group(1)}: moved onto the kit by tpkit firstboot on {stamp}\n")
        else:
            out.append(line)
    return "".join(out)


def has_secrets(data: Mapping[str, Any]) -> bool:
    return any(key in (data.get(table) or {}) for table, key in SECRETS)


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text`: a temporary file beside it, fsync, rename (a power cut leaves old or new)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    except OSError:
        pass  # FAT (the boot partition) cannot fsync a directory; the rename itself is what matters there
    finally:
        os.close(folder)


def dump(data: Mapping[str, Any]) -> str:
    """Parsed kit.toml data written back as TOML (top-level values, then one level of tables; empty ones left
    out). Comments are lost: used only when the line-by-line removal of secrets cannot be trusted."""
    lines = [f"{key} = {toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for table, values in data.items():
        if isinstance(values, dict) and values:
            lines += ["", f"[{table}]"] + [f"{key} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
