"""The hub's /metrics read by Prometheus' own tools: `promtool check metrics` lints a real scrape, and
`promtool test rules` runs the shipped alerting rules over that scrape and must fire for exactly the kits, codes and
severities the dashboard's alerts show (hub/alerts.py), no more. Values keep every digit.

promtool is Debian 12's (package `prometheus`, unpacked by ./build.sh test into .cache/promtool-root, never
installed); without it these tests skip with the fix, except on CI, where they fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from appliance.hub import alert_rules, fleet, ingest
from appliance.hub.app import create_app
from tests.conftest import LiveServer
from tests.hub.conftest import enrol_kit, health_body, signed

RULE_FILE = Path(__file__).resolve().parents[2] / "prometheus" / "tpkit-hub.rules.yml"
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{.*\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
EVAL_AT_S = 300  # promtool's time() at the evaluation below


@pytest.fixture(scope="module")
def promtool() -> str:
    found = os.environ.get("TPKIT_TEST_PROMTOOL") or shutil.which("promtool")
    if found:
        return found
    message = (
        "promtool not found: run ./build.sh test (it unpacks Debian's prometheus package) or apt-get install prometheus"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _send(db, secret, kit_id: str, body: dict, received_at: float, sequence: int = 1) -> None:
    report, _, _ = signed(secret, kit_id, sequence, body, made_at=received_at)
    ingest.store(db, report, received_at)


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _synced(body: dict, ok_at: float) -> dict:
    return {
        **body,
        "last_sync": {
            "state": "idle",
            "outcome": "ok",
            "ok": True,
            "reason": "done",
            "started_at": _iso(ok_at - 60),
            "ended_at": _iso(ok_at),
            "last_ok_at": _iso(ok_at),
        },
    }


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, line
            labels = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in LABEL.findall(match["labels"] or "")}
            found.append((match["name"], labels, float(match["value"])))
    return found


def _fleet_of_every_alert(db, clock) -> None:
    """Kits that raise each alert the rules cover, at both severities, and kits just below each threshold."""
    now = clock.now
    day = 86400
    fine = health_body
    kits = {
        "kit-ok": (_synced(fine("kit-ok"), now - day), now),
        "kit-hot": (fine("kit-hot", temp_c=72.0), now),
        "kit-hotter": (fine("kit-hotter", temp_c=83.5), now),
        "kit-warm": (fine("kit-warm", temp_c=69.9), now),
        "kit-disk": (fine("kit-disk", disk_percent=93.5), now),
        "kit-disk-full": (fine("kit-disk-full", disk_percent=97.0), now),
        "kit-disk-90": (fine("kit-disk-90", disk_percent=90.0), now),
        "kit-power": (fine("kit-power", under_voltage_now=True), now),
        "kit-damaged": (fine("kit-damaged", damaged=2), now),
        "kit-old": (_synced(fine("kit-old"), now - 40 * day), now),
        "kit-recent": (_synced(fine("kit-recent"), now - 29 * day), now),
        "kit-silent": (fine("kit-silent"), now - 7 * 3600),
        "kit-quiet": (fine("kit-quiet"), now - 5 * 3600),
    }
    booted_weak = fine("kit-power-boot")
    booted_weak["throttled"]["since_boot"]["under_voltage"] = True
    kits["kit-power-boot"] = (booted_weak, now)
    for number, (kit_id, (body, received_at)) in enumerate(sorted(kits.items())):
        secret = enrol_kit(
            db, kit_id, received_at, school=f"School {number}", district="North" if number % 2 else "南区"
        )
        _send(db, secret, kit_id, body, received_at)
    enrol_kit(db, "kit-never", now, school="新学校")


def _expected(db, clock) -> dict[str, list[dict]]:
    """alertname -> the alerts promtool must see, from the hub's own judgement of the same kits."""
    by_code = {
        (rule.code, rule.severity): rule for rule in alert_rules.rules() if rule.alert != "TpkitKitNeverReported"
    }
    never = next(rule for rule in alert_rules.rules() if rule.alert == "TpkitKitNeverReported")
    expected: dict[str, list[dict]] = {rule.alert: [] for rule in alert_rules.rules()}
    for kit in fleet.kits(db, clock.now, 6):
        for alert in kit.alerts:
            if alert.code in ("sync_failing", "clock"):
                continue  # dashboard-only: no series carries them
            rule = never if alert.code == "silent" and kit.last_seen_at is None else by_code[alert.code, alert.severity]
            labels = {"kit_id": kit.kit_id, "school": kit.school, "district": kit.district}
            if alert.code == "under_voltage":
                labels["when"] = "now" if alert.severity == "critical" else "since_boot"
            annotations = {"summary": rule.summary, "fix": rule.fix}
            for name, value in labels.items():
                annotations = {k: v.replace(f"{{{{ $labels.{name} }}}}", value) for k, v in annotations.items()}
            expected[rule.alert].append(
                {"exp_labels": {**labels, "severity": rule.severity, "code": rule.code}, "exp_annotations": annotations}
            )
    return expected


