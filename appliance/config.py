"""The kit's settings spec, and the machinery both programs build their settings with: defaults < TOML file <
TPKIT_* environment < command-line flags (the county hub's own spec is hub/settings.py; every hub setting is
named hub_*, and each program ignores the other's names without a warning).

Built once at start-up by the CLI and passed down; nothing reads settings at import time.
Imports only `errors`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from appliance.errors import ConfigError

ENV_PREFIX = "TPKIT_"
CONFIG_ENV = "TPKIT_CONFIG"
# Where each setting came from in `tpkit serve`, handed to its worker processes with the values (JSON), so the
# admin page names kit.toml or a flag rather than the environment the parent prepared.
SOURCES_ENV = "TPKIT_SOURCES"
LANGUAGES = ("en", "zh")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One documented setting: its type, default and a check that returns a problem or None."""

    name: str
    kind: type
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be between 1 and 65535"


def _port_or_zero(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be 0 (off) or between 1 and 65535"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _language(value: str) -> str | None:
    return None if value in LANGUAGES else f"must be one of {', '.join(LANGUAGES)}"


# Every teaching point tpkit is made for is on China Standard Time; the zone of a kit or hub that names none.
DEFAULT_TIME_ZONE = "Asia/Shanghai"
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), DEFAULT_TIME_ZONE)  # the same days, for a system without tzdata


def zone_of(name: str | None) -> dt.tzinfo:
    """The time zone a `time_zone` setting names: DEFAULT_TIME_ZONE when it names none, China's time when the system
    does not know the name (a trimmed image without tzdata; settings are checked by `_time_zone` when read)."""
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return CHINA_TIME


def _time_zone(value: str) -> str | None:
    """An IANA zone the time zone database has (Debian's tzdata package; the image installs it)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return (
            'is not a time zone name: use one like "Asia/Shanghai" (`timedatectl list-timezones` lists them; '
            "a machine without any needs the tzdata package)"
        )
    return None


def _pin_digits(value: int) -> str | None:
    return None if 4 <= value <= 6 else "must be 4, 5 or 6"


def _bcm_pin(value: int) -> str | None:
    return None if 0 <= value <= 27 else "must be a BCM GPIO number between 0 and 27 (the 40-pin header)"


def _log_level(value: str) -> str | None:
    levels = ("debug", "info", "warning", "error")
    return None if value in levels else f"must be one of {', '.join(levels)}"


def _interfaces(value: str) -> str | None:
    if value == "all":
        return None
    for part in value.split(","):
        try:
            ipaddress.IPv4Address(part.strip())
        except ValueError:
            return f'must be "all" or a comma-separated list of IPv4 addresses ({part.strip()!r} is not one)'
    return None


def _channel_keys(value: str) -> str | None:
    """Shape only: each entry a minisign base64 key line (56 characters) or a path; the keys are read when used."""
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if not ("/" in part or part.endswith(".pub") or (len(part) == 56 and part.startswith("RW"))):
            return (
                f"must list minisign public keys (base64 lines starting RW…) or .pub file paths ({part!r} is neither)"
            )
    return None


def _domain(value: str) -> str | None:
    """Empty, or a DNS domain: dot-separated labels of lower-case letters, digits and inner dashes."""
    labels = value.split(".")
    ok = not value or (
        len(value) <= 200
        and len(labels) >= 2
        and all(
            0 < len(label) <= 63
            and label[0] != "-"
            and label[-1] != "-"
            and all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in label)
            for label in labels
        )
    )
    return None if ok else "must be empty or a domain like kits.county.example (lower-case letters, digits, dashes)"


def _kit_id(value: str) -> str | None:
    """The shape the hub accepts in reports (docs/reporting.md): 1–64 letters, digits, '.', '_' or '-'."""
    ok = (
        1 <= len(value) <= 64
        and value[0].isascii()
        and value[0].isalnum()
        and all(c.isascii() and (c.isalnum() or c in "._-") for c in value)
    )
    return None if ok else "must be 1–64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"


def _hub_url(value: str) -> str | None:
    """Empty (no hub: reports wait in the outbox) or an http(s) address without a query."""
    if value and (
        not value.startswith(("http://", "https://")) or "?" in value or "#" in value or len(value.split("/")[2]) == 0
    ):
        return "must be empty or an address like https://hub.county.example (http:// or https://, no ? or #)"
    return None


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


# The checks the hub's own spec (hub/settings.py) shares with the kit's.
check_port, check_positive, check_not_negative = _port, _positive, _not_negative
check_time_zone = _time_zone


def _percent(value: int) -> str | None:
    return None if 0 <= value <= 100 else "must be from 0 to 100"


def _sync_source(value: str) -> str | None:
    if not value or value.startswith("rsync://") or value.startswith("/"):
        return None
    return "must be an rsync:// URL (rsync://mirror.example:873/tpkit) or an absolute folder path"


WINDOW_PART = re.compile(r"[A-Za-z]{3,9}(-[A-Za-z]{3,9})?( +\d{1,2}(:\d\d)?-\d{1,2}(:\d\d)?)?")


def _sync_windows(value: str) -> str | None:
    bad = [p.strip() for p in value.split(",") if p.strip() and not WINDOW_PART.fullmatch(p.strip())]
    return f'must list windows like "Mon-Fri 16:00-07:00, Sat-Sun" ({bad[0]!r} is not one)' if bad else None


def _sync_tags(value: str) -> str | None:
    bad = [p.strip() for p in value.split(",") if p.strip() and ":" not in p]
    return f"must list key:value tags ({bad[0]!r} has no ':')" if bad else None


def _home_page(value: str) -> str | None:
    """Empty (derived from kit_id) or an http(s) address: xAPI wants an IRL for an account's homePage."""
    if value and (
        not value.startswith(("http://", "https://"))
        or len(value.split("/")[2]) == 0
        or any(c.isspace() for c in value)
    ):
        return "must be empty or an address like https://county.example (http:// or https://, no spaces)"
    return None


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


