"""Delivering the outbox to the county hub: enrol once, then POST reports oldest first (docs/reporting.md).

Must not import web or cli. Status handling is the contract's table: 201/200 remove the report; 400, 413,
422 (and other 4xx about the report) park it; 401 forgets the enrolment; 5xx, 429 and no answer stop the
round and start a back-off (1 min doubling to 6 h, with jitter) kept in SQLite, so the next timer run
respects it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appliance.edges import minisign
from appliance.edges.uplink import Answer, Uplink
from appliance.errors import UplinkError
from appliance.protocol import report_file, shared_lesson
from appliance.services.reporting import desired_config
from appliance.services.security import kit_certificate
from appliance.storage import lesson_shares

if TYPE_CHECKING:
    from appliance.services.kit import Kit

ENROL_PATH = "/api/v1/enrol"
REPORTS_PATH = "/api/v1/reports"
FIRST_BACKOFF_S = 60.0
MAX_BACKOFF_S = 6 * 3600.0
# Up to 20 % shorter, never longer: a county's kits that lost the hub together do not all come back together.
JITTER = 0.2
# Statuses that say the hub or the way to it is wrong, not the report: retry later, never park.
RETRY_STATUSES = {403, 404, 405, 408, 429}


@dataclasses.dataclass
class Delivery:
    """What one delivery round did."""

    delivered: int = 0
    parked: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    error: UplinkError | None = None
    enrolled: bool = False
    no_hub: bool = False
    config: desired_config.Applied | None = None  # the hub's desired configuration, applied or refused (last reply)


def backoff_s(failures: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` consecutive failures (1 → about a minute), jittered, at most 6 h."""
    base = min(FIRST_BACKOFF_S * 2 ** max(0, failures - 1), MAX_BACKOFF_S)
    return base * (1 - JITTER * rand())


