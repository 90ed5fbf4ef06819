"""Ingesting a kit's report: verify its signature against the enrolled key BEFORE anything is stored, then store
it once (the unique (kit_id, report_id) makes resending and racing workers safe) and update the kit's state.

Used by the HTTP route and by `tpkit hub import` alike. Must not import web or cli.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from pathlib import Path
from typing import Any

from appliance.errors import HubError, ReportError
from appliance.hub import alerts, configs, enrolment, lrs_forwarding
from appliance.services import report_file

# A kit with a synchronised clock may run this far ahead of the hub (time zones mis-set by hand, a hub
# clock behind) before its reports are refused; more means a wrong clock that claims to be right.
FUTURE_LIMIT_S = 24 * 3600
# An unsynchronised kit clock further than this from the hub's gets the `clock` flag on the dashboard.
CLOCK_FLAG_S = 3600


def _unknown_kit(kit_id: str) -> HubError:
    return HubError(f"The kit {kit_id} is not enrolled on this hub.", code="hub.unknown_kit", status=401,
                    cause="It was never registered, or it has not yet presented its enrolment token.",
                    fix=f"Register it (tpkit hub kit add {kit_id} --school S --district D) and enrol it with the token.")


def signature_text(header: str | None, where: str) -> str:
    """The .minisig text from the Tpkit-Signature header (base64 of the file)."""
    try:
        return base64.b64decode((header or "").strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""  # verify() then refuses it as report.bad_signature, like any other bad signature


def check(db, kit_id: str, payload: bytes, signature: str, now: float, where: str) -> report_file.Report:
    """The report once it is shown to come from the enrolled kit it names and is not dated in the future."""
    if not isinstance(kit_id, str) or not report_file.KIT_ID.match(kit_id):
        raise ReportError(f"The report {where} names no usable kit ({report_file.KIT_HEADER}: {kit_id!r}).",
                          code="report.malformed", fix=f"Send the {report_file.KIT_HEADER} header with the kit's id.")
    key = enrolment.public_key(db, kit_id)
    if key is None:
        raise _unknown_kit(kit_id)
    try:
        report = report_file.verify(payload, signature, key, where)
    except ReportError as exc:
        if exc.code == "report.too_large":
            exc.status = 413
        raise
    if report.kit_id != kit_id:
        raise ReportError(f"The report {where} says kit_id = {report.kit_id!r}, sent as {kit_id!r}.",
                          code="report.malformed", fix="Send each report with its own kit's id.")
    made_at = report.made_at.timestamp()
    if report.clock_synchronised and made_at > now + FUTURE_LIMIT_S:
        raise HubError(f"The report {where} is dated {report.made_at:%Y-%m-%dT%H:%M:%SZ}, more than a day ahead of "
                       "the hub, by a clock that says it is synchronised.", code="hub.future_report", status=422,
                       cause="The kit's or the hub's clock is wrong.",
                       fix="Check both clocks (timedatectl) and their NTP servers.")
    return report


def _report_row(report: report_file.Report, body: str, now: float) -> tuple:
    made_at = report.made_at.timestamp()
    observed = made_at if report.clock_synchronised and made_at <= now + FUTURE_LIMIT_S else now
    if report.kind == "heartbeat":
        values = alerts.readings(report.body)
    elif report.kind == "daily_summary":  # a day the kit folded offline: its highest readings, charted per day
        values, noon = summary_readings(report.body)
        observed = noon if noon is not None and noon <= now + FUTURE_LIMIT_S else observed
    else:
        values = dict.fromkeys(("cpu_temp_c", "disk_percent", "wifi_clients", "sync_bytes"))
    return (report.kit_id, report.report_id, report.sequence, report.kind, report.made_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            int(report.clock_synchronised), now, observed, values["cpu_temp_c"], values["disk_percent"],
            None if values["wifi_clients"] is None else int(values["wifi_clients"]),
            None if values["sync_bytes"] is None else int(values["sync_bytes"]), body)


def summary_readings(body: dict[str, Any]) -> tuple[dict[str, float | None], float | None]:
    """A daily summary's highest readings, named as a heartbeat's columns, and noon UTC of its day (or None)."""
    high = body.get("max") if isinstance(body.get("max"), dict) else {}

    def number(name: str) -> float | None:
        value = high.get(name)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    try:
        noon = dt.datetime.strptime(str(body.get("day")), "%Y-%m-%d").replace(
            hour=12, tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        noon = None
    return {"cpu_temp_c": number("cpu_temp_c"), "disk_percent": number("disk_use_percent"),
            "wifi_clients": number("wifi_clients"), "sync_bytes": number("bytes_this_month")}, noon


def _books(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, version) of each installed book, when the heartbeat lists them (`books.installed`)."""
    books = body.get("books")
    items = books.get("installed") if isinstance(books, dict) else None
    return [(str(b["name"]), str(b.get("version", ""))) for b in items or () if isinstance(b, dict) and b.get("name")]


