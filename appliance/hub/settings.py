"""The county hub's settings, apart from the kit's: defaults < TOML file (its own, /etc/tpkit/hub.toml, named by
--config or TPKIT_CONFIG as the hub's units do) < TPKIT_HUB_* environment < command-line flags.

Built once by `tpkit hub …` (and by each worker process, `hub.asgi`) and passed down. Every hub setting is named
hub_*, so the kit's settings ignore them and the hub ignores the kit's. Imports only config and errors.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.config import (
    DEFAULT_TIME_ZONE,
    SPEC_BY_NAME,
    Setting,
    check_not_negative,
    check_port,
    check_positive,
    check_time_zone,
    finish,
    resolve,
)


def _database_url(value: str) -> str | None:
    if value == "" or value.startswith(("postgresql://", "postgres://")):
        return None
    return "must be empty (SQLite under hub_data_dir) or a postgresql://user:password@host:port/database URL"


def _http_url(value: str) -> str | None:
    return None if value == "" or value.startswith(("http://", "https://")) else "must be empty or an http(s):// URL"


METRICS_KITS = ("auto", "all", "alerting")
NOTIFY_LANGUAGES = ("zh", "en")
_ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def _notify_language(value: str) -> str | None:
    return None if value in NOTIFY_LANGUAGES else "must be zh (Chinese) or en (English)"


def _host_port(value: str) -> str | None:
    if value == "":
        return None
    host, _, port = value.rpartition(":")
    if host and port.isdigit() and 0 < int(port) < 65536:
        return None
    return "must be empty (no mail) or the mail relay as host:port, e.g. smtp.example.cn:587"


def _addresses(value: str) -> str | None:
    if all(_ADDRESS.fullmatch(part.strip()) for part in value.split(",") if part.strip()):
        return None
    return "must be e-mail addresses (name@example.cn), separated by commas"


def _metrics_kits(value: str) -> str | None:
    return (
        None
        if value in METRICS_KITS
        else "must be auto (all up to 10,000 kits, else alerting), all (every kit's series) or alerting (only kits "
        "not ok)"
    )


HUB_SPEC: tuple[Setting, ...] = (
    Setting(
        "hub_data_dir",
        Path,
        Path("/var/lib/tpkit-hub"),
        "County hub: folder of its SQLite database (when hub_database_url is empty).",
    ),
    Setting(
        "hub_database_url",
        str,
        "",
        "County hub: a postgresql:// URL to keep the fleet in PostgreSQL; empty for SQLite under hub_data_dir.",
        _database_url,
    ),
    Setting(
        "hub_database_pool_size",
        int,
        8,  # storage/database.POOL_SIZE
        "County hub: database connections each worker process holds at most (PostgreSQL; "
        "SQLite keeps this many open while idle); a request waits up to 5 s for a free one, then gets 503.",
        check_positive,
    ),
    Setting("hub_host", str, "127.0.0.1", "County hub: address `tpkit hub serve` listens on."),
    Setting("hub_port", int, 8090, "County hub: TCP port of `tpkit hub serve`.", check_port),
    Setting("hub_workers", int, 2, "County hub: web worker processes (stateless; one per core).", check_positive),
    Setting(
        "hub_threads",
        int,
        16,
        "County hub: threads per worker for pages, enrolment and metrics; reports are stored by 2 more, in "
        "groups. Threads borrow database connections (hub_database_pool_size) only for each call.",
        check_positive,
    ),
    Setting(
        "hub_silent_after_h",
        float,
        6.0,
        "County hub: a kit not heard from for this many hours is 'silent'.",
        check_positive,
    ),
    Setting(
        "hub_old_content_days",
        float,
        30.0,
        "County hub: a kit whose newest successful content sync ended longer ago than this "
        "many days raises old_content.",
        check_positive,
    ),
    Setting(
        "hub_metrics_kits",
        str,
        "auto",
        "County hub: which kits /metrics gives series of their own: all, alerting (only kits that are not ok), "
        "or auto (all while the hub has at most 10,000 kits, else alerting); every district's counts per status "
        "are always there.",
        _metrics_kits,
    ),
    Setting(
        "hub_token_lifetime_h",
        float,
        336.0,
        "County hub: how long a kit's one-time enrolment token stays valid.",
        check_positive,
    ),
    Setting(
        "hub_lrs_url",
        str,
        "",
        "County hub: xAPI Learning Record Store (its endpoint, without /statements) "
        "that `tpkit hub forward` sends learning records to; empty: records are kept, not forwarded.",
        _http_url,
    ),
    Setting("hub_lrs_auth", str, "", "County hub: the LRS's Basic credentials as key:secret; empty: none."),
    Setting(
        "hub_keep_forwarded_days",
        int,
        30,
        "County hub: days learning records already forwarded to the LRS are kept in the outbox before "
        "`tpkit hub prune` deletes them; 0: kept for good (waiting and refused ones are always kept).",
        check_not_negative,
    ),
    Setting(
        "hub_keep_reports_days",
        int,
        14,
        "County hub: days raw reports are kept before `tpkit hub prune` folds "
        "them into one row per kit and day; 0: kept for good (alerts are always kept).",
        check_not_negative,
    ),
    Setting(
        "hub_keep_daily_days",
        int,
        730,
        "County hub: days the per-day rows (the kit page's daily charts) are kept; 0: kept for good.",
        check_not_negative,
    ),
    Setting(
        "hub_notify_webhook_url",
        str,
        "",
        "County hub: a WeCom (企业微信) or DingTalk (钉钉) group robot's webhook URL that `tpkit hub notify` posts "
        "new and resolved alerts to; empty: no webhook.",
        _http_url,
    ),
    Setting(
        "hub_notify_language",
        str,
        "zh",
        "County hub: the language of the alert messages `tpkit hub notify` sends: zh or en.",
        _notify_language,
    ),
    Setting(
        "hub_notify_smtp",
        str,
        "",
        "County hub: the mail relay `tpkit hub notify` sends alert mails through, as host:port (STARTTLS when it "
        "offers it); empty: no mail.",
        _host_port,
    ),
    Setting(
        "hub_notify_mail_from",
        str,
        "",
        "County hub: the sender address of alert mails (with hub_notify_smtp).",
        _addresses,
    ),
    Setting(
        "hub_notify_mail_to",
        str,
        "",
        "County hub: who gets alert mails: addresses separated by commas (with hub_notify_smtp).",
        _addresses,
    ),
    Setting(
        "hub_notify_repeat_h",
        float,
        24.0,
        "County hub: an open alert nobody acknowledged is told again after this many hours; 0: told once.",
        check_not_negative,
    ),
    Setting("hub_notify_smtp_user", str, "", "County hub: the mail relay's user name; empty: no sign-in."),
    Setting("hub_notify_smtp_password", str, "", "County hub: the mail relay's password (with hub_notify_smtp_user)."),
    Setting(
        "hub_time_zone",
        str,
        DEFAULT_TIME_ZONE,
        "County hub: the time zone its pages show times in (an IANA name); CSV and JSON keep UTC.",
        check_time_zone,
    ),
    SPEC_BY_NAME["log_level"],  # the same setting as the kit's (TPKIT_LOG_LEVEL): the hub logs as the kit does
)


@dataclasses.dataclass(frozen=True)
class HubSettings:
    """The hub's effective settings and, for each, where its value came from."""

    hub_data_dir: Path
    hub_database_url: str
    hub_database_pool_size: int
    hub_host: str
    hub_port: int
    hub_workers: int
    hub_threads: int
    hub_silent_after_h: float
    hub_old_content_days: float
    hub_metrics_kits: str
    hub_token_lifetime_h: float
    hub_lrs_url: str
    hub_lrs_auth: str
    hub_keep_forwarded_days: int
    hub_keep_reports_days: int
    hub_keep_daily_days: int
    hub_notify_webhook_url: str
    hub_notify_language: str
    hub_notify_smtp: str
    hub_notify_mail_from: str
    hub_notify_mail_to: str
    hub_notify_repeat_h: float
    hub_notify_smtp_user: str
    hub_notify_smtp_password: str
    hub_time_zone: str
    log_level: str
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()


def load_hub_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> HubSettings:
    """Build the hub's effective settings; raise one ConfigError listing every problem found."""
    values, sources, warnings = resolve(
        HUB_SPEC,
        config_file,
        environ,
        overrides,
        foreign=lambda name: name in SPEC_BY_NAME,
        listed_by='docs/settings.md, "The county hub\'s settings", lists them',
    )
    return HubSettings(**finish(values, sources, environ), sources=sources, warnings=warnings)
