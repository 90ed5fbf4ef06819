"""Issue 18, the certificate's road: a kit with a name sends its certificate request in its heartbeat → the hub keeps
it (migration 0014) → `tpkit hub certs --pending` writes it for the county's ACME client (here the test CA) →
`tpkit hub certs --import` keeps the issued chain → the kit's next report's reply carries it and the kit installs it
after its checks → the kit asks no more. Real hub (uvicorn, each backend), the kit's own delivery."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.edges import x509
from appliance.hub.storage import certificates as stored_certificates
from appliance.services.security import kit_certificate
from tests.hub.conftest import enrol_kit, health_body, signed, stored_reports
from tests.hub.test_cli_hub import tpkit
from tests.hub.test_lessons_kit_to_kit import _report
from tests.web.trusted_https import KIT_NAME, test_ca  # noqa: F401


@pytest.fixture
def settings(settings, hub_live, hub_db, clock):
    """Kit kit-7 of kits.county.test reports to the hub under test."""
    from appliance.hub import enrolment

    token = enrolment.register(hub_db, "kit-7", "Hill School", "North", "", clock.now, 24)
    named = {"kit_id": "kit-7", "tls_domain": "kits.county.test", "https_port": 8443}
    return dataclasses.replace(settings, hub_url=hub_live.url, hub_enrol_token=token, **named)


def test_kit_certificate_goes_from_request_to_installed_through_the_hub(
    kit,
    hub_settings,
    clock,
    tmp_path,
    test_ca,  # noqa: F811
):
    _report(kit, tmp_path, clock)
    pending = tmp_path / "pending"
    written = tpkit("certs", "--pending", str(pending), settings=hub_settings)
    assert written.returncode == 0, written.stderr
    request = (pending / "kit-7.csr").read_bytes()
    assert f"{KIT_NAME} (kit kit-7)" in written.stdout
    assert request == (kit.paths.tls_dir / "request.csr").read_bytes()

    stranger = test_ca.leaf()  # the right name, another key: no kit asked for it
    refused = tpkit("certs", "--import", str(stranger.cert), settings=hub_settings)
    assert refused.returncode == 1 and "No kit asked for the certificate" in refused.stdout

    issued = tmp_path / "kit-7.fullchain.pem"
    issued.write_bytes(test_ca.sign(request))
    imported = tpkit("certs", "--import", str(issued), settings=hub_settings)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "kit kit-7" in imported.stdout
    listed = tpkit("certs", settings=hub_settings).stdout
    assert "kit-7\t" + KIT_NAME + "\tissued until" in listed
    assert tpkit("certs", "--pending", str(pending), settings=hub_settings).stdout.count(".csr") == 0

    _report(kit, tmp_path, clock)  # the reply carries the chain
    assert (kit.paths.tls_dir / "cert.pem").read_bytes() == issued.read_bytes()
    state = kit_certificate.state(kit.paths, kit.settings)
    assert state.installed and state.name == KIT_NAME and not state.refused
    assert kit_certificate.pending_request(kit.paths, kit.settings) == ""  # valid for 89 days: nothing to ask


def test_kit_certificate_request_for_another_kit_s_name_is_dropped(hub_db, hub_client, clock, tmp_path):
    """A kit (kit-9) whose heartbeat asks for another kit's name (kit-7.…) gets nothing kept: no kit can be given a
    certificate for another's name; a request that is not one is dropped too; both heartbeats are stored."""
    secret = enrol_kit(hub_db, "kit-9", clock.now)
    key = tmp_path / "key.pem"
    x509.make_key(key)
    for sequence, request in enumerate(
        (x509.make_csr(key, KIT_NAME).decode(), "-----BEGIN CERTIFICATE REQUEST-----x"), 1
    ):
        body = {**health_body("kit-9"), "tls_request": request}
        _, payload, headers = signed(secret, "kit-9", sequence, body, made_at=clock.now)
        answer = hub_client.post("/api/v1/reports", content=payload, headers=headers)
        assert answer.status_code == 201 and answer.json()["certificate"] is None
    assert stored_reports(hub_db, "kit-9") == 2
    assert stored_certificates.listing(hub_db) == []
