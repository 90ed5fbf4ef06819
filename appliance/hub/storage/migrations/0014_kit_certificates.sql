-- Issue 18: the kits' HTTPS certificates (docs/provisioning.md, "The kit's HTTPS certificate"). A kit sends its
-- certificate signing request in its heartbeat while it has no certificate valid for 30 more days. The hub keeps the
-- newest one per kit, `tpkit hub certs --pending` writes them out for the county's ACME client, and
-- `tpkit hub certs --import` keeps the issued chain, which goes back to the kit in its next report's reply.
CREATE TABLE kit_certificates (
    kit_id TEXT PRIMARY KEY REFERENCES kits (kit_id),
    name TEXT NOT NULL,
    request TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL,
    chain TEXT,
    not_after TEXT,
    issued_at DOUBLE PRECISION
)