SPEC: tuple[Setting, ...] = (
    Setting("data_dir", Path, Path("/var/lib/tpkit"), "Folder for people's data: database, uploads, keys."),
    Setting("content_dir", Path, None, "Folder of ZIM books (read-only packages). Default: <data_dir>/content."),
    Setting("host", str, "127.0.0.1", "Address the web server listens on (0.0.0.0 on a kit)."),
    Setting("port", int, 8080, "TCP port of the web server.", _port),
    Setting(
        "https_port",
        int,
        0,
        "TCP port of the web server's HTTPS beside HTTP (443 on a kit with a county certificate); 0: no HTTPS.",
        _port_or_zero,
    ),
    Setting(
        "tls_domain",
        str,
        "",
        "The county's domain for its kits' names: this kit is <kit_id>.<tls_domain> (e.g. kits.county.example); "
        "empty: no name, no certificate.",
        _domain,
    ),
    Setting(
        "kit_id",
        str,
        "tpkit-dev",
        "This kit's id in the county (set at provisioning; shown to technicians, advertised on the LAN).",
        _kit_id,
    ),
    Setting("school_name", str, "tpkit", "Shown on the home page and advertised on the LAN."),
    Setting("wifi_name", str, "", "The classroom Wi-Fi's name, printed on the sign-in cards (first boot writes it)."),
    Setting("default_language", str, "en", "Page language when the browser asks for none we have (en, zh).", _language),
    Setting(
        "time_zone",
        str,
        DEFAULT_TIME_ZONE,
        "The time zone pages, printouts and exports show times in (an IANA name, e.g. Asia/Shanghai).",
        _time_zone,
    ),
    Setting(
        "library_scan_interval_s",
        float,
        2.0,
        "How often the content folder is checked for added or removed books.",
        _positive,
    ),
    Setting(
        "search_page_length", int, 10, "Results per page of the search page when the address does not say.", _positive
    ),
    Setting(
        "cache_max_age_s", int, 3600, "Cache-Control max-age for book content; ETags revalidate after it.", _positive
    ),
    Setting(
        "pin_digits",
        int,
        4,
        "Digits of the PINs the kit makes for students (4 to 6; docs/learning-space.md).",
        _pin_digits,
    ),
    Setting(
        "lesson_upload_max_mb",
        int,
        200,
        "Largest file a teacher may add to a lesson (PDF, image, video, audio), in MB.",
        _positive,
    ),
    Setting(
        "handin_photo_max_mb",
        int,
        15,
        "Largest photo a student may hand in, in MB (a phone's camera makes 2 to 8 MB).",
        _positive,
    ),
    Setting(
        "handin_lesson_quota_mb",
        int,
        20,
        "What one student's hand-ins for one lesson may hold on the kit, in MB (~50 photos as the kit keeps them).",
        _positive,
    ),
    Setting(
        "handin_student_quota_mb",
        int,
        150,
        "What one student's hand-ins for all lessons may hold on the kit, in MB (a school year's homework; 30 "
        "students × 150 MB = 4.5 GB of a 32 GB SD card).",
        _positive,
    ),
    Setting(
        "handin_free_reserve_mb",
        int,
        512,
        "Free space (MiB) hand-ins must leave on the data disk, for the database, the journal and backups.",
        _positive,
    ),
    Setting(
        "handin_photo_max_edge_px",
        int,
        1600,
        "Hand-in photos are scaled down to this many pixels on their longer edge (and their EXIF, with any location, removed).",
        _positive,
    ),
    Setting("log_level", str, "info", "debug, info, warning or error.", _log_level),
    Setting(
        "web_workers", int, 2, "Web server processes; one per CPU core uses the whole Pi (each adds ~35 MB).", _positive
    ),
    Setting(
        "web_threads",
        int,
        3,
        "Threads per web worker that read books and the database (libzim holds the GIL, so more add memory, not speed).",
        _positive,
    ),
    Setting(
        "memory_mb",
        int,
        0,
        "RAM the book caches are sized for, in MB; 0: the machine's own (MemTotal). 1024 shows a 1 GB Pi's sizes.",
        _not_negative,
    ),
    Setting(
        "ap_interface",
        str,
        "wlan0",
        "Wi-Fi interface of the classroom access point (clients counted by `tpkit health`).",
    ),
    Setting(
        "health_cache_s",
        float,
        5.0,
        "How long health readings that run commands (vcgencmd, iw, systemctl…) are reused.",
        _positive,
    ),
    Setting(
        "mdns_enabled",
        bool,
        True,
        "Advertise the kit on the LAN with mDNS (found by `tpkit discover` and mDNS browsers).",
    ),
    Setting(
        "mdns_interfaces",
        str,
        "all",
        'IPv4 addresses to advertise on, comma-separated, or "all" (every address but loopback).',
        _interfaces,
    ),
    Setting(
        "panel_poll_interval_s",
        float,
        2.0,
        "How often the status panel asks the web server for the kit's health.",
        _positive,
    ),
    Setting("panel_led_serving_pin", int, 17, "BCM number of the 'serving' light (header pin 11).", _bcm_pin),
    Setting("panel_led_sync_pin", int, 27, "BCM number of the 'sync' light (header pin 13).", _bcm_pin),
    Setting("panel_led_fault_pin", int, 22, "BCM number of the 'fault' light (header pin 15).", _bcm_pin),
    Setting(
        "panel_button_pin", int, 3, "BCM number of the button (header pin 5; GPIO3 also wakes a halted Pi).", _bcm_pin
    ),
    Setting("panel_buzzer_pin", int, None, "BCM number of an optional active buzzer; unset for none.", _bcm_pin),
    Setting(
        "panel_hold_state_s",
        float,
        3.0,
        "Holding the button this long, then letting go, shows the kit's state.",
        _positive,
    ),
    Setting("panel_hold_shutdown_s", float, 5.0, "Holding the button this long shuts the kit down.", _positive),
    Setting(
        "trusted_channel_keys",
        str,
        "",
        "Minisign public keys whose channel indexes the kit accepts: base64 "
        "key lines or paths to .pub files, comma-separated (docs/channels.md).",
        _channel_keys,
    ),
    Setting(
        "hub_url",
        str,
        "",
        "The county hub that `tpkit report` delivers to (https://…); empty: reports wait "
        "in the outbox (docs/reporting.md).",
        _hub_url,
    ),
    Setting(
        "hub_enrol_token",
        str,
        "",
        "One-time enrolment token from the hub; presented once with the kit's public key, then not needed.",
    ),
    Setting(
        "sync_source",
        str,
        "",
        "Where `tpkit sync` fetches channels: rsync://host[:port]/module or a local "
        "folder holding one folder per channel (docs/sync.md).",
        _sync_source,
    ),
    Setting(
        "sync_channels", str, "", "Channels this kit subscribes to, comma-separated (e.g. primary-zh,county-local)."
    ),
    Setting("sync_packages", str, "", "Only these package ids, comma-separated; empty: every package of the channels."),
    Setting(
        "sync_tags",
        str,
        "",
        "Only packages carrying one of these tags, comma-separated key:value "
        "(e.g. grade:3,grade:4); empty: no tag filter.",
        _sync_tags,
    ),
    Setting(
        "disk_reserve_mb",
        int,
        1024,
        "Free space a sync must leave on the content disk; a plan that would go below it is refused.",
        _not_negative,
    ),
    Setting("sync_rate_cap_kbps", int, 0, "Download rate cap in KiB/s (rsync --bwlimit); 0: no cap.", _not_negative),
    Setting(
        "sync_rate_cap_percent",
        int,
        0,
        "Download rate cap as a share (%) of the measured uplink speed; 0: no "
        "cap. With sync_rate_cap_kbps too, the lower wins (docs/uplink.md).",
        _percent,
    ),
    Setting(
        "sync_windows",
        str,
        "",
        "When sync may download, in the kit's local time: comma-separated day ranges "
        'with optional times, e.g. "Mon-Fri 16:00-07:00, Sat-Sun"; empty: any time.',
        _sync_windows,
    ),
    Setting(
        "sync_month_budget_mb",
        int,
        0,
        "Most MiB sync may receive per calendar month (UTC) on a metered link; 0: no budget.",
        _not_negative,
    ),
    Setting(
        "sync_patch_chain_max",
        int,
        4,
        "Most patches sync applies in a row to update a book; a kit further "
        "behind (or 0) fetches the full book (docs/sync.md).",
        _not_negative,
    ),
    Setting(
        "sync_layer_min_bytes",
        int,
        64 * 1024 * 1024,
        "A book whose installed file is at least this many bytes is updated by patch as a layer over it "
        "(applying costs the edit); a smaller one is rebuilt (docs/sync.md).",
        _not_negative,
    ),
    Setting(
        "sync_layers_max",
        int,
        8,
        "Layers a book may carry: an update by patch of a book with this many is rebuilt into one file "
        "(when the disk allows) instead of adding one more (docs/sync.md).",
        _positive,
    ),
    Setting(
        "sync_timeout_s",
        int,
        60,
        "A transfer that moves no data for this long fails (rsync --timeout, --contimeout).",
        _positive,
    ),
    Setting(
        "sync_yield_kbps",
        int,
        24,
        "People's traffic on the uplink (KiB/s, beyond sync's own) that makes a "
        "download from an rsync mirror step aside; 0: never yield (docs/uplink.md).",
        _not_negative,
    ),
    Setting(
        "sync_yield_pause_s",
        float,
        1.5,
        "How long people's traffic must stay above sync_yield_kbps before sync stops (a phone's short burst does not).",
        _not_negative,
    ),
    Setting(
        "sync_yield_resume_s", float, 60.0, "How long the uplink must be quiet before sync resumes.", _not_negative
    ),
    Setting(
        "sync_peer_browse_s",
        float,
        3.0,
        "How long `tpkit sync` listens for peer kits (mDNS) whose mirror has "
        "a channel's newest sequence, tried before sync_source; 0: never use peers.",
        _not_negative,
    ),
    Setting(
        "mirror_port",
        int,
        0,
        "TCP port of this kit's read-only peer mirror (tpkit-mirror.service, rsync) for "
        "other kits on the LAN, advertised over mDNS; 0: no mirror.",
        _port_or_zero,
    ),
    Setting(
        "uplink_interface",
        str,
        "",
        "The interface to the internet whose traffic sync yields to; empty: the "
        "first interface with a default route other than ap_interface.",
    ),
    Setting(
        "records_home_page",
        str,
        "",
        "The actor account homePage of learning records (xAPI): the county's "
        "address; empty: https://tpkit.invalid/kits/<kit_id> (docs/learning-space.md).",
        _home_page,
    ),
    Setting(
        "records_real_names",
        bool,
        False,
        "Put students' real names, not their pseudonymous ids, into "
        "learning records sent upstream (only when the school decides so).",
    ),
)
PANEL_PINS = (
    "panel_led_serving_pin",
    "panel_led_sync_pin",
    "panel_led_fault_pin",
    "panel_button_pin",
    "panel_buzzer_pin",
)
SPEC_BY_NAME = {s.name: s for s in SPEC}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Effective settings and, for each, where its value came from."""

    data_dir: Path
    content_dir: Path
    host: str
    port: int
    https_port: int
    tls_domain: str
    kit_id: str
    school_name: str
    wifi_name: str
    default_language: str
    time_zone: str
    library_scan_interval_s: float
    search_page_length: int
    cache_max_age_s: int
    pin_digits: int
    lesson_upload_max_mb: int
    handin_photo_max_mb: int
    handin_lesson_quota_mb: int
    handin_student_quota_mb: int
    handin_free_reserve_mb: int
    handin_photo_max_edge_px: int
    log_level: str
    web_workers: int
    web_threads: int
    memory_mb: int
    ap_interface: str
    health_cache_s: float
    mdns_enabled: bool
    mdns_interfaces: str
    panel_poll_interval_s: float
    panel_led_serving_pin: int
    panel_led_sync_pin: int
    panel_led_fault_pin: int
    panel_button_pin: int
    panel_buzzer_pin: int | None
    panel_hold_state_s: float
    panel_hold_shutdown_s: float
    hub_url: str
    trusted_channel_keys: str
    hub_enrol_token: str
    sync_source: str
    sync_channels: str
    sync_packages: str
    sync_tags: str
    disk_reserve_mb: int
    sync_rate_cap_kbps: int
    sync_rate_cap_percent: int
    sync_windows: str
    sync_month_budget_mb: int
    sync_patch_chain_max: int
    sync_layer_min_bytes: int
    sync_layers_max: int
    sync_timeout_s: int
    sync_yield_kbps: int
    sync_yield_pause_s: float
    sync_yield_resume_s: float
    sync_peer_browse_s: float
    mirror_port: int
    uplink_interface: str
    records_home_page: str
    records_real_names: bool
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()


def _convert(setting: Setting, raw: Any, origin: str) -> tuple[Any, str | None]:
    """Turn a raw TOML or environment value into the setting's type, or name the problem."""
    try:
        if setting.kind is bool:
            value: Any = _boolean(raw)
        elif isinstance(raw, bool):
            raise ValueError
        elif setting.kind is Path:
            if not isinstance(raw, str) or not raw:
                raise ValueError
            value = Path(raw).expanduser()
        elif setting.kind in (int, float):
            value = setting.kind(raw)
        else:
            if not isinstance(raw, str):
                raise ValueError
            value = raw
    except (TypeError, ValueError):
        expected = "true or false" if setting.kind is bool else f"a valid {setting.kind.__name__}"
        return None, f"{setting.name} = {raw!r} (from {origin}) is not {expected}"
    problem = setting.check(value) if setting.check else None
    if problem:
        return None, f"{setting.name} = {raw!r} (from {origin}) {problem}"
    return value, None


