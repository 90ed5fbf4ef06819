"""The kits' HTTPS certificates on the hub (issue 18, docs/provisioning.md): the requests kits sent in their
heartbeats written out for the county's ACME client, and the chains it issued matched to their kit and kept for its
next report's reply. Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from appliance.edges import x509
from appliance.errors import CertificateError
from appliance.hub.storage import certificates as stored


def pending(db) -> list[dict]:
    """Rows of kits whose newest request has no chain issued since it came."""
    return [r for r in stored.listing(db) if r["chain"] is None or (r["issued_at"] or 0) < r["requested_at"]]


def write_pending(db, folder: Path) -> list[tuple[str, str, Path]]:
    """Write each pending request to `folder`/<kit_id>.csr; (kit id, name, file) of each."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for row in pending(db):
        path = folder / f"{row['kit_id']}.csr"
        path.write_text(row["request"], encoding="ascii")
        written.append((row["kit_id"], row["name"], path))
    return written


def import_chain(db, pem: bytes, now: float) -> tuple[str, x509.Chain]:
    """Keep `pem` (a chain the county's ACME client issued) for the kit whose newest request has its key; (kit id,
    chain). CertificateError when no kit asked for that key, or it names another name, or it has expired."""
    chain = x509.read_chain(pem)
    rows = [r for r in stored.listing(db) if x509.csr_public_der(r["request"].encode("ascii")) == chain.public_der]
    if not rows:
        raise CertificateError(
            f"No kit asked for the certificate of {', '.join(chain.names) or 'no name'}: its key is in no request.",
            code="tls.wrong_key",
            cause="It was issued for a request older than the kit's newest one, or for another hub's kit.",
            fix="Run tpkit hub certs --pending again and issue certificates for the requests it writes.",
        )
    row = rows[0]
    if row["name"] not in chain.names:
        raise CertificateError(
            f"The certificate names {', '.join(chain.names)}, not {row['name']} that kit {row['kit_id']} asked for.",
            code="tls.wrong_name",
            cause="The ACME client was given another name than the request's.",
            fix=f"Issue it for {row['name']} from {row['kit_id']}.csr.",
        )
    if chain.not_after.timestamp() <= now:
        raise CertificateError(
            f"The certificate for {row['name']} expired on {chain.not_after:%Y-%m-%d}.",
            code="tls.expired",
            cause="An old file was imported.",
            fix="Import the file the ACME client wrote last (renew it first if it has expired).",
        )
    with db.transaction() as tx:
        stored.keep_chain(tx, row["kit_id"], pem.decode("ascii"), _iso(chain.not_after), now)
    return row["kit_id"], chain


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
