"""The `tpkit` command: its parser and commands are in appliance/cli/entry.py.

This module stays light on purpose: uvicorn starts each web worker as a fresh interpreter that runs the `tpkit`
script again (multiprocessing's spawn re-imports the main script), and the script imports this package. Importing
every command's parser there cost each worker ~20–35 ms of its start (issue 15: cold start).
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run one `tpkit` command (appliance/cli/entry.py)."""
    from appliance.cli.entry import main as run

    return run(argv)
