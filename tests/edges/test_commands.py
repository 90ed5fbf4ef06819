"""Streaming a command: lines as they come, ticks while no line comes, and the two ways of stopping it."""

from __future__ import annotations

import pytest

from appliance.edges import commands

# Prints one line, then stays silent; on SIGTERM it writes "saved" to a file and exits (as rsync saves its partial).
SLOW = """
trap 'echo saved > "$1"; exit 20' TERM
echo started
while :; do sleep 0.05; done
"""


class Enough(Exception):
    pass


class EnoughNow(commands.StopAtOnce):
    pass


def _stop_after_ticks(count: int, error: type[Exception], seen: list[str]):
    def tick() -> None:
        seen.append("tick")
        if seen.count("tick") >= count:
            raise error

    return tick


def test_commands_stream_ticks_while_the_command_is_silent(tmp_path):
    seen: list[str] = []
    with pytest.raises(Enough):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(tmp_path / "saved")],
            seen.append,
            on_tick=_stop_after_ticks(3, Enough, seen),
            tick_s=0.05,
        )
    assert seen[0] == "started" and seen.count("tick") == 3  # ticks came though no second line did


def test_commands_stream_asks_politely_but_stop_at_once_kills(tmp_path):
    polite, rude = tmp_path / "polite", tmp_path / "rude"
    with pytest.raises(Enough):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(polite)],
            lambda line: None,
            on_tick=_stop_after_ticks(2, Enough, []),
            tick_s=0.05,
        )
    with pytest.raises(EnoughNow):
        commands.stream(
            ["sh", "-c", SLOW, "sh", str(rude)],
            lambda line: None,
            on_tick=_stop_after_ticks(2, EnoughNow, []),
            tick_s=0.05,
        )
    assert polite.read_text() == "saved\n"  # SIGTERM: its trap ran
    assert not rude.exists()  # SIGKILL: no trap runs


def test_commands_stream_passes_a_last_line_without_newline():
    seen: list[str] = []
    done = commands.stream(["printf", "one\\ntwo"], seen.append)
    assert done.returncode == 0 and seen == ["one", "two"]
