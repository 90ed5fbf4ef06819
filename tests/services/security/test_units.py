"""The audit's list of units is the kit's units in systemd/, and the real `systemd-analyze security --offline=true`
scores each of the repository's unit files within the audit's bar (the edge's parsing against the real tool)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance.edges import system
from appliance.services.security import units

UNITS_DIR = Path(__file__).parents[3] / "systemd"
UNIT_FILES = sorted(UNITS_DIR.glob("*.service"))


def test_units_the_audit_scores_every_kit_service_in_systemd():
    shipped = {path.name for path in UNIT_FILES}
    assert {name.replace("@sda1.", "@.") for name in units.UNITS} == shipped


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_real_systemd_analyze_offline_scores_the_repository_units_within_the_bar():
    scores = system.unit_exposure([str(path) for path in UNIT_FILES], offline=True)
    if scores is None:
        pytest.skip("systemd-analyze security --offline=true cannot run here")
    assert {name.replace("@i.", "@.") for name in scores} == {path.name for path in UNIT_FILES}  # a template as @i
    assert max(scores.values()) <= units.EXPOSURE_MAX, scores
