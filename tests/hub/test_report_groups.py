"""Group commit on both backends: reports that arrive together are stored in one transaction, each kit still gets
its own answer, and one report the database refuses costs the others of its group nothing."""

from __future__ import annotations

import asyncio
import base64
import gzip
import math

import pytest

from appliance.errors import ReportError, TpkitError
from appliance.hub import ingest
from appliance.hub.report_groups import ReportGroups
from appliance.protocol import report_file
from tests.hub.conftest import enrol_kit, health_body, signed, stored_reports

REPORTS = "/api/v1/reports"


def _request(secret, kit_id: str, sequence: int, now: float, body: dict | None = None):
    report, payload, headers = signed(secret, kit_id, sequence, body, made_at=now)
    return report, (kit_id, payload, headers["Tpkit-Signature"], now)


def test_a_group_answers_each_report_as_if_it_came_alone(hub_db, clock):
    secrets = {kit: enrol_kit(hub_db, kit, clock.now) for kit in ("kit-b", "kit-a", "kit-c")}
    first, a1 = _request(secrets["kit-a"], "kit-a", 1, clock.now)
    _, b1 = _request(secrets["kit-b"], "kit-b", 1, clock.now)
    _, forged = _request(secrets["kit-b"], "kit-c", 1, clock.now)  # kit-c's name, kit-b's key
    assert ingest.receive_group(hub_db, [a1])[0][0] == 201
    _, a2 = _request(secrets["kit-a"], "kit-a", 2, clock.now)
    outcomes = ingest.receive_group(hub_db, [b1, a1, forged, a2])
    assert outcomes[0][0] == 201 and outcomes[3][0] == 201
    duplicate = {
        "status": "duplicate",
        "report_id": first.report_id,
        "desired_config": None,
        "shares": [],
        "certificate": None,
    }
    assert outcomes[1] == (200, duplicate)  # `shares`: docs/shared-lessons.md §2
    assert isinstance(outcomes[2], ReportError) and outcomes[2].code == "report.bad_signature"
    assert stored_reports(hub_db, "kit-a") == 2 and stored_reports(hub_db, "kit-b") == 1
    assert stored_reports(hub_db, "kit-c") == 0  # nothing unauthenticated is stored
    kit_a = hub_db.query("SELECT last_sequence, reports_total FROM kits WHERE kit_id = 'kit-a'")[0]
    assert (kit_a["last_sequence"], kit_a["reports_total"]) == (2, 2)


REFUSE_KIT_BAD = {
    "sqlite": [
        "CREATE TRIGGER refuse_kit_bad BEFORE INSERT ON reports WHEN NEW.kit_id = 'kit-bad' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_kit_bad() RETURNS trigger AS $$ BEGIN IF NEW.kit_id = 'kit-bad' THEN "
        "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_kit_bad BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION refuse_kit_bad()",
    ],
}


def test_a_report_the_database_refuses_costs_the_rest_of_its_group_nothing(hub_db, clock):
    secrets = {kit: enrol_kit(hub_db, kit, clock.now) for kit in ("kit-a", "kit-bad", "kit-c")}
    with hub_db.transaction() as tx:
        for statement in REFUSE_KIT_BAD[hub_db.backend]:
            tx.execute(statement)
    items = [_request(secrets[kit], kit, 1, clock.now)[1] for kit in ("kit-a", "kit-bad", "kit-c")]
    outcomes = ingest.receive_group(hub_db, items)
    assert outcomes[0][0] == 201 and outcomes[2][0] == 201
    assert isinstance(outcomes[1], Exception) and "refused by the test" in str(outcomes[1])
    assert stored_reports(hub_db) == 2 and stored_reports(hub_db, "kit-bad") == 0
    assert hub_db.query("SELECT reports_total FROM kits WHERE kit_id = 'kit-bad'")[0]["reports_total"] == 0


