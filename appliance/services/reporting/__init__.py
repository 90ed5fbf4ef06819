"""Reporting to the county hub: the kit's key, reports and the outbox, delivery, the desired configuration.

Must not import web, hub or cli."""
