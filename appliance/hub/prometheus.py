"""The whole fleet in the Prometheus text format (one scrape per county), each series labelled per kit.

Values are written in full: a Unix time or a byte counter keeps every digit (Prometheus reads float64, so a
shortened `%g` would move a last-seen time by hours and make 10,000 kits look alike). The alerting rules that
read these series are `prometheus/tpkit-hub.rules.yml` (docs/hub.md, "Metrics").
Must not import web or cli.
"""

from __future__ import annotations

from appliance.hub import alerts
from appliance.hub.fleet import KitState

STATUS_HELP = "1 for the kit's current status (ok, warning, critical, silent)"
# hub_metrics_kits = auto gives every kit its series up to this many kits (0.4–0.5 s a scrape on 2 cores, 12 MB);
# beyond, only the kits that are not ok (a scrape of every kit is 4–5 s and 118 MB at 100,000: docs/hub.md).
ALL_KITS_UP_TO = 10_000


def only_alerting(mode: str, kits: int) -> bool:
    """Whether /metrics gives series only to kits that are not ok: `mode` is hub_metrics_kits, `kits` how many the
    hub has."""
    return mode == "alerting" or (mode == "auto" and kits > ALL_KITS_UP_TO)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


class _Labels:
    """Each kit's label set, escaped and joined once per scrape (a scrape writes ~12 series a kit, 1.2 million
    lines at 100,000 kits: per-line work is what a scrape's time is made of)."""

    def __init__(self, states: list[KitState]) -> None:
        self._open = {
            k.kit_id: f'{{kit_id="{_escaped(k.kit_id)}",school="{_escaped(k.school)}",district="{_escaped(k.district)}"'
            for k in states
        }
        self._closed = {kit_id: labels + "}" for kit_id, labels in self._open.items()}

    def __call__(self, kit: KitState) -> str:
        return self._closed[kit.kit_id]

    def extra(self, kit: KitState, name: str, value: str) -> str:
        """The kit's labels and one more (`value` is not escaped: the callers' values are fixed words)."""
        return f'{self._open[kit.kit_id]},{name}="{value}"}}'


def number(value: float) -> str:
    """A sample's value with every digit: whole numbers as integers, others as Python's shortest round-trip form."""
    try:
        whole = int(value)
    except OverflowError:
        return "+Inf" if value > 0 else "-Inf"
    except ValueError:
        return "NaN"
    if whole == value and -(2**63) < whole < 2**63:
        return str(whole)
    return repr(float(value))


def _gauge(lines: list[str], name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {number(value)}" for labels, value in samples]


def _counter(lines: list[str], name: str, help_text: str, value: float) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {number(value)}"]


def _under_voltage(kit: KitState, _labels: _Labels) -> list[tuple[str, float]]:
    found = kit.reading("under_voltage")
    if found is None:
        return []
    return [
        (_labels.extra(kit, "when", "now"), float(found == 2)),
        (_labels.extra(kit, "when", "since_boot"), float(found >= 1)),
    ]


def render(states: list[KitState], districts: dict[str, dict[str, int]], reports_received: int) -> str:
    """The exposition text for `GET /metrics`: the hub's and each district's series, then each kit's of `states`
    (every kit, or only those that are not ok: `only_alerting`)."""
    lines: list[str] = []
    _labels = _Labels(states)
    _gauge(
        lines,
        "tpkit_hub_kits",
        "Kits registered on this hub",
        [("", sum(sum(counts.values()) for counts in districts.values()))],
    )
    _gauge(
        lines,
        "tpkit_district_kits",
        "Kits of the district with this status (ok, warning, critical, silent)",
        [
            (f'{{district="{_escaped(district)}",status="{status}"}}', float(count))
            for district, counts in districts.items()
            for status, count in counts.items()
        ],
    )
    _counter(
        lines,
        "tpkit_hub_reports_received_total",
        "Reports received and stored since the hub began (pruned ones included)",
        reports_received,
    )
    _gauge(
        lines,
        "tpkit_kit_status",
        STATUS_HELP,
        [(_labels.extra(k, "status", s), 1.0 if k.status == s else 0.0) for k in states for s in alerts.STATUSES],
    )
    _gauge(
        lines,
        "tpkit_kit_last_seen_timestamp_seconds",
        "When the hub last received a report from the kit",
        [(_labels(k), k.last_seen_at) for k in states if k.last_seen_at is not None],
    )
    _gauge(lines, "tpkit_kit_alerts", "Alerts the kit raises now", [(_labels(k), float(len(k.alerts))) for k in states])
    for name, reading, help_text in (
        ("tpkit_kit_cpu_temperature_celsius", "cpu_temp_c", "Processor temperature in the latest heartbeat"),
        ("tpkit_kit_disk_use_percent", "disk_percent", "Use of the kit's fullest filesystem"),
        ("tpkit_kit_wifi_clients", "wifi_clients", "Devices on the classroom access point"),
        ("tpkit_kit_sync_bytes_month", "sync_bytes", "Bytes the kit synced this month"),
        ("tpkit_kit_outbox_depth", "outbox_depth", "Reports waiting in the kit's outbox when it sent this one"),
    ):
        _gauge(
            lines, name, help_text, [(_labels(k), value) for k in states if (value := k.reading(reading)) is not None]
        )
    _gauge(
        lines,
        "tpkit_kit_under_voltage",
        "1 when the kit's power supply is too weak (when: now, or at any time since the kit started)",
        [sample for k in states for sample in _under_voltage(k, _labels)],
    )
    _gauge(
        lines,
        "tpkit_kit_books_damaged",
        "Book files the kit found damaged",
        [(_labels(k), value) for k in states if (value := k.reading("books_damaged")) is not None],
    )
    _gauge(
        lines,
        "tpkit_kit_last_sync_success_timestamp_seconds",
        "When the kit's newest successful content sync ended",
        [(_labels(k), value) for k in states if (value := k.reading("last_sync_ok_at")) is not None],
    )
    _gauge(
        lines,
        "tpkit_kit_config_applied",
        "1 when the kit runs the newest desired configuration",
        [
            (_labels(k), float(k.applied_config_version == k.desired_config_version))
            for k in states
            if k.desired_config_version is not None
        ],
    )
    return "\n".join(lines) + "\n"
