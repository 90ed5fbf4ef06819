"""web/precompile.py under tpkit-web.service's system-call filter (~@resources: setpriority is refused)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.paths import compiled_mark
from appliance.web import precompile


def test_precompile_compiles_and_marks_the_folder_when_the_unit_refuses_os_nice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def refused(_: int) -> int:
        raise PermissionError(1, "Operation not permitted")  # what the booted image's journal showed

    monkeypatch.setattr(os, "nice", refused)
    assert precompile.main([str(tmp_path)]) == 0
    assert compiled_mark(tmp_path).exists()
