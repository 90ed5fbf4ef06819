"""The certificate edge: the kit's TLS key, its certificate signing request and the certificates a county sends back
(issue 18; docs/provisioning.md, "The kit's HTTPS certificate"). With edges/minisign.py, the only modules importing
`cryptography`. Must not import storage, content, services or web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

from appliance.errors import CertificateError

# The key is ECDSA P-256: every phone's TLS stack takes it, and a Pi signs handshakes with it cheaply.
KEY_MODE = 0o600  # the key never leaves the kit, and only the kit's user reads it


@dataclasses.dataclass(frozen=True)
class Chain:
    """What the kit needs to know of a PEM certificate chain: the first certificate's DNS names, its expiry, and
    whether its public key is that of a given private key (`matches`)."""

    names: tuple[str, ...]
    not_after: dt.datetime
    public_der: bytes


def make_key(path: Path) -> None:
    """Write a new ECDSA P-256 private key (PKCS#8 PEM) to `path`, mode 0600, made only for this kit."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(path.name + ".new")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(staged, path)


def _load_key(path: Path):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def make_csr(key_path: Path, name: str) -> bytes:
    """A PEM certificate signing request for `name` (its common name and only DNS name) signed with the key at
    `key_path`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(_load_key(key_path), hashes.SHA256())
    )
    from cryptography.hazmat.primitives import serialization

    return request.public_bytes(serialization.Encoding.PEM)


def csr_name(csr_pem: bytes) -> str:
    """The DNS name a PEM certificate signing request asks for (its first); CertificateError if it is not one."""
    from cryptography import x509

    try:
        request = x509.load_pem_x509_csr(csr_pem)
        names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return str(names.get_values_for_type(x509.DNSName)[0])
    except (ValueError, IndexError, x509.ExtensionNotFound) as exc:
        raise CertificateError(
            "The certificate request is not a PEM request for a DNS name.",
            code="tls.unreadable",
            cause=f"It could not be read: {exc}.",
            fix="Send the .csr file `tpkit hub certs --pending` wrote, unchanged.",
        ) from exc


def csr_public_der(csr_pem: bytes) -> bytes:
    """The public key (DER SubjectPublicKeyInfo) a PEM certificate signing request was signed with."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return (
        x509.load_pem_x509_csr(csr_pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def read_chain(pem: bytes) -> Chain:
    """The first certificate of a PEM chain; CertificateError (tls.unreadable) when it holds none."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        first = x509.load_pem_x509_certificates(pem)[0]
    except (ValueError, IndexError) as exc:
        raise CertificateError(
            "The file is not a PEM certificate chain.",
            code="tls.unreadable",
            cause="It is another kind of file, or it was cut short on the way.",
            fix="Give the fullchain .pem file the county's ACME client wrote (it begins with -----BEGIN CERTIFICATE-----).",
        ) from exc
    try:
        names = tuple(
            first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName
            )
        )
    except x509.ExtensionNotFound:
        names = ()
    public = first.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Chain(names, first.not_valid_after_utc, public)


def matches(chain: Chain, key_path: Path) -> bool:
    """Whether `chain`'s certificate was made for the private key at `key_path`."""
    from cryptography.hazmat.primitives import serialization

    public = (
        _load_key(key_path)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return public == chain.public_der


def self_signed(key_path: Path, name: str, days: int) -> bytes:
    """A PEM certificate for `name` signed by its own key: what HTTPS serves before the county's certificate came
    (no phone trusts it, and none is sent to HTTPS while it is all there is)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _load_key(key_path)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
