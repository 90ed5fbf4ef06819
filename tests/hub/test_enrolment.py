"""Enrolment over HTTP: a one-time token, stored hashed, trades once for trust in one key."""

from __future__ import annotations

from appliance.edges import minisign
from appliance.hub import enrolment
from tests.hub.conftest import signed

ENROL = "/api/v1/enrol"


def test_enrolment_token_works_once_per_key_and_is_stored_hashed(hub_db, hub_client, clock):
    token = enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24)
    assert token not in str(hub_db.query("SELECT * FROM kits"))
    key, other = minisign.generate(), minisign.generate()
    body = {"kit_id": "kit-1", "token": token, "public_key": key.public.line}
    first = hub_client.post(ENROL, json=body)
    assert first.status_code == 201 and first.json()["kit_id"] == "kit-1"
    assert hub_client.post(ENROL, json=body).status_code == 200  # a lost reply is safe to retry
    stolen = hub_client.post(ENROL, json={**body, "public_key": other.public.line})
    assert stolen.status_code == 403 and stolen.json()["code"] == "hub.bad_token"
    assert enrolment.public_key(hub_db, "kit-1") == key.public


def test_enrolment_refuses_unknown_expired_and_malformed(hub_db, hub_client, clock):
    token = enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24)
    key = minisign.generate().public.line
    assert hub_client.post(ENROL, json={"kit_id": "kit-1", "token": "guess", "public_key": key}).status_code == 403
    assert hub_client.post(ENROL, json={"kit_id": "kit-2", "token": token, "public_key": key}).status_code == 403
    bad_key = hub_client.post(ENROL, json={"kit_id": "kit-1", "token": token, "public_key": "RWQnope"})
    assert bad_key.status_code == 400 and bad_key.json()["code"] == "hub.invalid"
    assert hub_client.post(ENROL, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert hub_client.post(ENROL, content=b"x" * 5000).status_code == 413
    clock.now += 25 * 3600
    expired = hub_client.post(ENROL, json={"kit_id": "kit-1", "token": token, "public_key": key})
    assert expired.status_code == 403 and expired.json()["code"] == "hub.bad_token"
    assert enrolment.public_key(hub_db, "kit-1") is None


def test_enrolment_new_token_replaces_the_key_of_a_rebuilt_kit(hub_db, hub_client, clock):
    old, new = minisign.generate(), minisign.generate()
    token = enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24)
    assert (
        hub_client.post(ENROL, json={"kit_id": "kit-1", "token": token, "public_key": old.public.line}).status_code
        == 201
    )
    renewed = enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24, new_token=True)
    assert (
        hub_client.post(ENROL, json={"kit_id": "kit-1", "token": renewed, "public_key": new.public.line}).status_code
        == 201
    )
    _, payload, headers = signed(old, "kit-1", 1, made_at=clock.now)
    assert hub_client.post("/api/v1/reports", content=payload, headers=headers).status_code == 401
    _, payload, headers = signed(new, "kit-1", 1, made_at=clock.now)
    assert hub_client.post("/api/v1/reports", content=payload, headers=headers).status_code == 201


def test_enrolment_register_twice_needs_new_token(hub_db, clock):
    import pytest

    from appliance.errors import HubError

    enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24)
    with pytest.raises(HubError) as caught:
        enrolment.register(hub_db, "kit-1", "Hill School", "North", "", clock.now, 24)
    assert caught.value.code == "hub.kit_exists" and "--new-token" in caught.value.fix


def test_the_hub_refuses_kit_ids_that_tpkit_provision_refuses(hub_db, hub_client, clock):
    import pytest

    from appliance.errors import HubError
    from appliance.services.device import kit_toml

    for kit_id in ("GX-0042", "gx_0042", "gx.0042", "-gx", "gx-", "g" * 33, ""):
        assert kit_toml.check({"kit_id": kit_id, "school_name": "S"}, "kit.toml").kit_id is None  # provision refuses
        with pytest.raises(HubError) as caught:
            enrolment.register(hub_db, kit_id, "Hill School", "North", "", clock.now, 24)
        assert caught.value.code == "hub.invalid" and "lower-case letters, digits and dashes" in caught.value.message
        key = minisign.generate().public.line
        refused = hub_client.post(ENROL, json={"kit_id": kit_id, "token": "x" * 32, "public_key": key})
        assert refused.status_code == 400 and refused.json()["code"] == "hub.invalid"
    assert enrolment.register(hub_db, "g" * 32, "Hill School", "North", "", clock.now, 24)
    assert kit_toml.check({"kit_id": "g" * 32, "school_name": "S"}, "kit.toml").kit_id == "g" * 32