def test_reports_waiting_while_a_group_is_stored_go_together(hub_db, clock):
    secrets = {f"kit-{n}": enrol_kit(hub_db, f"kit-{n}", clock.now) for n in range(10)}
    groups = ReportGroups(hub_db, threads=1)

    async def all_at_once():
        return await asyncio.gather(
            *(groups.receive(_request(secret, kit, 1, clock.now)[1]) for kit, secret in secrets.items()),
            return_exceptions=True,
        )

    try:
        answers = asyncio.run(all_at_once())
    finally:
        groups.close()
    assert [status for status, _ in answers] == [201] * 10
    assert stored_reports(hub_db) == 10
    # The first went alone; the other nine waited for it and went as one group, in one transaction.
    assert (groups.groups, groups.reports) == (2, 10)


def test_a_group_stops_at_its_byte_limit(hub_db, clock):
    secrets = {f"kit-{n}": enrol_kit(hub_db, f"kit-{n}", clock.now) for n in range(6)}
    requests = [_request(secret, kit, 1, clock.now)[1] for kit, secret in secrets.items()]
    groups = ReportGroups(hub_db, threads=1, max_bytes=len(requests[0][1]) * 5 // 2)  # two payloads, not three

    async def all_at_once():
        return await asyncio.gather(*(groups.receive(request) for request in requests))

    try:
        answers = asyncio.run(all_at_once())
    finally:
        groups.close()
    assert [status for status, _ in answers] == [201] * 6 and stored_reports(hub_db) == 6
    assert (groups.groups, groups.reports) == (4, 6)  # the first alone, then the five waiting in twos and one


def test_a_refused_report_in_a_group_is_raised_to_its_own_sender_only(hub_db, clock):
    good, bad = enrol_kit(hub_db, "kit-1", clock.now), enrol_kit(hub_db, "kit-2", clock.now)
    groups = ReportGroups(hub_db, threads=1)
    _, wrong_key = _request(good, "kit-2", 1, clock.now)

    async def together():
        return await asyncio.gather(
            groups.receive(_request(good, "kit-1", 1, clock.now)[1]),
            groups.receive(wrong_key),
            groups.receive(_request(bad, "kit-2", 2, clock.now)[1]),
            return_exceptions=True,
        )

    try:
        first, refused, third = asyncio.run(together())
    finally:
        groups.close()
    assert first[0] == 201 and third[0] == 201
    assert isinstance(refused, TpkitError) and refused.status == 401


@pytest.mark.parametrize("value", [1e30, 2**70, math.inf, -math.inf, math.nan])
def test_readings_no_kit_can_measure_are_stored_as_not_available(hub_db, hub_client, clock, value):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    body = {**health_body("kit-1"), "cpu_temp_c": value, "wifi_clients": value, "bytes_this_month": value}
    _, payload, headers = signed(secret, "kit-1", 1, body, made_at=clock.now)
    reply = hub_client.post(REPORTS, content=payload, headers=headers)
    assert reply.status_code == 201, reply.text
    row = hub_db.query("SELECT cpu_temp_c, wifi_clients, sync_bytes FROM reports WHERE kit_id = 'kit-1'")[0]
    assert row == {"cpu_temp_c": None, "wifi_clients": None, "sync_bytes": None}


def test_a_report_holding_a_nul_character_is_refused_and_nothing_stored(hub_db, hub_client, clock):
    secret = enrol_kit(hub_db, "kit-1", clock.now)
    report, payload, headers = signed(
        secret, "kit-1", 1, {**health_body("kit-1"), "school_name": "Hill\x00"}, made_at=clock.now
    )
    # A kit writes U+FFFD for a NUL (report_file.encode); a hand-made report with one is refused, not a 500.
    assert b"\\ufffd" in gzip.decompress(payload)
    hand_made = gzip.compress(gzip.decompress(payload).replace(b"\\ufffd", b"\\u0000"))
    reply = hub_client.post(REPORTS, content=hand_made, headers=headers | _signature(secret, report, hand_made))
    assert reply.status_code == 400, reply.text
    assert reply.json()["code"] == "report.malformed" and "NUL" in reply.json()["message"]
    assert stored_reports(hub_db) == 0
    assert hub_client.post(REPORTS, content=payload, headers=headers).status_code == 201


def _signature(secret, report, payload: bytes) -> dict[str, str]:
    return {report_file.SIGNATURE_HEADER: base64.b64encode(report_file.sign(secret, report, payload).encode()).decode()}
