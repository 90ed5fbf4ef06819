"""Ingesting a kit's report: verify its signature against the enrolled key BEFORE anything is stored, then store
it once (the unique (kit_id, report_id) makes resending and racing workers safe) and update the kit's state.

Used by the HTTP route and by `tpkit hub import` alike. Must not import web or cli.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import logging
import threading
import weakref
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.edges import x509
from appliance.errors import CertificateError, HubError, HubUnavailableError, ReportError
from appliance.hub import alerts, enrolment, lrs_forwarding, shares
from appliance.hub.storage import (
    certificates as stored_certificates,
    configs as stored_configs,
    kits as stored_kits,
    lrs_outbox,
    reports as stored_reports,
    shares as stored_shares,
)
from appliance.hub.storage.database import unavailable
from appliance.hub.storage.reports import KeyChanged, KitChange
from appliance.protocol import report_file

log = logging.getLogger(__name__)

# A kit with a synchronised clock may run this far ahead of the hub (time zones mis-set by hand, a hub
# clock behind) before its reports are refused; more means a wrong clock that claims to be right.
FUTURE_LIMIT_S = 24 * 3600
# An unsynchronised kit clock further than this from the hub's gets the `clock` flag on the dashboard.
CLOCK_FLAG_S = 3600


def _unknown_kit(kit_id: str) -> HubError:
    return HubError(
        f"The kit {kit_id} is not enrolled on this hub.",
        code="hub.unknown_kit",
        status=401,
        cause="It was never registered, or it has not yet presented its enrolment token.",
        fix=f"Register it (tpkit hub kit add {kit_id} --school S --district D) and enrol it with the token.",
    )


def signature_text(header: str | None, where: str) -> str:
    """The .minisig text from the Tpkit-Signature header (base64 of the file)."""
    try:
        return base64.b64decode((header or "").strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""  # verify() then refuses it as report.bad_signature, like any other bad signature


# The enrolled keys of the fleet, per database (kit_id -> the key's base64 line), so a report costs no read of its
# kit's key: read in ONE query the first time a worker needs a key (a hub restarted mid-round would otherwise read
# each kit's key with its first report), then one by one for kits enrolled since. Never trusted alone: `store`
# stores a report only if the line it was verified with is still the kit's enrolled key (inside the storing
# statement or transaction), and a report that fails against a remembered key is checked again against the key
# read now, so a kit re-enrolled through another worker counts at once.
KEY_CACHE_MAX = 100_000  # a province; ~20 MB per worker. Emptied when full (never stale), and then read one by one


class _KeyMemory:
    def __init__(self) -> None:
        self.lines: dict[str, str] = {}
        self.loaded = False
        self.loading = threading.Lock()


_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_keys_lock = threading.Lock()


def _memory(db) -> _KeyMemory:
    memory = _keys.get(db)
    if memory is None:
        with _keys_lock:
            memory = _keys.setdefault(db, _KeyMemory())
    if not memory.loaded:
        with memory.loading:  # the other threads of the worker wait for the one read instead of making their own
            if not memory.loaded:
                memory.lines.update(enrolment.public_lines(db, KEY_CACHE_MAX))
                memory.loaded = True
    return memory


def _enrolled_line(db, kit_id: str, remembered: bool) -> tuple[str | None, bool]:
    """(The kit's enrolled key line or None, whether it came from this worker's memory)."""
    known = _memory(db).lines
    line = known.get(kit_id) if remembered else None
    if line is not None:
        return line, True
    line = enrolment.public_line(db, kit_id)
    if line is None:
        known.pop(kit_id, None)
        return None, False
    if len(known) >= KEY_CACHE_MAX:
        known.clear()
    known[kit_id] = line
    return line, False


def check(
    db, kit_id: str, payload: bytes, signature: str, now: float, where: str, remembered: bool = True
) -> tuple[report_file.Report, str]:
    """The report once it is shown to come from the enrolled kit it names and is not dated in the future, and the
    key line it was verified with (`store` confirms it is still the kit's)."""
    if not isinstance(kit_id, str) or not report_file.KIT_ID.match(kit_id):
        raise ReportError(
            f"The report {where} names no usable kit ({report_file.KIT_HEADER}: {kit_id!r}).",
            code="report.malformed",
            fix=f"Send the {report_file.KIT_HEADER} header with the kit's id.",
        )
    line, from_memory = _enrolled_line(db, kit_id, remembered)
    while True:
        if line is None:
            raise _unknown_kit(kit_id)
        try:
            report = report_file.verify(payload, signature, enrolment.parsed_key(line), where)
            break
        except ReportError as exc:
            if exc.code == "report.too_large":
                exc.status = 413
            if exc.code != "report.bad_signature" or not from_memory:
                raise
            # Signed by another key than the remembered one: the kit may have re-enrolled through another worker.
            fresh, from_memory = _enrolled_line(db, kit_id, remembered=False)
            if fresh == line:
                raise
            line = fresh
    shares.check_body(report)
    if report.kit_id != kit_id:
        raise ReportError(
            f"The report {where} says kit_id = {report.kit_id!r}, sent as {kit_id!r}.",
            code="report.malformed",
            fix="Send each report with its own kit's id.",
        )
    made_at = report.made_at.timestamp()
    if report.clock_synchronised and made_at > now + FUTURE_LIMIT_S:
        raise HubError(
            f"The report {where} is dated {report.made_at:%Y-%m-%dT%H:%M:%SZ}, more than a day ahead of "
            "the hub, by a clock that says it is synchronised.",
            code="hub.future_report",
            status=422,
            cause="The kit's or the hub's clock is wrong.",
            fix="Check both clocks (timedatectl) and their NTP servers.",
        )
    return report, line


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
    return (
        report.kit_id,
        report.report_id,
        report.sequence,
        report.kind,
        report.made_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        int(report.clock_synchronised),
        now,
        observed,
        values["cpu_temp_c"],
        values["disk_percent"],
        None if values["wifi_clients"] is None else int(values["wifi_clients"]),
        None if values["sync_bytes"] is None else int(values["sync_bytes"]),
        body,
        made_at,  # made_unix: PostgreSQL's partition key, the same every time this report arrives
    )


def summary_readings(body: dict[str, Any]) -> tuple[dict[str, float | None], float | None]:
    """A daily summary's highest readings, named as a heartbeat's columns, and noon UTC of its day (or None)."""
    high: dict[str, Any] = body["max"] if isinstance(body.get("max"), dict) else {}

    def number(name: str) -> float | None:
        return alerts.reading(high.get(name))

    try:
        noon = (
            dt.datetime.strptime(str(body.get("day")), "%Y-%m-%d").replace(hour=12, tzinfo=dt.timezone.utc).timestamp()
        )
    except ValueError:
        noon = None
    return {
        "cpu_temp_c": number("cpu_temp_c"),
        "disk_percent": number("disk_use_percent"),
        "wifi_clients": number("wifi_clients"),
        "sync_bytes": number("bytes_this_month"),
    }, noon


def _books(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, version) of each installed book, when the heartbeat lists them (`books.installed`)."""
    books = body.get("books")
    items = books.get("installed") if isinstance(books, dict) else None
    return [(str(b["name"]), str(b.get("version", ""))) for b in items or () if isinstance(b, dict) and b.get("name")]


def _kit_change(report: report_file.Report, body: str, now: float) -> KitChange:
    """What the report changes in its kit's row: sequence, configuration version, clock flag, a heartbeat's snapshot."""
    clock_flag = int(not report.clock_synchronised and abs(now - report.made_at.timestamp()) > CLOCK_FLAG_S)
    change = KitChange(report.kit_id, report.sequence, report.applied_config_version, clock_flag, now)
    if report.kind != "heartbeat":
        return change
    latest = alerts.latest(report.body)
    return dataclasses.replace(
        change,
        snapshot=body,
        made_at=report.made_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        latest=tuple(latest[column] for column in stored_kits.LATEST),
    )


def _store_one_postgres(
    run, report: report_file.Report, body: str, now: float, key_line: str
) -> tuple[bool, dict[str, Any] | None]:
    """`run` is `db.statement` (its own transaction) or a transaction's `execute` (a group of reports)."""
    return stored_reports.store_one_postgres(
        run, key_line, _report_row(report, body, now), _kit_change(report, body, now)
    )


def _one_statement(db, report: report_file.Report, key_line: str | None) -> bool:
    """Whether the report takes PostgreSQL's one statement (no side tables to write)."""
    return (
        db.backend == "postgresql"
        and key_line is not None
        and report.kind not in ("records", *shares.KINDS)
        and not (report.kind == "heartbeat" and (_books(report.body) or _tls_request(report.body)))
    )


def _tls_request(body: dict[str, Any]) -> str:
    """The kit's HTTPS certificate request a heartbeat carries (`tls_request`, PEM), or ''."""
    request = body.get("tls_request")
    return request if isinstance(request, str) and request.startswith("-----BEGIN CERTIFICATE REQUEST-----") else ""


def _store_in(
    tx, report: report_file.Report, body: str, now: float, key_line: str | None
) -> tuple[bool, dict[str, Any] | None]:
    """The statements that store one report, inside a transaction (KeyChanged before any of them writes)."""
    if key_line is not None:
        stored_reports.check_key(tx, report.kit_id, key_line)
    fresh = stored_reports.insert(tx, _report_row(report, body, now))
    if fresh:
        stored_reports.update_kit(tx, _kit_change(report, body, now))
        books = _books(report.body) if report.kind == "heartbeat" else []
        if books:
            stored_kits.replace_books(tx, report.kit_id, report.sequence, books)
        request = _tls_request(report.body) if report.kind == "heartbeat" else ""
        if request:
            _keep_tls_request(tx, report.kit_id, request, now)
        if report.kind == "records":
            lrs_outbox.queue(tx, report.kit_id, lrs_forwarding.valid_statements(report.body, report.kit_id), now)
        if report.kind in shares.KINDS:
            shares.receive(tx, report, stored_shares.kit_place(tx, report.kit_id), now)
    return fresh, stored_configs.newest_in(tx, report.kit_id)


def _keep_tls_request(tx, kit_id: str, request: str, now: float) -> None:
    """Keep a kit's certificate request for `tpkit hub certs --pending`; one that cannot be read, or asks for a name
    that is not `<kit_id>.<domain>`, is logged and dropped (the report itself is stored)."""
    try:
        name = x509.csr_name(request.encode("ascii"))
    except (CertificateError, UnicodeEncodeError) as exc:
        log.warning("kit %s sent a certificate request that cannot be read: %s", kit_id, exc)
        return
    if not name.startswith(kit_id + "."):  # a kit asks for its own name only, never another kit's
        log.warning("kit %s asked for a certificate for %s, not a name of its own: dropped", kit_id, name)
        return
    stored_certificates.keep_request(tx, kit_id, name, request, now)


def _body(report: report_file.Report) -> str:
    return strict_json.dumps(shares.stored_body(report), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def store(
    db, report: report_file.Report, now: float, key_line: str | None = None
) -> tuple[bool, dict[str, Any] | None]:
    """Store a verified report unless its id was stored before; (newly stored, the kit's desired configuration).
    With `key_line` (what `check` verified it with), KeyChanged unless that is still the kit's enrolled key."""
    body = _body(report)
    if _one_statement(db, report, key_line):
        return _store_one_postgres(db.statement, report, body, now, key_line)  # type: ignore[arg-type]  # checked
    with db.transaction() as tx:
        return _store_in(tx, report, body, now, key_line)


Stored = tuple[bool, dict[str, Any] | None]


def store_group(db, items: list[tuple[report_file.Report, str, float]]) -> list[Stored | Exception]:
    """Store verified reports, each (report, the key line it was verified with, now), in ONE transaction: one commit
    for the group (group commit: the hub's and the database's cost per report falls, and the commit is still made
    before any kit is answered). Each item's outcome in order: (newly stored, desired configuration), or the
    exception that item alone raised (KeyChanged: re-enrolled meanwhile). When the group's transaction fails for
    any reason but an unreachable database, each report is stored again on its own, so one bad report costs the
    others nothing; HubUnavailableError (the database is gone) is raised for the whole group (kits resend)."""
    if not items:  # every report of the group was refused: no transaction (on SQLite, no write lock) for nothing
        return []
    if len(items) == 1:
        report, key_line, now = items[0]
        return [_outcome(store, db, report, now, key_line)]
    outcomes: list[Stored | Exception | None] = [None] * len(items)
    try:
        with db.transaction() as tx:
            run = tx.execute
            # Every group takes the kits' row locks in kit_id order, so two workers' groups never deadlock.
            for index in sorted(range(len(items)), key=lambda i: items[i][0].kit_id):
                report, key_line, now = items[index]
                body = _body(report)
                if _one_statement(db, report, key_line):
                    outcomes[index] = _outcome(_store_one_postgres, run, report, body, now, key_line)
                else:
                    outcomes[index] = _outcome(_store_in, tx, report, body, now, key_line)
        return outcomes  # type: ignore[return-value]
    except HubUnavailableError:
        raise
    except Exception:  # noqa: BLE001 - which report failed is found by storing each alone
        return [_outcome(store, db, report, now, key_line, every=True) for report, key_line, now in items]


def _outcome(function, *args, every: bool = False) -> Stored | Exception:
    """What `function(*args)` returns, or the KeyChanged it raises (with `every`, any exception it raises)."""
    try:
        return function(*args)
    except KeyChanged as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - this report's own failure, answered to its kit alone
        if not every:
            raise
        return exc


def _check_and_store(
    db, kit_id: str, payload: bytes, signature: str, now: float, where: str
) -> tuple[bool, dict[str, Any] | None, report_file.Report]:
    """Check, then store with the key it was checked with; once more with the key read now if that changed."""
    report, line = check(db, kit_id, payload, signature, now, where)
    try:
        return (*store(db, report, now, line), report)
    except KeyChanged:
        pass
    return _store_with_key_read_now(db, kit_id, payload, signature, now, where)


def _store_with_key_read_now(
    db, kit_id: str, payload: bytes, signature: str, now: float, where: str
) -> tuple[bool, dict[str, Any] | None, report_file.Report]:
    report, line = check(db, kit_id, payload, signature, now, where, remembered=False)
    try:
        return (*store(db, report, now, line), report)
    except KeyChanged as exc:  # re-enrolled twice within one request: let the kit send it again
        raise unavailable(exc, f"the key of kit {kit_id} changed while its report was stored") from exc


def _where(kit_id) -> str:
    return f"from kit {kit_id!r}" if isinstance(kit_id, str) else "without a kit id"


def _reply(fresh: bool, desired: dict[str, Any] | None, report: report_file.Report) -> tuple[int, dict[str, Any]]:
    return (201 if fresh else 200), {
        "status": "accepted" if fresh else "duplicate",
        "report_id": report.report_id,
        "desired_config": desired,
        "shares": [],
        "certificate": None,
    }


def _with_shares(db, outcomes: list, requests: list[Request]) -> None:
    """Each accepted or duplicate reply gets its kit's share states (docs/shared-lessons.md §2), read for the whole
    group in one query after the group's commit (so a reply tells what that report itself changed)."""
    answered = [(index, outcome) for index, outcome in enumerate(outcomes) if isinstance(outcome, tuple)]
    if not answered:
        return
    told = shares.told(db, [requests[index][0] for index, _ in answered], max(r[3] for r in requests))
    for index, (_, reply) in answered:
        reply["shares"] = told[requests[index][0]]


def _with_certificates(db, outcomes: list, requests: list[Request]) -> None:
    """Each accepted or duplicate reply carries its kit's issued HTTPS certificate chain, when the county imported one
    (`tpkit hub certs --import`); the kit installs it when it is new to it (docs/provisioning.md)."""
    answered = [(index, outcome) for index, outcome in enumerate(outcomes) if isinstance(outcome, tuple)]
    if not answered:
        return
    issued = stored_certificates.chains(db, sorted({requests[index][0] for index, _ in answered}))
    for index, (_, reply) in answered:
        reply["certificate"] = issued.get(requests[index][0])


Request = tuple[Any, bytes, "str | None", float]  # (kit id header, payload, signature header, now)


def receive_group(db, requests: list[Request]) -> list[tuple[int, dict[str, Any]] | Exception]:
    """HTTP reports that arrived together, each (status, JSON reply) per docs/reporting.md or the TpkitError that
    refuses it: each is checked on its own (its refusal is its outcome), the verified ones stored by `store_group`
    in one transaction. HubUnavailableError for all when the database is gone."""
    outcomes: list[tuple[int, dict[str, Any]] | Exception | None] = [None] * len(requests)
    checked: list[tuple[int, report_file.Report, str, float]] = []
    for index, (kit_id, payload, header, now) in enumerate(requests):
        where = _where(kit_id)
        try:
            report, line = check(db, kit_id, payload, signature_text(header, where), now, where)
        except Exception as exc:  # noqa: BLE001 - this report's refusal, answered to its kit alone
            outcomes[index] = exc
            continue
        checked.append((index, report, line, now))
    stored = store_group(db, [(report, line, now) for _, report, line, now in checked])
    for (index, report, _, now), result in zip(checked, stored):
        kit_id, payload, header, _ = requests[index]
        if isinstance(result, KeyChanged):  # re-enrolled meanwhile: this one again, alone, with the key read now
            try:
                where = _where(kit_id)
                again = _store_with_key_read_now(db, kit_id, payload, signature_text(header, where), now, where)
                outcomes[index] = _reply(*again)
            except Exception as exc:  # noqa: BLE001
                outcomes[index] = exc
        elif isinstance(result, Exception):
            outcomes[index] = result
        else:
            outcomes[index] = _reply(*result, report)
    _with_shares(db, outcomes, requests)
    _with_certificates(db, outcomes, requests)
    return outcomes  # type: ignore[return-value]


def import_bundle(db, folder: Path, now: float) -> dict[str, list]:
    """Every report on a USB stick, with the same checks: {"accepted", "duplicate", "refused": [(path, error)]}."""
    result: dict[str, list] = {"accepted": [], "duplicate": [], "refused": []}
    for kit_id, path, payload, signature in report_file.read_bundle(folder):
        try:
            fresh, _, _ = _check_and_store(db, kit_id, payload, signature, now, str(path))
        except (ReportError, HubError) as exc:
            result["refused"].append((path, exc))
            continue
        result["accepted" if fresh else "duplicate"].append(path)
    return result


def refresh_latest(db, batch: int = 500) -> int:
    """Fill the columns ingest keeps of each kit's newest heartbeat (storage/kits.py LATEST) for kits whose snapshot
    was stored before they existed (hub migration 0006); how many kits. Nothing to do costs one query."""
    done = 0
    while rows := stored_kits.without_latest(db, batch):
        with db.transaction() as tx:
            for row in rows:
                latest = alerts.latest(json.loads(row["snapshot"]))
                values = tuple(latest[column] for column in stored_kits.LATEST)
                stored_kits.set_latest(tx, row["kit_id"], row["snapshot_sequence"], values)
        done += len(rows)
    return done


def iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
