"""The kit's HTTPS certificate (issue 18): its key and request made on the kit, the county's certificate installed
after checks, and whether phones may be sent to HTTPS (docs/provisioning.md, "The kit's HTTPS certificate").

Everything lives in `<data_dir>/tls/`: `key.pem` (0600, made here, never sent), `request.csr` (for the kit's name,
sent upstream in the health report), `cert.pem` (the county's chain, once installed), `self-signed.pem` (what HTTPS
serves until then, which no phone trusts) and `refused.txt` (why the last certificate offered was refused). Must not
import web or cli.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from appliance.config import Settings
from appliance.edges import x509
from appliance.errors import CertificateError
from appliance.files import write_atomically
from appliance.paths import Paths

log = logging.getLogger(__name__)

# Phones are sent to HTTPS only while the certificate is valid for longer than this: a kit that misses its renewal
# (offline for weeks) stops sending them a few days before the expiry, so that no page a phone opened over HTTPS
# becomes a certificate warning while the child uses it. docs/provisioning.md.
REDIRECT_MARGIN = dt.timedelta(days=3)
# A certificate closer to its expiry than this is asked for again in the next report (ACME certificates last 90
# days; clients renew with 30 left).
RENEW_BEFORE = dt.timedelta(days=30)
# The self-signed stand-in: long-lived, since no phone is ever sent to it.
SELF_SIGNED_DAYS = 3650


@dataclasses.dataclass(frozen=True)
class Files:
    key: Path
    request: Path
    cert: Path
    self_signed: Path
    refused: Path

    @classmethod
    def of(cls, paths: Paths) -> Files:
        folder = paths.tls_dir
        return cls(
            folder / "key.pem",
            folder / "request.csr",
            folder / "cert.pem",
            folder / "self-signed.pem",
            folder / "refused.txt",
        )


@dataclasses.dataclass(frozen=True)
class CertificateState:
    """The installed certificate as the admin page and the HTTP→HTTPS redirect see it."""

    name: str  # the kit's name ('' without tls_domain)
    installed: bool
    not_after: dt.datetime | None
    refused: str  # why the last certificate offered was refused ('' when none was, or one was installed since)

    def sends_to_https(self, now: dt.datetime) -> bool:
        """Whether phones may be sent to HTTPS now: a certificate for this name, valid for more than the margin."""
        return bool(self.name and self.installed and self.not_after and self.not_after - now > REDIRECT_MARGIN)

    def expired(self, now: dt.datetime) -> bool:
        return bool(self.installed and self.not_after and self.not_after <= now)


def kit_name(settings: Settings) -> str:
    """`<kit_id>.<tls_domain>`, or '' when the county gave no domain."""
    return f"{settings.kit_id}.{settings.tls_domain}" if settings.tls_domain else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def prepare(paths: Paths, settings: Settings) -> Files:
    """Make what is missing: the key, the request for the kit's current name, the self-signed stand-in. Cheap when
    all are there; the files."""
    files = Files.of(paths)
    name = kit_name(settings) or f"{settings.kit_id}.invalid"
    files.key.parent.mkdir(parents=True, exist_ok=True)
    if not files.key.exists():
        x509.make_key(files.key)
        log.info("made the kit's HTTPS key %s", files.key)
        for stale in (files.request, files.self_signed, files.cert):  # made for the key that was lost
            stale.unlink(missing_ok=True)
    if settings.tls_domain and (not files.request.exists() or x509.csr_name(files.request.read_bytes()) != name):
        write_atomically(files.request, x509.make_csr(files.key, name))
    if not files.self_signed.exists() or name not in x509.read_chain(files.self_signed.read_bytes()).names:
        write_atomically(files.self_signed, x509.self_signed(files.key, name, SELF_SIGNED_DAYS))
    return files


def serving_files(paths: Paths) -> tuple[Path, Path]:
    """(certificate chain, key) that HTTPS serves: the installed certificate, else the self-signed stand-in."""
    files = Files.of(paths)
    return (files.cert if files.cert.exists() else files.self_signed), files.key


def state(paths: Paths, settings: Settings) -> CertificateState:
    """The installed certificate's name and expiry, and the last refusal."""
    files = Files.of(paths)
    refused = files.refused.read_text(encoding="utf-8") if files.refused.exists() else ""
    try:
        chain = x509.read_chain(files.cert.read_bytes())
    except (OSError, CertificateError):
        return CertificateState(kit_name(settings), False, None, refused)
    return CertificateState(kit_name(settings), kit_name(settings) in chain.names, chain.not_after, refused)


def pending_request(paths: Paths, settings: Settings, now: dt.datetime | None = None) -> str:
    """The PEM request to send upstream: when the kit has a name and no certificate valid for RENEW_BEFORE more;
    else ''."""
    if not settings.tls_domain:
        return ""
    current = state(paths, settings)
    if current.installed and current.not_after and current.not_after - (now or _now()) > RENEW_BEFORE:
        return ""
    files = prepare(paths, settings)
    return files.request.read_text(encoding="ascii")


def install(paths: Paths, settings: Settings, pem: bytes, now: dt.datetime | None = None) -> x509.Chain:
    """Check `pem` (a chain for this kit's key and name, not expired) and install it: the web workers take it within a few seconds
    (cli/common.py, TLS_RELOAD_CHECK_S). A CertificateError says what is wrong; it is also kept for the admin page, and the certificate
    in use stays."""
    files = prepare(paths, settings)
    try:
        chain = _checked(files, settings, pem, now or _now())
    except CertificateError as exc:
        write_atomically(files.refused, exc.message.encode())
        log.error("refused a TLS certificate: %s", exc)
        raise
    write_atomically(files.cert, pem)
    files.refused.unlink(missing_ok=True)
    log.info("installed the HTTPS certificate for %s, valid until %s", ", ".join(chain.names), chain.not_after)
    return chain


def take(paths: Paths, settings: Settings, chain: str) -> bool:
    """Install `chain` (from a report's reply) unless it is the one installed; whether it was installed. A refusal
    is logged and kept for the admin page (`install`), never raised: the report road goes on."""
    files = Files.of(paths)
    pem = chain.encode("utf-8", "replace")
    if files.cert.exists() and files.cert.read_bytes() == pem:
        return False
    try:
        install(paths, settings, pem)
    except CertificateError:
        return False
    return True


def _checked(files: Files, settings: Settings, pem: bytes, now: dt.datetime) -> x509.Chain:
    chain = x509.read_chain(pem)
    name = kit_name(settings)
    if not x509.matches(chain, files.key):
        raise CertificateError(
            "The certificate was made for another key, not this kit's.",
            code="tls.wrong_key",
            cause="It answers another kit's request, or an old request of this kit's from before its key was made anew.",
            fix="Issue a certificate for this kit's latest request (tpkit hub certs --pending) and install that.",
        )
    if not name or name not in chain.names:
        raise CertificateError(
            f"The certificate names {', '.join(chain.names) or 'nothing'}, not this kit ({name or 'no tls_domain'}).",
            code="tls.wrong_name",
            cause="It was issued for another kit, or this kit's kit_id or tls_domain changed since.",
            fix="Issue a certificate for the name in this kit's request, or correct tls_domain in /etc/tpkit/kit.toml.",
        )
    if chain.not_after <= now:
        raise CertificateError(
            f"The certificate expired on {chain.not_after:%Y-%m-%d}.",
            code="tls.expired",
            cause="An old certificate was sent, or the kit's clock is wrong.",
            fix="Renew it with the county's ACME client and send the new one; check the kit's date on the admin page.",
        )
    return chain
