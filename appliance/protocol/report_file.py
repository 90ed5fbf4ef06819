"""The report file: what a kit sends its county hub (docs/reporting.md), by HTTP or on a USB stick.

A report is gzip-compressed JSON (the *payload*) and a minisign signature of those exact bytes by the kit's
own key, so a technician can check one by hand with `minisign -Vm`. The kit and the hub both use this
module and nothing else to make and read reports. No HTTP, no SQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import re
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.edges import minisign
from appliance.errors import ChannelError, ReportError

FORMAT = "tpkit.report/1"
KINDS = (
    "heartbeat",
    "daily_summary",
    "alert",
    "records",
    "lesson",
    "lesson_file",
)  # lessons: protocol/shared_lesson.py
MAX_COMPRESSED_BYTES = 256 * 1024  # a heartbeat is ~1–2 KB compressed; a records batch is split below this
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # a gzip bomb stops here, before it costs the hub memory
KIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A NUL character anywhere in the JSON: an escape \u0000 after an even number of backslashes (`\\u0000` is the
# text "\u0000"). PostgreSQL's text cannot hold it: a kit writes U+FFFD instead (a NUL read from a log or a
# device file), the hub refuses a report that has one.
_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
MEDIA_TYPE = "application/vnd.tpkit.report+gzip"
KIT_HEADER = "Tpkit-Kit-Id"  # HTTP: which kit claims to have sent the body (checked against the signature)
SIGNATURE_HEADER = "Tpkit-Signature"  # HTTP: base64 of the .minisig text (headers hold one line)
BUNDLE_FOLDER = "tpkit-reports"  # on a USB stick: tpkit-reports/<kit_id>/<sequence>-<report_id>.json.gz(.minisig)
BUNDLE_KEY_FILE = "kit.pub"  # beside them: the kit's key line, as `tpkit report --show-key` prints it


@dataclasses.dataclass(frozen=True)
class Report:
    """One report as signed. `sequence` grows by one per report a kit makes; `report_id` makes resending safe."""

    kit_id: str
    report_id: str
    sequence: int
    kind: str
    made_at: dt.datetime
    clock_synchronised: bool
    body: dict[str, Any]
    applied_config_version: int | None = None

    @classmethod
    def new(
        cls,
        kit_id: str,
        sequence: int,
        kind: str,
        body: dict[str, Any],
        *,
        clock_synchronised: bool,
        now: dt.datetime | None = None,
        applied_config_version: int | None = None,
    ) -> Report:
        """A report with a fresh id, made now (UTC)."""
        made_at = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
        report = cls(
            kit_id, str(uuid.uuid4()), sequence, kind, made_at, clock_synchronised, body, applied_config_version
        )
        _check(report.as_dict(), "a new report")
        return report

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kit_id": self.kit_id,
            "report_id": self.report_id,
            "sequence": self.sequence,
            "kind": self.kind,
            "made_at": self.made_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "clock_synchronised": self.clock_synchronised,
            "applied_config_version": self.applied_config_version,
            "body": self.body,
        }

    @property
    def trusted_comment(self) -> str:
        """What the signature's trusted comment says, so `minisign -V` shows which report it is."""
        return f"tpkit-report\tkit:{self.kit_id}\treport:{self.report_id}\tsequence:{self.sequence}"


def _malformed(where: str, problem: str) -> ReportError:
    return ReportError(
        f"The report {where} cannot be used: {problem}.",
        code="report.malformed",
        cause="It was written by another version of tpkit, by hand, or cut during a copy.",
        fix="Upgrade the kit's tpkit to the hub's version; if it was copied, copy it again.",
    )


