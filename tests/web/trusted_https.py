"""HTTPS a test browser trusts on a name that is not localhost (issue 18: "the trap: a secure context").

A phone on `http://192.168.4.1/` gets no service worker; a test on `http://127.0.0.1` or `http://localhost` does, since
Chromium counts loopback as a secure context. So the tests load the kit as a phone does, by a real name such as
`kit-7.kits.county.test`, mapped to 127.0.0.1 with Chromium's `--host-resolver-rules` (the name is what the page's
origin is judged by), over HTTPS with a certificate from a test certificate authority that the browser trusts the
way a phone trusts a public one: through its certificate store, here an NSS database (Chromium on Linux reads
`$HOME/.pki/nssdb`) in a temporary HOME, made with NSS's `certutil` (Debian's libnss3-tools). No flag that ignores
certificate errors: a certificate Chromium would refuse fails the test as it would fail on a phone.

- `test_ca` (session): the test CA (`TestCA`); `leaf(name)` gives a certificate and key for a name, `sign(csr)`
  plays the county's ACME client for a kit's certificate signing request.
- `trusted_home` (session): the temporary HOME whose NSS database trusts the test CA.
- `trusted_chromium(home, names)`: a headless Chromium in that HOME with each name resolving to 127.0.0.1.
- `named_kit`: a kit called KIT_NAME serving HTTP and HTTPS on loopback with the test CA's certificate for its own
  key (`NamedKit`: `https_url`, `http_url` on the kit's name, `certify()` to change the certificate). With
  `trusted_chromium(trusted_home)` it is a phone on the classroom Wi-Fi of a kit with its county certificate: the
  seam for the PWA's `offline_phone` fixture (docs/provisioning.md, "The kit's HTTPS certificate").
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.paths import Paths
from appliance.services.kit import Kit, open_kit
from appliance.services.security import kit_certificate
from appliance.web.app import create_app
from tests.conftest import LiveServer, free_port
from tests.web.browsers import chromium

# The kit's name in the tests: a county's kit under the county's domain (a reserved .test name, never on the
# internet), as a phone on the classroom Wi-Fi would open it.
KIT_NAME = "kit-7.kits.county.test"
CERTUTIL = "certutil"
NSS_NICKNAME = "tpkit test CA"


@dataclass(frozen=True)
class Leaf:
    """A server certificate (PEM, with the CA's after it: the chain a server sends) and its private key (PEM)."""

    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TestCA:
    """A certificate authority made for one test session (an ECDSA P-256 key, a self-signed root)."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tpkit test county CA")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(days=1))
            .not_valid_after(_now() + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.path = folder / "ca.pem"
        self.path.write_bytes(self.pem)

    def sign(
        self, csr_pem: bytes, *, names: tuple[str, ...] = (), days: float = 90, start_days_ago: float = 1
    ) -> bytes:
        """The PEM chain (leaf, then this CA) a county's ACME client would hand back for `csr_pem`: valid from
        `start_days_ago` days ago for `days` days, for `names` (else the CSR's own names)."""
        csr = x509.load_pem_x509_csr(csr_pem)
        if not names:
            names = tuple(
                csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                    x509.DNSName
                )
            )
        return self._issue(csr.public_key(), names, days=days, start_days_ago=start_days_ago)

    def leaf(self, name: str = KIT_NAME, *, days: float = 90, start_days_ago: float = 1) -> Leaf:
        """A fresh key and a certificate for `name` (files in this CA's folder); `start_days_ago` > `days` gives an
        expired one."""
        key = ec.generate_private_key(ec.SECP256R1())
        chain = self._issue(key.public_key(), (name,), days=days, start_days_ago=start_days_ago)
        stem = f"{name}-{x509.random_serial_number():x}"
        cert_path, key_path = self.folder / f"{stem}.pem", self.folder / f"{stem}.key"
        cert_path.write_bytes(chain)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return Leaf(cert_path, key_path)

    def _issue(self, public_key, names: tuple[str, ...], *, days: float, start_days_ago: float) -> bytes:
        start = _now() - dt.timedelta(days=start_days_ago)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM) + self.pem


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def trusted_home(tmp_path_factory, test_ca: TestCA) -> Path:
    """A HOME whose NSS database (what Chromium on Linux trusts) holds the test CA, trusted to name web servers."""
    if shutil.which(CERTUTIL) is None:
        pytest.skip("no certutil: `apt-get install libnss3-tools` to run the HTTPS browser tests")
    home = tmp_path_factory.mktemp("trusted-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    database = f"sql:{nssdb}"
    _certutil("-N", "-d", database, "--empty-password")
    # -t "C,,": a CA trusted to issue server certificates (SSL), not for mail or code signing.
    _certutil("-A", "-d", database, "-n", NSS_NICKNAME, "-t", "C,,", "-i", str(test_ca.path))
    return home


def _certutil(*args: str) -> None:
    done = subprocess.run([CERTUTIL, *args], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, f"certutil {' '.join(args)} failed: {done.stderr}"


@contextlib.contextmanager
def trusted_chromium(home: Path, names: tuple[str, ...] = (KIT_NAME,)) -> Iterator:
    """A headless Chromium whose HOME is `home` (its NSS database trusts the test CA) and in which every name in
    `names` resolves to 127.0.0.1; ports stay as the URL gives them."""
    rules = ", ".join(f"MAP {name} 127.0.0.1" for name in names)
    with chromium(
        extra_args=(f"--host-resolver-rules={rules}",), env={"HOME": str(home), "PATH": "/usr/bin:/bin"}
    ) as launched:
        yield launched


def origin(scheme: str, port: int, name: str = KIT_NAME) -> str:
    """`scheme://name:port`, the origin a phone would see."""
    return f"{scheme}://{name}:{port}"


class NamedKit:
    """A kit called KIT_NAME (kit_id kit-7, tls_domain kits.county.test) serving HTTP and HTTPS on loopback."""

    def __init__(self, kit: Kit, ca: TestCA, http: LiveServer, https: LiveServer) -> None:
        self.kit, self.ca, self.http, self.https = kit, ca, http, https
        self.https_port = https.port
        self.files = kit_certificate.Files.of(kit.paths)
        self.https_url, self.http_url = origin("https", https.port), origin("http", http.port)

    def certify(self, *, days: float = 90, start_days_ago: float = 1) -> None:
        """The county's certificate for this kit's request, written where the kit keeps it (an expired one too: the
        kit was offline past its expiry). HTTPS takes a new one only in `tpkit serve` (tests/test_cli_https.py)."""
        self.files.cert.write_bytes(certificate_for(self.kit.paths, self.kit.settings, self.ca, days, start_days_ago))


def certificate_for(paths: Paths, settings, ca: TestCA, days: float = 90, start_days_ago: float = 1) -> bytes:
    """The test CA's chain for the kit's own request (made if missing)."""
    request = kit_certificate.prepare(paths, settings).request.read_bytes()
    return ca.sign(request, days=days, start_days_ago=start_days_ago)


@pytest.fixture
def named_kit(settings, book, test_ca: TestCA) -> Iterator[NamedKit]:
    """See NamedKit; HTTPS serves a valid certificate from the start (a test may change it or take it away)."""
    https_port = free_port()
    named = dataclasses.replace(settings, kit_id="kit-7", tls_domain="kits.county.test", https_port=https_port)
    paths = Paths.from_settings(named)
    kit_certificate.Files.of(paths).cert.parent.mkdir(parents=True, exist_ok=True)
    kit_certificate.Files.of(paths).cert.write_bytes(certificate_for(paths, named, test_ca))
    kit = open_kit(named)
    app = create_app(kit, watch_library=False)
    cert, key = kit_certificate.serving_files(paths)
    options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "lifespan": "off"}
    with LiveServer(app) as http, LiveServer(app, port=https_port, **options) as https:
        yield NamedKit(kit, test_ca, http, https)
    kit.close()
