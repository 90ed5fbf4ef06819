"""`--help` of every `tpkit` command and sub-command prints its usage and exits 0 (argparse expands "%" in help)."""

from __future__ import annotations

import argparse

import pytest

from appliance.cli.entry import _parser, main


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `parser`, itself first. argparse has no public listing of sub-commands: its
    sub-parsers action is the documented way to add them, and `choices` maps each name to its parser."""
    paths = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += _commands(sub, (*path, name))
    return paths


COMMANDS = _commands(_parser())


def test_cli_help_tree_has_every_group():
    top = {path[0] for path in COMMANDS if path}
    assert {"serve", "discover", "sync", "channel", "content", "hub", "report", "people", "pack"} <= top
    assert any(path[:1] == ("hub",) and len(path) == 2 for path in COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(("tpkit", *path)))
def test_cli_help_of_every_command_exits_0_with_usage(path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(("usage: tpkit", *path)) + " ")
