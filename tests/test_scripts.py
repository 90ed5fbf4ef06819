"""Ops checks on the project's shell scripts: ShellCheck-clean, and build.sh fails loudly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _shell_scripts() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    scripts = []
    for name in tracked.splitlines():
        path = ROOT / name
        if path.suffix == ".sh" or (
            path.is_file() and path.read_bytes()[:32].startswith((b"#!/bin/sh", b"#!/bin/bash"))
        ):
            scripts.append(path)
    return scripts


def test_scripts_are_found():
    assert {p.name for p in _shell_scripts()} >= {"build.sh", "run", "tpkit-rsync"}


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck missing: apt-get install shellcheck")
def test_scripts_pass_shellcheck():
    result = subprocess.run(["shellcheck", *map(str, _shell_scripts())], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_scripts_build_sh_rejects_unknown_commands_with_usage():
    result = subprocess.run([str(ROOT / "build.sh"), "frobnicate"], capture_output=True, text=True)
    assert result.returncode == 64
    assert "usage: ./build.sh run|test|" in result.stderr
    for command in ("run", "test", "check", "messages", "image", "image-test", "fresh-ci"):
        assert f"\n  {command} " in result.stderr