def _promtool_test(tmp_path: Path, rules: str, text: str, now: float, expected: dict[str, list[dict]]) -> Path:
    """A `promtool test rules` file (JSON, which YAML reads) whose series are the scrape, held for 10 minutes;
    Unix-time series are moved so that the hub's now is promtool's time() at the evaluation."""
    series = []
    for name, labels, value in _samples(text):
        if name.endswith("_timestamp_seconds"):
            value = value - now + EVAL_AT_S
        selector = name + "{" + ",".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in labels.items()) + "}"
        series.append({"series": selector, "values": f"{value!r}+0x10"})
    (tmp_path / "rules.yml").write_text(rules, encoding="utf-8")
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": f"{EVAL_AT_S}s", "alertname": name, "exp_alerts": alerts}
                    for name, alerts in expected.items()
                ],
            }
        ],
    }
    path = tmp_path / "scrape.test.yml"
    path.write_text(json.dumps(test, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.mark.parametrize("kits", ["all", "alerting", "auto"])
def test_alert_rules_fire_for_the_kits_the_dashboard_flags(hub_settings, hub_db, clock, promtool, tmp_path, kits):
    _fleet_of_every_alert(hub_db, clock)
    expected = _expected(hub_db, clock)
    assert all(expected.values()), str({name: len(found) for name, found in expected.items()})  # each rule is exercised
    settings = dataclasses.replace(hub_settings, hub_metrics_kits=kits)
    with LiveServer(create_app(settings, hub_db, clock)) as server:
        scrape = httpx.get(server.url + "/metrics", timeout=30)
    assert scrape.status_code == 200
    listed = {
        labels["kit_id"] for name, labels, _ in _samples(scrape.text) if name == "tpkit_kit_last_seen_timestamp_seconds"
    }
    assert ("kit-ok" in listed) == (kits != "alerting") and "kit-silent" in listed  # alerting: only kits not ok
    districts = {
        (labels["district"], labels["status"]): value
        for name, labels, value in _samples(scrape.text)
        if name == "tpkit_district_kits"
    }
    assert districts["南区", "silent"] + districts["North", "silent"] == 2 and sum(districts.values()) == 15
    lint = subprocess.run([promtool, "check", "metrics"], input=scrape.content, capture_output=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    test_file = _promtool_test(tmp_path, RULE_FILE.read_text(encoding="utf-8"), scrape.text, clock.now, expected)
    result = subprocess.run([promtool, "test", "rules", test_file.name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same scrape with rules made for an 8-hour silence: kit-silent (7 h) no longer fires, and promtool says so.
    stricter = _promtool_test(tmp_path, alert_rules.render(silent_after_h=8), scrape.text, clock.now, expected)
    result = subprocess.run([promtool, "test", "rules", stricter.name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "TpkitKitSilent" in result.stdout + result.stderr


def test_alert_rules_shipped_file_is_what_the_command_prints_and_promtool_accepts(promtool, tmp_path):
    assert RULE_FILE.read_text(encoding="utf-8") == alert_rules.render()
    printed = subprocess.run(
        [sys.executable, "-m", "appliance", "hub", "alert-rules", "--hub-old-content-days", "120"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TPKIT_HUB_DATA_DIR": str(tmp_path)},
    )
    assert printed.returncode == 0, printed.stderr
    assert "time() - tpkit_kit_last_sync_success_timestamp_seconds > 10368000" in printed.stdout
    (tmp_path / "county.rules.yml").write_text(printed.stdout, encoding="utf-8")
    for path in (RULE_FILE, tmp_path / "county.rules.yml"):
        check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and "SUCCESS: 10 rules found" in check.stdout, check.stdout + check.stderr


def test_metrics_keep_every_digit(hub_db, hub_client, clock):
    clock.now = 1_765_432_123.25
    for offset, kit_id in ((0.0, "kit-a"), (1.5, "kit-b")):
        secret = enrol_kit(hub_db, kit_id, clock.now)
        body = {**health_body(kit_id, temp_c=48.123456789), "bytes_this_month": 6_560_671}
        _send(hub_db, secret, kit_id, body, clock.now + offset)
    samples = {(name, labels.get("kit_id")): value for name, labels, value in _samples(hub_client.get("/metrics").text)}
    assert samples["tpkit_kit_last_seen_timestamp_seconds", "kit-a"] == 1_765_432_123.25
    assert samples["tpkit_kit_last_seen_timestamp_seconds", "kit-b"] == 1_765_432_124.75
    assert samples["tpkit_kit_sync_bytes_month", "kit-a"] == 6_560_671
    assert samples["tpkit_kit_cpu_temperature_celsius", "kit-a"] == 48.123456789
    text = hub_client.get("/metrics").text
    assert 'tpkit_kit_sync_bytes_month{kit_id="kit-a",school="Hill School",district="North"} 6560671\n' in text
