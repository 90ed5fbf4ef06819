"""The kit's certificate checks (services/security/kit_certificate.py): a chain for another key, another name, an
expired one or no certificate at all is refused with its code, the installed one is kept and the refusal is kept for
the admin page; the key is the kit's own (0600) and the request names the kit."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.edges import x509
from appliance.errors import CertificateError
from appliance.services.kit import kit_paths
from appliance.services.security import kit_certificate
from tests.web.trusted_https import KIT_NAME, test_ca  # noqa: F401


@pytest.fixture
def named(settings):
    return dataclasses.replace(settings, kit_id="kit-7", tls_domain="kits.county.test")


def test_kit_certificate_key_is_private_and_request_names_the_kit(named):
    files = kit_certificate.prepare(kit_paths(named), named)
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert x509.csr_name(files.request.read_bytes()) == KIT_NAME
    assert kit_certificate.pending_request(kit_paths(named), named).startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert kit_certificate.pending_request(kit_paths(named), dataclasses.replace(named, tls_domain="")) == ""


@pytest.mark.parametrize(
    ("code", "make"),
    [
        ("tls.wrong_key", lambda ca, request: ca.leaf(KIT_NAME).cert.read_bytes()),
        ("tls.wrong_name", lambda ca, request: ca.sign(request, names=("kit-8.kits.county.test",))),
        ("tls.expired", lambda ca, request: ca.sign(request, days=90, start_days_ago=91)),
        ("tls.unreadable", lambda ca, request: b"this is not a certificate"),
    ],
)
def test_kit_certificate_refused_keeps_the_one_in_use(named, test_ca, code, make):  # noqa: F811
    paths = kit_paths(named)
    files = kit_certificate.prepare(paths, named)
    good = test_ca.sign(files.request.read_bytes())
    kit_certificate.install(paths, named, good)
    with pytest.raises(CertificateError) as refused:
        kit_certificate.install(paths, named, make(test_ca, files.request.read_bytes()))
    assert refused.value.code == code
    assert files.cert.read_bytes() == good
    state = kit_certificate.state(paths, named)
    assert state.installed and state.refused == refused.value.message
    assert kit_certificate.take(paths, named, good.decode()) is False  # the one installed: nothing to do
    kit_certificate.install(paths, named, test_ca.sign(files.request.read_bytes()))
    assert kit_certificate.state(paths, named).refused == ""


def test_kit_certificate_a_lost_key_takes_its_certificate_with_it(named, test_ca):  # noqa: F811
    """A new key (the old one lost) makes a new request, and the certificate of the old key is not served: HTTPS
    would not start with a certificate for another key (serving_files then names the self-signed stand-in)."""
    paths = kit_paths(named)
    files = kit_certificate.prepare(paths, named)
    kit_certificate.install(paths, named, test_ca.sign(files.request.read_bytes()))
    old_request = files.request.read_bytes()
    files.key.unlink()
    kit_certificate.prepare(paths, named)
    assert files.request.read_bytes() != old_request and not files.cert.exists()
    assert kit_certificate.serving_files(paths) == (files.self_signed, files.key)
    assert x509.matches(x509.read_chain(files.self_signed.read_bytes()), files.key)
