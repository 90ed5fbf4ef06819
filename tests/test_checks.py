"""The static checks of `./build.sh check` held by the test suite too, so CI's `./build.sh test` fails on a lint
finding, a format drift, a type error or dead code. Configuration: pyproject.toml ([tool.ruff], [tool.mypy]) and vulture_whitelist.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent  # the venv's own tools, the versions pyproject.toml pins


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    binary = BIN / tool
    if not binary.exists():
        pytest.skip(f"{tool} is not installed in {BIN} (it comes with the test extra: pip install -e '.[test]')")
    return subprocess.run([str(binary), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_checks_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checks_ruff_format_changes_nothing():
    result = _run("ruff", "format", "--check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checks_mypy_finds_nothing():
    result = _run("mypy")  # files, strictness and the untyped third-party packages: [tool.mypy]
    assert result.returncode == 0, result.stdout + result.stderr


def test_checks_vulture_finds_no_dead_code():
    result = _run("vulture", "appliance", "vulture_whitelist.py", "--min-confidence", "60")
    assert result.returncode == 0, result.stdout + result.stderr
