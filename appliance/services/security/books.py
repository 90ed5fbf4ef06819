"""The audit's check of books that came in unsigned (a USB stick's loose `.zim` files): they wait, unserved, until a
teacher or the administrator enables them on /admin/books (services/library/approval.py).

Must not import web, hub or cli. Reads the waiting list; changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.services.library import approval
from appliance.services.security.findings import Finding, Machine

if TYPE_CHECKING:
    from appliance.services.kit import Kit


def check(kit: Kit, machine: Machine) -> list[Finding]:
    """Books waiting for approval (a warning: someone should look at them), those that would replace a served book
    named apart; ok when none wait."""
    del machine  # the waiting list is in the kit's own folders
    waiting = approval.waiting_books(kit.db, kit.paths)
    if not waiting:
        return [Finding("books", "audit.books.none_waiting", "ok")]
    rows = tuple(
        (book.title, book.book_id, book.source, book.arrived_at, book.replaces.title if book.replaces else "")
        for book in waiting
    )
    replacing = sum(1 for book in waiting if book.replaces)
    return [
        Finding(
            "books",
            "audit.books.waiting",
            "warning",
            {"count": len(waiting), "replacing": replacing},
            rows,
        )
    ]
