"""The library's logic: cross-book search, the OPDS catalog's selection, the demo books, book counts.

Must not import web, hub or cli."""