def _check(data: Any, where: str) -> Report:
    if not isinstance(data, dict):
        raise _malformed(where, "it is not a JSON object")
    if data.get("format") != FORMAT:
        raise _malformed(where, f"format = {data.get('format')!r}, expected {FORMAT!r}")
    kit_id, report_id, sequence = data.get("kit_id"), data.get("report_id"), data.get("sequence")
    if not isinstance(kit_id, str) or not KIT_ID.match(kit_id):
        raise _malformed(where, f"kit_id = {kit_id!r} is not 1–64 letters, digits, '.', '_' or '-'")
    try:
        if not isinstance(report_id, str) or str(uuid.UUID(report_id)) != report_id:
            raise ValueError(report_id)
    except ValueError as exc:
        raise _malformed(where, f"report_id = {report_id!r} is not a lower-case UUID") from exc
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence < 2**63:
        raise _malformed(where, f"sequence = {sequence!r} is not a whole number from 1")
    if data.get("kind") not in KINDS:
        raise _malformed(where, f"kind = {data.get('kind')!r} is not one of {', '.join(KINDS)}")
    try:
        made_at = dt.datetime.strptime(str(data.get("made_at")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError as exc:
        raise _malformed(
            where, f"made_at = {data.get('made_at')!r} is not a UTC time like 2026-11-28T16:00:00Z"
        ) from exc
    if not isinstance(data.get("clock_synchronised"), bool):
        raise _malformed(where, "clock_synchronised is not true or false")
    applied = data.get("applied_config_version")
    if applied is not None and (not isinstance(applied, int) or isinstance(applied, bool) or not 0 <= applied < 2**63):
        raise _malformed(where, f"applied_config_version = {applied!r} is not null or a whole number")
    if not isinstance(data.get("body"), dict):
        raise _malformed(where, "body is not a JSON object")
    return Report(kit_id, report_id, sequence, data["kind"], made_at, data["clock_synchronised"], data["body"], applied)


def encode(report: Report) -> bytes:
    """The payload: the report as compact UTF-8 JSON, gzip-compressed with no file name or time (same bytes each call)."""
    # A reading a kit could not measure (NaN, infinity) goes as null, "not available": never as `NaN`, which is not
    # JSON and which the hub refuses (issue 14).
    data = strict_json.finite(report.as_dict())
    raw = strict_json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    if b"\\u0000" in raw:  # the pattern costs ~10 ms on a lesson_file's 210 KiB of base64; a find costs nothing
        raw = _NUL.sub(rb"\1\\ufffd", raw)
    payload = gzip.compress(raw, compresslevel=9, mtime=0)
    if len(payload) > MAX_COMPRESSED_BYTES or len(raw) > MAX_PAYLOAD_BYTES:
        raise ReportError(
            f"The report {report.report_id} is {len(payload)} bytes compressed ({len(raw)} plain), over "
            f"the limit of {MAX_COMPRESSED_BYTES} ({MAX_PAYLOAD_BYTES}).",
            code="report.too_large",
            fix="Split the body into smaller reports (records batches are split by the outbox).",
        )
    return payload


def sign(secret: minisign.SecretKey, report: Report, payload: bytes) -> str:
    """The .minisig text for `payload`, its trusted comment naming the kit, report and sequence."""
    return minisign.sign(secret, payload, report.trusted_comment)


def decode(payload: bytes, where: str) -> Report:
    """Decompress (bounded) and check a payload; a ReportError naming the first problem. Does NOT check a signature."""
    if len(payload) > MAX_COMPRESSED_BYTES:
        raise ReportError(
            f"The report {where} is {len(payload)} bytes, over the limit of {MAX_COMPRESSED_BYTES}.",
            code="report.too_large",
            cause="A hand-made or hostile report.",
            fix="Kits split their reports below this size; do not send this file.",
        )
    inflater = zlib.decompressobj(wbits=31)  # gzip only
    try:
        raw = inflater.decompress(payload, MAX_PAYLOAD_BYTES + 1)
        if not inflater.eof or inflater.unused_data:
            if len(raw) > MAX_PAYLOAD_BYTES:
                raise ReportError(
                    f"The report {where} unpacks to more than {MAX_PAYLOAD_BYTES} bytes.",
                    code="report.too_large",
                    cause="A compression bomb, or a hand-made report.",
                    fix="Kits split their reports below this size; do not send this file.",
                )
            raise _malformed(where, "the gzip stream is cut or has data after its end")
    except zlib.error as exc:
        raise _malformed(where, f"it is not gzip ({exc})") from exc
    try:
        data = strict_json.loads(raw)
    except ValueError as exc:  # not UTF-8, not JSON, NaN/Infinity/1e999, or nested deeper than any kit writes
        raise _malformed(where, f"it is not JSON a kit writes ({exc})") from exc
    if _NUL.search(raw):
        raise _malformed(where, "it holds a NUL character (\\u0000), which no kit writes")
    return _check(data, where)


def verify(payload: bytes, signature_text: str, public: minisign.PublicKey, where: str) -> Report:
    """The report once its signature by `public` and its trusted comment check out; a ReportError otherwise."""
    try:
        signature = minisign.parse_signature(signature_text, where)
        if signature.key_id != public.key_id:
            raise _bad_signature(where)
        minisign.verify(signature, public, payload, where)
    except ChannelError as exc:
        raise _bad_signature(where) from exc
    report = decode(payload, where)
    if signature.trusted_comment != report.trusted_comment:
        raise _bad_signature(where)
    return report


def _bad_signature(where: str) -> ReportError:
    error = ReportError(
        f"The report {where} is not signed by the key registered for its kit.",
        code="report.bad_signature",
        cause="The report or its signature was changed, or it comes from another kit or key.",
        fix="Check that the kit's keys/kit.pub is the key registered at enrolment; re-enrol a kit "
        "whose SD card was replaced.",
    )
    error.status = 401
    return error


def bundle_paths(folder: Path, report: Report) -> tuple[Path, Path]:
    """Where a report and its signature go on a stick: (payload, signature)."""
    stem = folder / BUNDLE_FOLDER / report.kit_id / f"{report.sequence:012d}-{report.report_id}.json.gz"
    return stem, stem.with_name(stem.name + ".minisig")


def read_bundle(folder: Path) -> Iterator[tuple[str, Path, bytes, str]]:
    """Every report on a stick, in sequence order per kit: (kit_id claimed by the folder, path, payload, signature)."""
    root = folder / BUNDLE_FOLDER
    if not root.is_dir():
        raise ReportError(
            f"{folder} holds no {BUNDLE_FOLDER}/ folder.",
            code="report.malformed",
            cause="The stick was not written by `tpkit report --to`, or another folder was given.",
            fix=f"Give the folder that contains {BUNDLE_FOLDER}/ (usually the stick's top folder).",
        )
    for kit_folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(kit_folder.glob("*.json.gz")):
            signature = path.with_name(path.name + ".minisig")
            sig_text = signature.read_text(encoding="utf-8", errors="replace") if signature.exists() else ""
            yield kit_folder.name, path, path.read_bytes(), sig_text
