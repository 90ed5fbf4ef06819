"""Prometheus alerting rules for the hub's documented alerts, made from the same thresholds the hub judges with.

`tpkit hub alert-rules` prints them with the hub's effective settings (hub_silent_after_h, hub_old_content_days);
`prometheus/tpkit-hub.rules.yml` is that output with the defaults (a test keeps the two equal). Each rule reads the
series of `hub/prometheus.py` and fires for the same kits, with the same severity, as `alerts.py` on the dashboard
(tests/hub/test_alert_rules.py runs Prometheus' own `promtool test rules` against a real scrape to hold that).
`sync_failing` and `clock` stay dashboard-only: no series carries them.
Must not import web or cli.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from appliance.hub import alerts
from appliance.hub.prometheus import number
from appliance.protocol.thresholds import DISK_CRITICAL_PERCENT, DISK_WARNING_PERCENT, HOT_CRITICAL_C, HOT_WARNING_C

GROUP = "tpkit-kits"
POWER = "Give the kit its own 5.1 V 3 A supply and a short, thick cable; power USB disks from a powered hub."
WHERE = "{{ $labels.kit_id }} ({{ $labels.school }}, {{ $labels.district }})"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One alerting rule: the hub's alert `code` at one `severity`."""

    alert: str
    code: str
    severity: str
    expr: str
    summary: str
    fix: str


def rules(silent_after_h: float = 6.0, old_content_days: float = alerts.OLD_CONTENT_DAYS) -> list[Rule]:
    """Every rule, with the hub's thresholds (docs/hub.md, "Fleet state and alerts")."""
    silent_s = number(silent_after_h * 3600)
    old_s = number(old_content_days * 86400)
    disk_warning, disk_critical = number(DISK_WARNING_PERCENT), number(DISK_CRITICAL_PERCENT)
    hot_warning, hot_critical = number(HOT_WARNING_C), number(HOT_CRITICAL_C)
    return [
        Rule(
            "TpkitKitSilent",
            "silent",
            "critical",
            f"time() - tpkit_kit_last_seen_timestamp_seconds > {silent_s}",
            f"{WHERE} has not reported for more than {number(silent_after_h)} hours.",
            "Call the school: is the kit on, and does its uplink work? A kit with no uplink can send its reports "
            "by USB stick (tpkit report --to).",
        ),
        Rule(
            "TpkitKitNeverReported",
            "silent",
            "critical",
            'max without (status) (tpkit_kit_status{status="silent"} == 1) '
            "unless on (kit_id) tpkit_kit_last_seen_timestamp_seconds",
            f"{WHERE} is registered but has never reported.",
            "Check that the kit was given its enrolment token (tpkit provision) and can reach the hub.",
        ),
        Rule(
            "TpkitKitUnderVoltage",
            "under_voltage",
            "critical",
            'tpkit_kit_under_voltage{when="now"} == 1',
            f"{WHERE}: the power supply is too weak right now.",
            POWER,
        ),
        Rule(
            "TpkitKitUnderVoltage",
            "under_voltage",
            "warning",
            'tpkit_kit_under_voltage{when="since_boot"} == 1 unless on (kit_id) tpkit_kit_under_voltage{when="now"} == 1',
            f"{WHERE}: the power supply was too weak since the kit started.",
            POWER,
        ),
        Rule(
            "TpkitKitDiskFull",
            "disk_full",
            "warning",
            f"tpkit_kit_disk_use_percent > {disk_warning} < {disk_critical}",
            f"{WHERE}: a disk is more than {disk_warning} % full.",
            "Remove books no longer needed from the content folder, or move content_dir to a larger USB disk.",
        ),
        Rule(
            "TpkitKitDiskFull",
            "disk_full",
            "critical",
            f"tpkit_kit_disk_use_percent >= {disk_critical}",
            f"{WHERE}: a disk is {disk_critical} % full or more; saves and content sync fail.",
            "Remove books no longer needed from the content folder, or move content_dir to a larger USB disk.",
        ),
        Rule(
            "TpkitKitHot",
            "hot",
            "warning",
            f"tpkit_kit_cpu_temperature_celsius >= {hot_warning} < {hot_critical}",
            f"{WHERE}: the processor is at {hot_warning} °C or more.",
            "Move the kit out of the sun and away from heaters, keep the case's vents free, or fit a heatsink or fan.",
        ),
        Rule(
            "TpkitKitHot",
            "hot",
            "critical",
            f"tpkit_kit_cpu_temperature_celsius >= {hot_critical}",
            f"{WHERE}: the processor is at {hot_critical} °C or more and slows down.",
            "Move the kit out of the sun and away from heaters, keep the case's vents free, or fit a heatsink or fan.",
        ),
        Rule(
            "TpkitKitBooksDamaged",
            "books_damaged",
            "warning",
            "tpkit_kit_books_damaged > 0",
            f"{WHERE}: book files are damaged.",
            "tpkit check on the kit names them; copy each again from its source, or remove it.",
        ),
        Rule(
            "TpkitKitOldContent",
            "old_content",
            "warning",
            f"time() - tpkit_kit_last_sync_success_timestamp_seconds > {old_s}",
            f"{WHERE}: no content sync has succeeded for more than {number(old_content_days)} days.",
            "Check the kit's sync windows and uplink on its kit page; a kit with no uplink can be updated by USB stick.",
        ),
    ]


def document(found: list[Rule], with_annotations: bool = True) -> dict[str, Any]:
    """The rule file's content: one group, a rule per alert and severity."""
    return {
        "groups": [
            {
                "name": GROUP,
                "rules": [
                    {
                        "alert": rule.alert,
                        "expr": rule.expr,
                        "labels": {"severity": rule.severity, "code": rule.code},
                        **({"annotations": {"summary": rule.summary, "fix": rule.fix}} if with_annotations else {}),
                    }
                    for rule in found
                ],
            }
        ]
    }


def as_yaml(value: Any, indent: int = 0) -> str:
    """YAML in block style for the plain data here (dicts, lists, strings, numbers); strings double-quoted as JSON,
    which YAML reads the same."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{as_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            block = as_yaml(item, indent + 2) if isinstance(item, (dict, list)) else f"{pad}  {_scalar(item)}"
            lines.append(f"{pad}- {block.lstrip()}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return number(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def render(silent_after_h: float = 6.0, old_content_days: float = alerts.OLD_CONTENT_DAYS) -> str:
    """The rule file, with a header that says where it comes from."""
    header = (
        '# Prometheus alerting rules for tpkit kits, read from the county hub\'s /metrics (docs/hub.md, "Metrics").\n'
        f"# Made by `tpkit hub alert-rules` with hub_silent_after_h = {number(silent_after_h)} and "
        f"hub_old_content_days = {number(old_content_days)};\n"
        "# run it again after changing either, so Prometheus and the dashboard agree.\n"
    )
    return header + as_yaml(document(rules(silent_after_h, old_content_days))) + "\n"