def _stamp(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _said(answer: Answer) -> str:
    """How the hub answered, for logs and parked reasons."""
    if answer.status is None:
        return f"no answer ({answer.error})"
    body = answer.body or {}
    code, message = body.get("code"), body.get("message")
    return f"HTTP {answer.status}" + (f" {code}" if code else "") + (f": {message}" if message else "")


def _unreachable(kit: Kit, what: str, now: float, rand) -> UplinkError:
    failures = kit.uplink.read().failures + 1
    wait = backoff_s(failures, rand)
    kit.uplink.failed(what, now + wait, _stamp(now))
    hint = " (check hub_url: the hub has no such address)" if " 404" in what or " 405" in what else ""
    return UplinkError(
        f"The hub at {kit.settings.hub_url} could not take reports: {what}{hint}. "
        f"Next attempt in {wait / 60:.0f} min (after {failures} failure(s) in a row).",
        code="uplink.unreachable",
        cause="No uplink right now, or the hub or its database is down.",
        fix="Nothing to do: reports wait in the outbox and are sent when the hub answers. To send now "
        "once the link is back: tpkit report --retry-now; for a kit that never gets online: "
        "tpkit report --to /media/usb.",
    )


def _not_enrolled(kit: Kit, what: str, now: float, rand) -> UplinkError:
    kit.uplink.failed(what, now + backoff_s(kit.uplink.read().failures + 1, rand), _stamp(now))
    return UplinkError(
        f"The hub at {kit.settings.hub_url} does not accept this kit's key: {what}.",
        code="uplink.not_enrolled",
        cause="The kit is not registered at the hub, its token was already used or expired, or its "
        "data folder (and key) is new since it enrolled.",
        fix="Register the kit at the hub, set the new one-time token as hub_enrol_token "
        "(/etc/tpkit/kit.toml), then run tpkit report; `tpkit report --show-key` prints the "
        "key the hub should know.",
    )


def _enrol(kit: Kit, link: Uplink, secret: minisign.SecretKey, now: float, rand) -> UplinkError | None:
    """Present the enrolment token once when it is set and this kit is not enrolled with this hub and key."""
    state, token = kit.uplink.read(), enrolment_token(kit)
    if not token or (state.enrolled_hub_url == kit.settings.hub_url and state.enrolled_key_id == secret.public.id_hex):
        return None
    token_sha256 = hashlib.sha256(token.encode()).hexdigest()
    if state.refused_token_sha256 == token_sha256:
        return _not_enrolled(kit, "the hub refused this hub_enrol_token before", now, rand)
    answer = link.post(
        ENROL_PATH, json={"kit_id": kit.settings.kit_id, "token": token, "public_key": secret.public.line}
    )
    if answer.status in (200, 201):
        kit.uplink.enrolled(kit.settings.hub_url, secret.public.id_hex, _stamp(now))
        return None
    if answer.status in (401, 403):
        kit.uplink.token_refused(token_sha256)
        return _not_enrolled(kit, _said(answer), now, rand)
    return _unreachable(kit, "enrolment: " + _said(answer), now, rand)


def enrolment_token(kit: Kit) -> str:
    """The hub_enrol_token setting, or else the token first boot took off the card (Paths.enrolment_token)."""
    if kit.settings.hub_enrol_token:
        return kit.settings.hub_enrol_token
    path = kit.paths.enrolment_token
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise UplinkError(
            f"The enrolment token in {path} cannot be read: {exc.strerror or exc}.",
            code="uplink.not_enrolled",
            cause="First boot wrote it as root and could not hand it to "
            "the kit's user, or the data partition is damaged.",
            fix=f"sudo chown tpkit:tpkit {path} && sudo chmod 600 {path}; then run tpkit report",
        ) from exc


def _accept_reply(kit: Kit, body: dict[str, Any] | None, now: float) -> desired_config.Applied | None:
    """Keep the desired configuration of an accepted or duplicate reply (a missing key changes nothing) and apply
    it (desired_config.apply: in force for the next sync when it passes the kit's checks); keep the newest state of
    each shared lesson the reply names (docs/shared-lessons.md §2); install the HTTPS certificate it carries when it
    is new to the kit (kit_certificate.take: a certificate that fails the checks is refused and logged)."""
    if isinstance(body, dict) and isinstance(body.get("certificate"), str):
        kit_certificate.take(kit.paths, kit.settings, body["certificate"])
    if isinstance(body, dict) and body.get("shares"):
        lesson_shares.keep_states(kit.db, shared_lesson.check_states(body["shares"]))
    if isinstance(body, dict) and "desired_config" in body:
        config = body["desired_config"]
        version = config.get("version") if isinstance(config, dict) else None
        if config is None or (isinstance(version, int) and not isinstance(version, bool) and version >= 0):
            kit.uplink.store_desired_config(config, _stamp(now))
            return desired_config.apply(kit, config, _stamp(now))
    return None


def waiting(kit: Kit, now: float) -> float:
    """Seconds until the back-off allows the next attempt (0: now). A wait longer than the longest back-off means
    the clock went back (a Pi without a battery clock): it is ignored."""
    wait = kit.uplink.read().next_attempt_at - now
    return wait if 0 < wait <= MAX_BACKOFF_S else 0.0


def deliver(
    kit: Kit,
    secret: minisign.SecretKey,
    *,
    now: float | None = None,
    retry_now: bool = False,
    rand: Callable[[], float] = random.random,
    timeout_s: float | None = None,
) -> Delivery:
    """Send every deliverable report, oldest first, stopping at the first failure; what happened."""
    now = time.time() if now is None else now
    result = Delivery()
    if not kit.settings.hub_url:
        result.no_hub = True
        return result
    wait = waiting(kit, now)
    if wait and not retry_now:
        state = kit.uplink.read()
        result.error = UplinkError(
            f"Not sending yet: the hub did not answer at {state.last_attempt_at} ({state.last_error}); "
            f"next attempt in {wait / 60:.0f} min.",
            code="uplink.waiting",
            cause=f"Back-off after {state.failures} failure(s) in a row, so a dead link is not hammered.",
            fix="Wait for the timer, or once the link is back run: tpkit report --retry-now",
        )
        return result
    with Uplink(kit.settings.hub_url, **({"timeout_s": timeout_s} if timeout_s else {})) as link:
        result.error = _enrol(kit, link, secret, now, rand)
        result.enrolled = result.error is None and kit.uplink.read().enrolled_hub_url is not None
        if result.error is None:
            result.error = _send_all(kit, link, result, now, rand)
    if result.error is None and (result.delivered or result.parked or result.enrolled):
        kit.uplink.succeeded(_stamp(now), delivered=result.delivered > 0)  # the hub answered: back-off over
    return result


def _refused_for_itself(status: int | None) -> bool:
    """A 4xx about the report itself (400, 413, 422…): parked, never retried by itself."""
    return status is not None and 400 <= status < 500 and status not in RETRY_STATUSES | {401}


def _send_all(kit: Kit, link: Uplink, result: Delivery, now: float, rand) -> UplinkError | None:
    after = 0
    while (stored := kit.outbox.next_deliverable(after)) is not None:
        after = stored.sequence
        answer = link.post(
            REPORTS_PATH,
            content=stored.payload,
            headers={
                "Content-Type": report_file.MEDIA_TYPE,
                report_file.KIT_HEADER: stored.kit_id,
                report_file.SIGNATURE_HEADER: base64.b64encode(stored.signature.encode()).decode(),
            },
        )
        if answer.status in (200, 201):
            kit.outbox.delivered(stored.sequence)
            result.config = _accept_reply(kit, answer.body, now) or result.config
            result.delivered += 1
        elif _refused_for_itself(answer.status):
            kit.outbox.refused(stored.sequence, _said(answer))
            result.parked.append((stored.sequence, _said(answer)))
        else:
            kit.outbox.attempt_failed(stored.sequence, _said(answer))
            if answer.status == 401:
                kit.uplink.forget_enrolment()
                return _not_enrolled(kit, _said(answer), now, rand)
            return _unreachable(kit, _said(answer), now, rand)
    return None