def check_value(name: str, raw: Any, origin: str) -> tuple[Any, str | None]:
    """One setting's value converted and checked as a file or variable would be: (value, None) or (None, problem);
    a name not in SPEC is a problem too."""
    if name not in SPEC_BY_NAME:
        return None, f"{name} (from {origin}) is not a tpkit setting (see docs/settings.md)"
    return _convert(SPEC_BY_NAME[name], raw, origin)


def _boolean(raw: Any) -> bool:
    """A TOML boolean, or one of the words an environment variable or flag may carry."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    raise ValueError


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"The settings file {path} does not exist.",
            cause=f"--config or {CONFIG_ENV} names a file that is not there.",
            fix=f"Create {path}, or drop --config / unset {CONFIG_ENV} to use the defaults.",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The settings file {path} is not valid TOML: {exc}.",
            fix=f'Correct the line named above in {path} (TOML: key = "value").',
        ) from exc


def _file_keys(data: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """(setting name, key as written, value) of a settings file: its top-level keys, and those of a `[kit]` table,
    which reads the same (`[kit] time_zone = "Asia/Shanghai"` is `time_zone = "Asia/Shanghai"`)."""
    table = data.get("kit")
    found = [(key, key, raw) for key, raw in data.items() if not (key == "kit" and isinstance(table, dict))]
    if isinstance(table, dict):
        found += [(key, f"kit.{key}", raw) for key, raw in table.items()]
    return found


def _layers(
    by_name: Mapping[str, Setting],
    config_file: Path | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
    foreign: Callable[[str], bool],
):
    """(name, raw value, origin) from every source, lowest precedence first; and warnings (none for a `foreign`
    name: the other program's setting, in a file or environment the two share)."""
    warnings: list[str] = []
    layers: list[tuple[str, Any, str]] = []
    if config_file is not None:
        for key, label, raw in _file_keys(_read_toml(config_file)):
            if key in by_name:
                layers.append((key, raw, f"{config_file} key {label}"))
            elif not foreign(key):
                warnings.append(f"Unknown key {label!r} in {config_file} is ignored (known: see docs/settings.md).")
    for env_name, raw in environ.items():
        if not env_name.startswith(ENV_PREFIX) or env_name in (CONFIG_ENV, SOURCES_ENV):
            continue
        key = env_name[len(ENV_PREFIX) :].lower()
        if key in by_name:
            layers.append((key, raw, f"environment variable {env_name}"))
        elif not foreign(key):
            warnings.append(f"Unknown environment variable {env_name} is ignored (known: see docs/settings.md).")
    for key, raw in overrides.items():
        if raw is not None:
            layers.append(
                (key, str(raw) if isinstance(raw, Path) else raw, f"command-line flag --{key.replace('_', '-')}")
            )
    return layers, warnings


def as_environment(settings) -> dict[str, str]:
    """Every effective setting (of the kit's Settings or the hub's) as TPKIT_* variables, so a worker process
    rebuilds the same settings."""
    values = {
        f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name not in ("sources", "warnings")
    }
    handed = {f"{ENV_PREFIX}{name.upper()}": str(value) for name, value in values.items() if value is not None}
    return {**handed, SOURCES_ENV: json.dumps(dict(settings.sources))}


def _cross_problems(values: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    """Problems between settings: two panel parts on one pin, a shutdown hold not longer than the state hold."""
    problems: list[str] = []
    seen: dict[Any, str] = {}
    for name in PANEL_PINS:
        pin = values[name]
        if pin is not None and pin in seen:
            problems.append(
                f"{name} = {pin} (from {sources[name]}) is the same pin as {seen[pin]}; "
                "each light, the button and the buzzer need their own pin"
            )
        if pin is not None:
            seen.setdefault(pin, name)
    if values["panel_hold_shutdown_s"] <= values["panel_hold_state_s"]:
        problems.append(
            f"panel_hold_shutdown_s = {values['panel_hold_shutdown_s']} "
            f"(from {sources['panel_hold_shutdown_s']}) must be longer than panel_hold_state_s = "
            f"{values['panel_hold_state_s']}"
        )
    return problems


def resolve(
    spec: tuple[Setting, ...],
    config_file: Path | None,
    environ: Mapping[str, str] | None,
    overrides: Mapping[str, Any] | None,
    foreign: Callable[[str], bool],
    cross: Callable[[Mapping[str, Any], Mapping[str, str]], list[str]] = lambda values, sources: [],
    listed_by: str = "`tpkit check` lists the effective settings",
) -> tuple[dict[str, Any], dict[str, str], tuple[str, ...]]:
    """The values of `spec` from every source, where each came from, and warnings; one ConfigError listing every
    problem (`cross` adds problems between settings; `listed_by` ends its fix). Paths are made absolute by `finish`."""
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(CONFIG_ENV):
        config_file = Path(environ[CONFIG_ENV])
    by_name = {s.name: s for s in spec}
    layers, warnings = _layers(by_name, config_file, environ, overrides or {}, foreign)
    values = {s.name: s.default for s in spec}
    sources = {s.name: "default" for s in spec}
    problems: list[str] = []
    for name, raw, origin in layers:
        value, problem = _convert(by_name[name], raw, origin)
        if problem:
            problems.append(problem)
        else:
            values[name], sources[name] = value, origin
    problems += cross(values, sources)
    if problems:
        raise ConfigError(
            f"{len(problems)} setting(s) cannot be used:\n  - " + "\n  - ".join(problems),
            fix=f"Correct each value where it came from (file key, environment variable or flag); {listed_by}.",
        )
    return values, sources, tuple(warnings)


def finish(values: dict[str, Any], sources: dict[str, str], environ: Mapping[str, str] | None) -> dict[str, Any]:
    """Paths made absolute, and the sources a parent process handed down put back (in place for `sources`)."""
    environ = os.environ if environ is None else environ
    for name, origin in _handed_sources(environ).items():
        if sources.get(name, "").startswith("environment variable"):  # the value came with it from `tpkit serve`
            sources[name] = origin
    return {k: (v.absolute() if isinstance(v, Path) else v) for k, v in values.items()}


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the kit's effective settings; raise one ConfigError listing every problem found."""
    # Every hub setting is named hub_* (hub/settings.py): the kit passes over them in a shared file or environment.
    values, sources, warnings = resolve(
        SPEC, config_file, environ, overrides, foreign=lambda name: name.startswith("hub_"), cross=_cross_problems
    )
    if values["content_dir"] is None:
        values["content_dir"] = values["data_dir"] / "content"
        sources["content_dir"] = "derived from data_dir"
    return Settings(**finish(values, sources, environ), sources=sources, warnings=warnings)


def _handed_sources(environ: Mapping[str, str]) -> dict[str, str]:
    """The sources `as_environment` handed down (empty when absent or not a JSON object of strings)."""
    try:
        handed = json.loads(environ.get(SOURCES_ENV, "{}"))
    except ValueError:
        return {}
    return (
        {k: v for k, v in handed.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(handed, dict)
        else {}
    )