# One UPDATE per report (a round trip counts on PostgreSQL). SET expressions all see the row as it was, so the
# kit's newest report alone sets its configuration version and clock flag, and the newest heartbeat its snapshot.
NEWEST = "CASE WHEN last_sequence < ? THEN ? ELSE {0} END"
NEWEST_SNAPSHOT = "CASE WHEN snapshot_sequence < ? THEN ? ELSE {0} END"
UPDATE_KIT = ("UPDATE kits SET applied_config_version = " + NEWEST.format("applied_config_version") +
              ", clock_flag = " + NEWEST.format("clock_flag") + ", last_sequence = " + NEWEST.format("last_sequence") +
              ", last_seen_at = ?, reports_total = reports_total + 1{snapshot} WHERE kit_id = ?")
SNAPSHOT = (", snapshot = " + NEWEST_SNAPSHOT.format("snapshot") + ", snapshot_made_at = " +
            NEWEST_SNAPSHOT.format("snapshot_made_at") + ", snapshot_sequence = " +
            NEWEST_SNAPSHOT.format("snapshot_sequence"))


def _update_kit(tx, report: report_file.Report, snapshot: str, now: float) -> None:
    seq = report.sequence
    clock_flag = int(not report.clock_synchronised and abs(now - report.made_at.timestamp()) > CLOCK_FLAG_S)
    params = [seq, report.applied_config_version, seq, clock_flag, seq, seq, now]
    if report.kind != "heartbeat":
        tx.execute(UPDATE_KIT.format(snapshot=""), (*params, report.kit_id))
        return
    made_at = report.made_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    tx.execute(UPDATE_KIT.format(snapshot=SNAPSHOT), (*params, seq, snapshot, seq, made_at, seq, seq, report.kit_id))
    books = _books(report.body)
    if books and tx.execute("SELECT snapshot_sequence FROM kits WHERE kit_id = ?", (report.kit_id,))[0][
            "snapshot_sequence"] == seq:
        tx.execute("DELETE FROM kit_books WHERE kit_id = ?", (report.kit_id,))
        for name, version in books:
            tx.execute("INSERT INTO kit_books (kit_id, name, version) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       (report.kit_id, name, version))


def store(db, report: report_file.Report, now: float) -> tuple[bool, dict[str, Any] | None]:
    """Store a verified report unless its id was stored before; (newly stored, the kit's desired configuration)."""
    body = json.dumps(report.body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with db.transaction() as tx:
        tx.execute("INSERT INTO reports (kit_id, report_id, sequence, kind, made_at, clock_synchronised, received_at, "
                   "observed_at, cpu_temp_c, disk_percent, wifi_clients, sync_bytes, body) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kit_id, report_id) DO NOTHING",
                   _report_row(report, body, now))
        fresh = tx.changed == 1
        if fresh:
            _update_kit(tx, report, body, now)
            if report.kind == "records":
                lrs_forwarding.queue(tx, report.kit_id, report.body, now)
        desired = configs.desired(tx, report.kit_id)
    return fresh, desired


def receive(db, kit_id: str, payload: bytes, signature_header: str | None, now: float) -> tuple[int, dict[str, Any]]:
    """An HTTP report: (status, JSON reply) per docs/reporting.md; raises TpkitError for every refusal."""
    where = f"from kit {kit_id!r}" if isinstance(kit_id, str) else "without a kit id"
    report = check(db, kit_id, payload, signature_text(signature_header, where), now, where)
    fresh, desired = store(db, report, now)
    return (201 if fresh else 200), {"status": "accepted" if fresh else "duplicate", "report_id": report.report_id,
                                     "desired_config": desired}


def import_bundle(db, folder: Path, now: float) -> dict[str, list]:
    """Every report on a USB stick, with the same checks: {"accepted", "duplicate", "refused": [(path, error)]}."""
    result: dict[str, list] = {"accepted": [], "duplicate": [], "refused": []}
    for kit_id, path, payload, signature in report_file.read_bundle(folder):
        try:
            report = check(db, kit_id, payload, signature, now, str(path))
            fresh, _ = store(db, report, now)
        except (ReportError, HubError) as exc:
            result["refused"].append((path, exc))
            continue
        result["accepted" if fresh else "duplicate"].append(path)
    return result


def iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
