"""`tpkit serve` with https_port: every forked worker serves HTTPS beside HTTP on real sockets, first with the kit's
self-signed stand-in, then, without a restart, with the certificate the county sent back (issue 18), and a phone that
trusts the county's CA is sent from HTTP to HTTPS on the kit's name and lands in a secure context."""

from __future__ import annotations

import socket
import ssl
import time

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from appliance.cli.common import TLS_RELOAD_CHECK_S
from appliance.config import load_settings
from appliance.paths import Paths
from appliance.services.security import kit_certificate
from tests.conftest import free_port
from tests.test_cli import _start_serve, _wait_for, stopped_by_sigterm
from tests.web.trusted_https import KIT_NAME, origin, test_ca, trusted_chromium, trusted_home  # noqa: F401

ENV = {"TPKIT_KIT_ID": "kit-7", "TPKIT_TLS_DOMAIN": "kits.county.test"}
CONNECTIONS = 12  # enough new connections that both workers answer some (the kernel spreads accepts)


def _served_certificates(port: int) -> set[bytes]:
    """The certificates the server at 127.0.0.1:`port` presents to CONNECTIONS new connections (DER)."""
    unchecked = ssl.create_default_context()
    unchecked.check_hostname, unchecked.verify_mode = False, ssl.CERT_NONE
    seen = set()
    for _ in range(CONNECTIONS):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with unchecked.wrap_socket(raw, server_hostname=KIT_NAME) as tls:
                seen.add(tls.getpeercert(binary_form=True))
    return seen


def _install_and_wait(port: int, paths, settings, chain: bytes) -> set[bytes]:
    """Install `chain` as the kit would and wait until every new connection to `port` gets it; {its DER}."""
    kit_certificate.install(paths, settings, chain)
    wanted = {x509.load_pem_x509_certificates(chain)[0].public_bytes(Encoding.DER)}
    deadline = time.monotonic() + 10  # 5 × TLS_RELOAD_CHECK_S
    while _served_certificates(port) != wanted and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _served_certificates(port) == wanted
    return wanted


def _verified_get(port: int, ca_path) -> str:
    """GET / over HTTPS as a phone trusting the county CA would, by the kit's name (sent to 127.0.0.1)."""
    trusting = ssl.create_default_context(cafile=str(ca_path))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with trusting.wrap_socket(raw, server_hostname=KIT_NAME) as tls:
            tls.sendall(f"GET /-/health HTTP/1.1\r\nHost: {KIT_NAME}\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
    return answer.decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_serve_https_takes_the_county_certificate_without_a_restart(
    tmp_path,
    monkeypatch,
    test_ca,  # noqa: F811
    trusted_home,  # noqa: F811
    workers,
):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    port, https_port = free_port(), free_port()
    server = _start_serve(tmp_path, port, "--web-workers", workers, "--https-port", str(https_port))
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        settings = load_settings(
            environ={},
            overrides={"data_dir": str(tmp_path / "data"), "kit_id": "kit-7", "tls_domain": ENV["TPKIT_TLS_DOMAIN"]},
        )
        paths = Paths.from_settings(settings)
        key = paths.tls_dir / "key.pem"
        assert key.stat().st_mode & 0o777 == 0o600
        before = _served_certificates(https_port)
        assert len(before) == 1
        stand_in = x509.load_der_x509_certificate(before.pop())
        assert stand_in.issuer == stand_in.subject  # self-signed: nobody is sent there
        try:
            _verified_get(https_port, test_ca.path)
            raise AssertionError("a phone trusting the county CA accepted the kit's self-signed stand-in")
        except ssl.SSLCertVerificationError:
            pass

        issued = _install_and_wait(
            https_port, paths, settings, test_ca.sign((paths.tls_dir / "request.csr").read_bytes())
        )
        assert _verified_get(https_port, test_ca.path) == "HTTP/1.1 200 OK"
        assert httpx.get(f"http://127.0.0.1:{port}/-/health").status_code == 200  # HTTP still beside it
        with trusted_chromium(trusted_home) as browser:  # a phone: sent from HTTP to HTTPS, a secure context
            page = browser.new_page()
            page.goto(origin("http", port) + "/?lang=zh")
            assert page.url == origin("https", https_port) + "/?lang=zh"
            assert page.evaluate("() => [isSecureContext, 'serviceWorker' in navigator]") == [True, True]

        (paths.tls_dir / "cert.pem").write_text("not a certificate")  # a damaged file: the one served stays
        time.sleep(3 * TLS_RELOAD_CHECK_S)
        assert _served_certificates(https_port) == issued
        renewed = test_ca.sign((paths.tls_dir / "request.csr").read_bytes())
        _install_and_wait(https_port, paths, settings, renewed)  # and the next good one is still taken

        output = stopped_by_sigterm(server)
    finally:
        server.kill()
    assert "Traceback" not in output, output
