"""Registering kits and their one-time enrolment: a technician gets a token, the kit trades it for trust in its key.

Tokens are stored as SHA-256 digests only. Must not import web or cli.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from typing import Any

from appliance.edges import minisign
from appliance.errors import ConfigError, HubError
from appliance.hub.storage import kits as stored_kits
from appliance.protocol.kit_ids import kit_id_problem


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token() -> tuple[str, str]:
    """A one-time enrolment token (32 characters) and the digest the hub keeps of it."""
    token = secrets.token_urlsafe(24)
    return token, _digest(token)


def check_kit_id(kit_id: str) -> str:
    """The id of a kit being registered or enrolling, by the rule `tpkit provision` applies (one rule, in
    protocol/kit_ids.py): a kit whose card could not be provisioned cannot be registered either."""
    problem = kit_id_problem(kit_id)
    if problem:
        raise HubError(
            f"The kit id {kit_id!r} cannot be used: kit_id = {problem}.",
            code="hub.invalid",
            fix="Use the kit_id that tpkit provision wrote to the kit's card (it becomes the kit's host name).",
        )
    return kit_id


def check_labels(school: str, district: str) -> None:
    if not school.strip() or not district.strip():
        raise HubError(
            "A kit needs a school and a district.",
            code="hub.invalid",
            fix="Pass --school NAME and --district NAME (they label the dashboard and the metrics).",
        )


def register(
    db, kit_id: str, school: str, district: str, location: str, now: float, lifetime_h: float, new_token: bool = False
) -> str:
    """Register a kit (or, with `new_token`, issue a fresh token for a registered one); return the one-time token."""
    check_kit_id(kit_id)
    check_labels(school, district)
    token, digest = issue_token()
    expires = now + lifetime_h * 3600
    with db.transaction() as tx:
        if stored_kits.add(tx, kit_id, school, district, location, now, digest, expires):
            return token
        if not new_token:
            raise HubError(
                f"The kit {kit_id} is already registered.",
                code="hub.kit_exists",
                status=409,
                fix=f"To re-enrol it (a new SD card or key), run: tpkit hub kit add {kit_id} --school "
                f"{school!r} --district {district!r} --new-token",
            )
        stored_kits.renew(tx, kit_id, school, district, location, digest, expires)
    return token


def _bad_token(kit_id: str) -> HubError:
    return HubError(
        f"The enrolment token for kit {kit_id} is unknown, used by another key, or expired.",
        code="hub.bad_token",
        status=403,
        cause="The token was mistyped, is for another kit, or is older than hub_token_lifetime_h.",
        fix=f"Ask the county for a new token: tpkit hub kit add {kit_id} ... --new-token",
    )


def enrol(db, kit_id: Any, token: Any, public_key: Any, now: float) -> tuple[dict[str, Any], bool]:
    """Trust `public_key` for `kit_id` if `token` is its valid one-time token; (reply, True when newly enrolled).
    Repeating it with the same key is safe (False, whatever the token); another key with a used token is refused."""
    if not all(isinstance(v, str) for v in (kit_id, token, public_key)):
        raise HubError(
            "The enrolment must be a JSON object with the strings kit_id, token and public_key.",
            code="hub.invalid",
            fix='Send {"kit_id": ..., "token": ..., "public_key": ...}.',
        )
    check_kit_id(kit_id)
    try:
        key = minisign.parse_public_key(public_key, "the enrolment's public_key")
    except ConfigError as exc:
        raise HubError(exc.message, code="hub.invalid", fix=exc.fix) from exc
    with db.transaction() as tx:
        row = stored_kits.enrolment(tx, kit_id)
        # Enrolled with this very key already (also by hand, from a USB stick: then the kit may hold a token the
        # hub never issued, or one spent by the key given by hand): nothing to change, whatever the token says,
        # so a kit registered from its stick that later gets a network is not refused for its card's token.
        if row and row["public_key"] == key.line and row["enrolled_at"] is not None:
            return {"kit_id": kit_id, "enrolled_at": _iso(row["enrolled_at"])}, False
        if not row or not row["token_sha256"] or not hmac.compare_digest(row["token_sha256"], _digest(token)):
            raise _bad_token(kit_id)
        if row["token_expires_at"] < now or (row["enrolled_at"] is not None and row["token_expires_at"] == 0):
            raise _bad_token(kit_id)
        # The token is spent (expiry set to 0) but its digest stays, so a lost reply can be retried with the same key.
        stored_kits.enrol(tx, kit_id, key.line, now)
    return {"kit_id": kit_id, "enrolled_at": _iso(now)}, True


def public_line(db, kit_id: str) -> str | None:
    """The base64 line of the key a kit enrolled with, read from the database now, or None for an unknown or not yet
    enrolled kit."""
    return stored_kits.public_line(db, kit_id)


def public_lines(db, limit: int) -> dict[str, str]:
    """kit_id -> the base64 line of its enrolled key, for at most `limit` enrolled kits, in one query."""
    return stored_kits.public_lines(db, limit)


def public_key(db, kit_id: str) -> minisign.PublicKey | None:
    """The key a kit enrolled with, read from the database on every call (a re-enrolled kit's new key counts at
    once), or None for an unknown or not yet enrolled kit."""
    line = public_line(db, kit_id)
    return None if line is None else parsed_key(line)


@functools.lru_cache(maxsize=32768)
def parsed_key(line: str) -> minisign.PublicKey:
    """Parsing is a pure function of the stored line: cached by the line itself, so nothing can go stale."""
    return minisign.parse_public_key(line, "an enrolled key")


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
