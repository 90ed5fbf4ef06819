"""Reports over HTTP on both backends: signature checked before storing, stored once, honest status codes."""

from __future__ import annotations

import base64
import concurrent.futures
import gzip

import httpx
import pytest

from appliance.edges import minisign
from appliance.hub import configs, ingest
from appliance.protocol import report_file
from tests.hub.conftest import enrol_kit, health_body, signed, stored_reports

REPORTS = "/api/v1/reports"


def test_ingest_accepts_a_signed_report_once_and_replies_the_desired_config(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    configs.set_config(
        hub_db, "kit-1", {"sync_windows": "Mon-Fri 16:00-07:00", "sync_rate_cap_kbps": 2000}, clock.now, "test"
    )
    report, payload, headers = signed(secret, "kit-1", 1, made_at=clock.now)
    first = hub_client.post(REPORTS, content=payload, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "accepted" and first.json()["report_id"] == report.report_id
    assert first.json()["desired_config"]["version"] == 1
    assert first.json()["desired_config"]["sync_rate_cap_kbps"] == 2000
    again = hub_client.post(REPORTS, content=payload, headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["desired_config"]["sync_windows"] == "Mon-Fri 16:00-07:00"
    assert stored_reports(hub_db, "kit-1") == 1


def test_ingest_reply_has_null_config_when_none_is_set(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _, payload, headers = signed(secret, "kit-1", 1, made_at=clock.now)
    assert hub_client.post(REPORTS, content=payload, headers=headers).json()["desired_config"] is None


def _refused(hub_client, hub_db, payload, headers, status, code):
    response = hub_client.post(REPORTS, content=payload, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["fix"]
    assert stored_reports(hub_db) == 0


def test_ingest_refuses_unsigned_mis_signed_and_unknown_kits(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _, payload, headers = signed(secret, "kit-1", 1, made_at=clock.now)
    unsigned = {k: v for k, v in headers.items() if k != report_file.SIGNATURE_HEADER}
    _refused(hub_client, hub_db, payload, unsigned, 401, "report.bad_signature")
    _refused(
        hub_client,
        hub_db,
        payload,
        {**headers, report_file.SIGNATURE_HEADER: "not base64!"},
        401,
        "report.bad_signature",
    )
    _, _, other_headers = signed(minisign.generate(), "kit-1", 1, made_at=clock.now)
    _refused(hub_client, hub_db, payload, other_headers, 401, "report.bad_signature")
    tampered = gzip.compress(gzip.decompress(payload).replace(b'"uptime_s":3600', b'"uptime_s":3601'), mtime=0)
    _refused(hub_client, hub_db, tampered, headers, 401, "report.bad_signature")
    stranger = minisign.generate()
    _, payload, headers = signed(stranger, "kit-9", 1, made_at=clock.now)
    _refused(hub_client, hub_db, payload, headers, 401, "hub.unknown_kit")


def test_ingest_refuses_a_report_sent_under_another_kits_id(hub_db, hub_client, clock):
    secret_1 = enrol_kit(hub_db, "kit-1", clock.now)
    enrol_kit(hub_db, "kit-2", clock.now)
    _, payload, headers = signed(secret_1, "kit-1", 1, made_at=clock.now)
    # Signed by kit-1's key but claimed as kit-2: kit-2's key does not verify it.
    _refused(hub_client, hub_db, payload, {**headers, report_file.KIT_HEADER: "kit-2"}, 401, "report.bad_signature")
    _refused(hub_client, hub_db, payload, {**headers, report_file.KIT_HEADER: "../x"}, 400, "report.malformed")


def test_ingest_refuses_a_payload_whose_kit_differs_from_the_header(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    report = report_file.Report.new("kit-2", 1, "heartbeat", {}, clock_synchronised=True)
    payload = report_file.encode(report)
    signature = base64.b64encode(report_file.sign(secret, report, payload).encode()).decode()
    headers = {report_file.KIT_HEADER: "kit-1", report_file.SIGNATURE_HEADER: signature}
    _refused(hub_client, hub_db, payload, headers, 400, "report.malformed")


def test_ingest_refuses_malformed_payloads(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    for payload in (b"not gzip", gzip.compress(b"not json"), gzip.compress(b'{"format":"tpkit.report/1"}')):
        signature = minisign.sign(secret, payload, "tpkit-report\tkit:kit-1\treport:x\tsequence:1")
        headers = {
            report_file.KIT_HEADER: "kit-1",
            report_file.SIGNATURE_HEADER: base64.b64encode(signature.encode()).decode(),
        }
        _refused(hub_client, hub_db, payload, headers, 400, "report.malformed")


def test_ingest_refuses_oversized_bodies_before_reading_them(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _, _, headers = signed(secret, "kit-1", 1, made_at=clock.now)
    big = b"\0" * (report_file.MAX_COMPRESSED_BYTES + 1)
    _refused(hub_client, hub_db, big, headers, 413, "report.too_large")

    def endless():  # chunked, no Content-Length: the hub stops reading at the limit
        for _ in range(10_000):
            yield b"\0" * 65536

    _refused(hub_client, hub_db, endless(), headers, 413, "report.too_large")
    bomb = gzip.compress(b" " * (report_file.MAX_PAYLOAD_BYTES + 10), mtime=0)
    signature = minisign.sign(secret, bomb, "tpkit-report\tkit:kit-1\treport:x\tsequence:1")
    _refused(
        hub_client,
        hub_db,
        bomb,
        {**headers, report_file.SIGNATURE_HEADER: base64.b64encode(signature.encode()).decode()},
        413,
        "report.too_large",
    )


def test_ingest_refuses_future_reports_from_a_synchronised_clock(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    _, payload, headers = signed(secret, "kit-1", 1, made_at=clock.now + 2 * 86400)
    _refused(hub_client, hub_db, payload, headers, 422, "hub.future_report")
    _, payload, headers = signed(secret, "kit-1", 2, made_at=clock.now + 3600)  # an hour ahead is tolerated
    assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201


def test_ingest_accepts_a_clock_years_off_and_flags_it(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    for sequence, when in ((1, clock.now + 3 * 365 * 86400), (2, 946684800.0)):  # years ahead, then the year 2000
        _, payload, headers = signed(secret, "kit-1", sequence, made_at=when, synchronised=False)
        assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201
    row = hub_db.query("SELECT clock_flag, last_sequence FROM kits WHERE kit_id = 'kit-1'")[0]
    assert row == {"clock_flag": 1, "last_sequence": 2}
    observed = hub_db.query("SELECT observed_at, received_at FROM reports ORDER BY sequence")
    assert all(r["observed_at"] == r["received_at"] == clock.now for r in observed)  # ordered by the hub's time
    response = hub_client.get("/metrics")
    assert 'tpkit_kit_status{kit_id="kit-1",school="Hill School",district="North",status="warning"} 1' in response.text


def test_ingest_is_idempotent_under_concurrent_resends(hub_db, hub_live, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    reports = [signed(secret, "kit-1", n, made_at=clock.now) for n in range(1, 6)]

    def post(item):
        _, payload, headers = item
        with httpx.Client(base_url=hub_live.url, timeout=30) as http:
            return http.post(REPORTS, content=payload, headers=headers).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, reports * 4))
    assert sorted(codes).count(201) == 5 and codes.count(200) == 15
    assert stored_reports(hub_db, "kit-1") == 5
    row = hub_db.query("SELECT last_sequence, reports_total FROM kits WHERE kit_id = 'kit-1'")[0]
    assert row == {"last_sequence": 5, "reports_total": 5}


def test_ingest_keeps_the_newest_snapshot_when_reports_arrive_out_of_order(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    for sequence, temp in ((2, 66.0), (1, 40.0)):
        _, payload, headers = signed(
            secret, "kit-1", sequence, health_body(temp_c=temp), made_at=clock.now, applied=sequence
        )
        assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201
    row = hub_db.query("SELECT snapshot_sequence, applied_config_version FROM kits")[0]
    assert row == {"snapshot_sequence": 2, "applied_config_version": 2}


def _re_enrol(db, kit_id: str, now: float) -> minisign.SecretKey:
    """A new key for a registered kit, as `tpkit hub kit add --new-token` and the kit's enrolment (through another
    worker: the one serving the test has remembered the old key)."""
    from appliance.hub import enrolment

    token = enrolment.register(db, kit_id, "Hill School", "North", "", now, 24, new_token=True)
    secret = minisign.generate()
    enrolment.enrol(db, kit_id, token, secret.public.line, now)
    return secret


def test_ingest_a_key_changed_through_another_worker_counts_at_once(hub_db, hub_client, clock):
    old = enrol_kit(hub_db, "kit-1", clock.now)
    _, payload, headers = signed(old, "kit-1", 1, made_at=clock.now)
    assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201  # old key remembered
    new = _re_enrol(hub_db, "kit-1", clock.now)
    _, payload, headers = signed(old, "kit-1", 2, made_at=clock.now)
    stale = hub_client.post(REPORTS, content=payload, headers=headers)  # verifies with the remembered key only
    assert stale.status_code == 401 and stale.json()["code"] == "report.bad_signature"
    _, payload, headers = signed(new, "kit-1", 3, made_at=clock.now)
    assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201
    assert stored_reports(hub_db, "kit-1") == 2


def test_ingest_store_refuses_a_report_verified_with_a_key_no_longer_enrolled(hub_db, clock):
    old = enrol_kit(hub_db, "kit-1", clock.now)
    line = old.public.line
    heartbeat, _, _ = signed(old, "kit-1", 1, made_at=clock.now)
    records, _, _ = signed(old, "kit-1", 2, {"statements": []}, kind="records", made_at=clock.now)
    _re_enrol(hub_db, "kit-1", clock.now)
    for report in (heartbeat, records):  # one statement on PostgreSQL; a transaction for records and on SQLite
        with pytest.raises(ingest.KeyChanged):
            ingest.store(hub_db, report, clock.now, line)
    assert stored_reports(hub_db, "kit-1") == 0
    assert hub_db.query("SELECT reports_total FROM kits WHERE kit_id = 'kit-1'")[0]["reports_total"] == 0
