"""The audit: each check looks at one side of the kit and returns findings, each with a level (ok, warning,
problem), a sentence and a fix for people (gettext keys `audit.<…>` and `audit.<…>.fix`) and the data it is about.

Must not import web, hub or cli. The checks are a tuple of functions (`CHECKS`): another side of the kit is one
more function, and `run` takes any tuple.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from appliance.services.security import books, file_modes, roles, units, wifi
from appliance.services.security.findings import Finding, Machine, worst

if TYPE_CHECKING:
    from appliance.services.kit import Kit

Check = Callable[["Kit", Machine], list[Finding]]
CHECKS: tuple[Check, ...] = (
    units.exposure,
    units.firewall,
    file_modes.check,
    roles.check,
    roles.throttles,
    wifi.check,
    books.check,
)


@dataclasses.dataclass(frozen=True)
class Audit:
    """Every finding, in the checks' order, and the gravest level among them."""

    findings: list[Finding]
    level: str

    @property
    def problems(self) -> int:
        return sum(1 for finding in self.findings if finding.level == "problem")


def run(kit: Kit, machine: Machine | None = None, checks: Sequence[Check] = CHECKS) -> Audit:
    """Run `checks` against the kit and the machine it runs on (default: this one)."""
    machine = machine or Machine()
    findings = [finding for check in checks for finding in check(kit, machine)]
    return Audit(findings=findings, level=worst([finding.level for finding in findings]))
