"""Hostile JSON at the county hub (issue 14).

Who: anyone who can reach the hub's API (enrolment needs no account), and a kit (or whoever holds its key) sending
reports over the network or on a USB stick. With what: 4,000 `[` posted to `/api/v1/enrol`; a signed report nested
thousands of levels deep, or holding `NaN`/`Infinity`/`1e999`, among good reports on the same stick.
Before: the enrolment answered 500 (RecursionError in `json.loads`); the deep report stopped `tpkit hub import`
with a traceback and the valid reports after it on the stick were not stored.
What stops them: request and report JSON is read by `strict_json.loads` (depth at most 32, no non-finite numbers),
so such JSON is a 400 / `report.malformed` for that request or that report alone. (Statements in another kit's
name: tests/hub/test_lrs_forwarding.py.)
"""

from __future__ import annotations

import base64
import gzip

import pytest

from appliance import strict_json
from appliance.hub import ingest
from appliance.protocol import report_file
from tests.hub.conftest import clock, enrol_kit, hub_client, hub_db, hub_live, hub_settings, signed  # noqa: F401

ENROL = "/api/v1/enrol"


@pytest.mark.parametrize(
    "body",
    [b"[" * 4000, b"{" * 4000, b'{"a":' * 700, b'{"kit_id": NaN}', b'{"kit_id": 1e999}', b'{"token": -Infinity}'],
)
def test_enrolment_refuses_hostile_json_with_400(hub_client, body):  # noqa: F811
    response = hub_client.post(ENROL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == "hub.invalid"
    assert hub_client.post(ENROL, json={"kit_id": "kit-9", "token": "x", "public_key": "y"}).status_code < 500


def _hand_made(secret, kit_id: str, sequence: int, value_text: str, now: float) -> tuple[report_file.Report, bytes]:
    """A correctly signed report whose body holds `value_text` as raw JSON (no kit writes it: made by hand)."""
    report, _, _ = signed(secret, kit_id, sequence, {"marker": 0}, made_at=now)
    raw = strict_json.dumps(report.as_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert '"marker":0' in raw
    return report, gzip.compress(raw.replace('"marker":0', '"marker":' + value_text).encode(), mtime=0)


def test_a_hostile_report_on_a_stick_is_refused_alone(hub_db, clock, tmp_path):  # noqa: F811
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    hostile = ["[" * 5000 + "]" * 5000, '{"x": NaN}', "1e999", "[Infinity]"]
    for sequence in range(1, 2 * len(hostile) + 2):
        if sequence % 2:
            report, payload, _ = signed(secret, "kit-1", sequence, made_at=clock.now)
        else:
            report, payload = _hand_made(secret, "kit-1", sequence, hostile[sequence // 2 - 1], clock.now)
        path, signature = report_file.bundle_paths(tmp_path, report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        signature.write_text(report_file.sign(secret, report, payload), encoding="utf-8")
    result = ingest.import_bundle(hub_db, tmp_path, clock.now)
    assert len(result["accepted"]) == len(hostile) + 1  # every good report, also those after a hostile one
    assert len(result["refused"]) == len(hostile)
    assert all(exc.code == "report.malformed" for _, exc in result["refused"])


def test_a_hostile_report_over_the_network_is_400(hub_db, hub_client, clock):  # noqa: F811
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    report, payload = _hand_made(secret, "kit-1", 1, "[" * 5000 + "]" * 5000, clock.now)
    headers = {
        "Content-Type": report_file.MEDIA_TYPE,
        report_file.KIT_HEADER: "kit-1",
        report_file.SIGNATURE_HEADER: base64.b64encode(report_file.sign(secret, report, payload).encode()).decode(),
    }
    response = hub_client.post("/api/v1/reports", content=payload, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "report.malformed", response.text[:300]
