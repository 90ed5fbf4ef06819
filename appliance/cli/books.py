"""`tpkit books waiting|enable|reject`: unsigned books (loose .zim files from a USB stick) waiting for approval, as the
operator at the kit's console (an administrator) sees them (docs/sync.md, "Other roads in")."""

from __future__ import annotations

import argparse

from appliance.cli.common import add_setting_flags, mb
from appliance.config import Settings

FLAGS = ("data_dir", "content_dir", "log_level")


def add_parsers(commands) -> None:
    books = commands.add_parser(
        "books",
        help="unsigned books from USB sticks waiting for approval: list, enable (serve) or reject them",
        epilog="Exit status: 0 when done, 1 when refused (the message names the fix).",
    )
    actions = books.add_subparsers(dest="books_command", metavar="ACTION", required=True)
    add_setting_flags(
        actions.add_parser(
            "waiting",
            help="list the books waiting: number, title, language, size, articles, where from, what each would replace",
        ),
        FLAGS,
    )
    enable = actions.add_parser(
        "enable",
        help="serve a waiting book (it replaces a served book of the same id, atomically, the old one kept for "
        "`tpkit content rollback`)",
    )
    reject = actions.add_parser("reject", help="delete a waiting book; the library does not change")
    for action in (enable, reject):
        action.add_argument("id", type=int, help="the book's number in `tpkit books waiting`")
        add_setting_flags(action, FLAGS)


def _print_waiting(books) -> None:
    if not books:
        print("[i] No book is waiting for approval.")
        return
    for book in books:
        print(
            f"[i] {book.id}: {book.title} ({book.language or '?'}, {mb(book.size_bytes)}, "
            f"{book.article_count} articles) from the USB stick {book.source} ({book.original_name}), {book.arrived_at}; would be served as {book.book_id}"
        )
        if book.replaces:
            r = book.replaces
            print(f"    would replace {r.title} ({r.date}, {mb(r.size_bytes)})")
        if book.note:
            print(f"    {book.note}")
    print("[i] Serve one: `tpkit books enable ID`; delete one: `tpkit books reject ID`.")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from appliance.services.kit import open_store
    from appliance.services.library import approval
    from appliance.services.people.access import CONSOLE
    from appliance.services.sync import stick_import

    store = open_store(settings)
    try:
        if args.books_command == "waiting":
            _print_waiting(approval.waiting_books(store.db, store.paths))
        elif args.books_command == "enable":
            book = approval.enable(settings, store.db, CONSOLE, args.id)
            replaced = f", replacing {book.replaces.title} ({book.replaces.date})" if book.replaces else ""
            print(f"[✓] {book.title} is served as /content/{book.book_id}/ (local channel, unsigned){replaced}")
        else:
            row = approval.reject(settings, store.db, CONSOLE, args.id)
            print(f"[✓] {row.title} ({row.original_name}) deleted from the waiting list; the library did not change")
    finally:
        store.close()
        stick_import.hand_back(store.paths)  # run with sudo: what it wrote goes back to the tpkit user
    return 0
