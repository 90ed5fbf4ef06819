"""One `tpkit report` cycle: health snapshot → heartbeat and alerts → learning records → fold → deliver; and
the outbox's status.

Must not import web or cli (docs/health.md, "Reporting").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance.edges import health_probe
from appliance.services.device import health
from appliance.services.learning import records
from appliance.services.reporting import delivery, desired_config, kit_key, outbox_reports as reports
from appliance.services.security import kit_certificate

if TYPE_CHECKING:
    from appliance.services.kit import Kit

# Keys every snapshot has: what tells the kit's own /-/health from another server on that port.
SNAPSHOT_KEYS = {"kit_id", "time", "status", "problems", "clock", "books"}


@dataclasses.dataclass(frozen=True)
class Cycle:
    """What one cycle did."""

    queued: list[int]
    alerts: int
    folded: int
    delivery: delivery.Delivery
    status: str
    records: int = 0  # learning records handed to the outbox in this cycle


def current_snapshot(kit: Kit, now: dt.datetime, ask_web: bool) -> dict[str, Any]:
    """The health snapshot: the running web server's (`GET /-/health`, with its request count, and no
    library to open here) when `ask_web` and it answers, else made here, counting books from their recorded
    check results when every file has one (so libzim is not loaded into this short process)."""
    if ask_web:
        found, _ = health_probe.fetch_health(health_probe.health_url(kit.settings.host, kit.settings.port))
        if found is not None and set(found) >= SNAPSHOT_KEYS and found["kit_id"] == kit.settings.kit_id:
            return found
    return health.snapshot(kit, now=now, open_library=False)


def run(
    kit: Kit,
    *,
    now: dt.datetime | None = None,
    retry_now: bool = False,
    ask_web: bool = False,
    rand: Callable[[], float] = random.random,
    timeout_s: float | None = None,
    deliver: bool = True,
) -> Cycle:
    """Queue a heartbeat (and an alert per new problem), fold old heartbeats, and (unless `deliver` is False)
    deliver what the hub can take."""
    now = now or dt.datetime.now(dt.timezone.utc)
    secret = kit_key.ensure(kit.paths)
    snapshot = current_snapshot(kit, now, ask_web)
    request = kit_certificate.pending_request(kit.paths, kit.settings, now)
    if request:  # the county's ACME client answers it (docs/provisioning.md); the hub keeps the newest
        snapshot = {**snapshot, "tls_request": request}
    signer = reports.Signer.for_kit(kit, secret, now, clock_synchronised=snapshot["clock"]["synchronized"] is True)
    queued = reports.queue_snapshot(kit, signer, snapshot)
    handed = records.queue_pending(kit, now=now, secret=secret)
    folded = reports.fold(kit, signer)
    sent = (
        delivery.deliver(kit, secret, now=now.timestamp(), retry_now=retry_now, rand=rand, timeout_s=timeout_s)
        if deliver
        else delivery.Delivery()
    )
    return Cycle(queued, len(queued) - 1, folded, sent, snapshot["status"], handed)


def status(kit: Kit, now: dt.datetime | None = None) -> dict[str, Any]:
    """The outbox and the hub link as `tpkit report --status` shows them."""
    now = now or dt.datetime.now(dt.timezone.utc)
    state = kit.uplink.read()
    wait = delivery.waiting(kit, now.timestamp())
    enrolled = state.enrolled_hub_url is not None and state.enrolled_hub_url == kit.settings.hub_url
    return {
        "kit_id": kit.settings.kit_id,
        "hub_url": kit.settings.hub_url or None,
        "enrolled": enrolled,
        "enrolled_at": state.enrolled_at if enrolled else None,
        "outbox": kit.outbox.depth_by_kind(),
        "exported": kit.outbox.exported_count(),
        "parked": [{"sequence": s, "kind": k, "reason": r} for s, k, r in kit.outbox.parked()],
        "failures": state.failures,
        "last_error": state.last_error or None,
        "last_attempt_at": state.last_attempt_at,
        "last_delivered_at": state.last_delivered_at,
        "next_attempt_at": (now + dt.timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ") if wait else "now",
        "desired_config": state.desired_config,
        "desired_config_received_at": state.desired_config_received_at,
        "config": desired_config.status(kit.settings, kit.db),
    }
