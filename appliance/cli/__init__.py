"""The `tpkit` command: its parser and commands are in appliance/cli/entry.py.

This module stays light on purpose: every `tpkit` command imports it, and each imports only the parsers and
modules it runs (entry.py imports a command's module when it is chosen; issue 15: cold start).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run one `tpkit` command (appliance/cli/entry.py)."""
    from appliance.cli.entry import main as run

    return run(argv)
