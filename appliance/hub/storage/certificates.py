"""The `kit_certificates` table (hub migration 0014): each kit's newest HTTPS certificate request and the chain the
county issued for it (docs/provisioning.md). Statements are written for both backends (`?` placeholders).
"""

from __future__ import annotations

from typing import Any


def keep_request(tx, kit_id: str, name: str, request: str, now: float) -> None:
    """Keep `request` as the kit's newest (the chain issued for an earlier one stays until a new one is imported)."""
    tx.execute(
        "INSERT INTO kit_certificates (kit_id, name, request, requested_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kit_id) DO UPDATE SET name = excluded.name, request = excluded.request, "
        "requested_at = excluded.requested_at",
        (kit_id, name, request, now),
    )


def listing(db) -> list[dict[str, Any]]:
    """Every kit's row, by kit id."""
    return db.query("SELECT * FROM kit_certificates ORDER BY kit_id")


def keep_chain(tx, kit_id: str, chain: str, not_after: str, now: float) -> None:
    tx.execute(
        "UPDATE kit_certificates SET chain = ?, not_after = ?, issued_at = ? WHERE kit_id = ?",
        (chain, not_after, now, kit_id),
    )


def chains(db, kit_ids: list[str]) -> dict[str, str]:
    """{kit id: issued chain} of those of `kit_ids` that have one."""
    if not kit_ids:
        return {}
    marks = ", ".join("?" for _ in kit_ids)
    rows = db.query(
        f"SELECT kit_id, chain FROM kit_certificates WHERE chain IS NOT NULL AND kit_id IN ({marks})",
        tuple(kit_ids),
    )
    return {row["kit_id"]: row["chain"] for row in rows}
