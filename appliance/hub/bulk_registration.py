"""`tpkit hub kit add-many`: every kit of the county's schools CSV registered in one transaction, and the same sheet
written back with each kit's one-time enrolment token, ready for `tpkit provision --csv` (docs/provisioning.md).

The whole sheet is checked before anything is stored; one bad row stores nothing. Must not import web or cli.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
from pathlib import Path

from appliance.errors import HubError
from appliance.hub import enrolment
from appliance.hub.storage import kits as stored_kits
from appliance.protocol.kit_ids import kit_id_problem
from appliance.services.device.provision_fields import FIELDS, HUB_FIELDS

TOKEN_COLUMN = "enrolment_token"  # the column `tpkit provision` writes into kit.toml's [hub] enrolment_token
REQUIRED = ("kit_id", "school_name", "district")


@dataclasses.dataclass(frozen=True)
class Sheet:
    """A schools CSV as read: its header and its rows, each with the line it ends on."""

    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclasses.dataclass(frozen=True)
class Done:
    registered: int
    renewed: int  # kits registered before that got a new token (--new-tokens)


def read_sheet(path: Path) -> Sheet:
    """The rows of a schools CSV in UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = []
            for row in reader:
                rows.append((reader.line_num, row))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HubError(
            f"Cannot read {path}: {exc}.",
            code="hub.invalid",
            fix='Save the sheet as "CSV UTF-8" (Excel: Save As, CSV UTF-8 (Comma delimited)) with a header row '
            f"naming the columns ({', '.join(REQUIRED)}, and any of {', '.join(FIELDS + HUB_FIELDS)}).",
        ) from exc
    return Sheet(path, header, rows)


def problems(db, sheet: Sheet, new_tokens: bool) -> list[str]:
    """Every problem of the sheet, each with its line and what to do; empty when every row can be registered."""
    found = [f"the header has no {name} column" for name in REQUIRED if name not in sheet.header]
    unknown = [name for name in sheet.header if name not in FIELDS + HUB_FIELDS]
    if unknown:
        found.append(
            f"line 1: unknown column(s) {', '.join(unknown)}: tpkit provision refuses them "
            f"(known: {', '.join(FIELDS + HUB_FIELDS)}); rename or delete them"
        )
    if not sheet.rows:
        found.append("the sheet has no rows below its header: add one row per kit")
    if found:
        return found
    first_line: dict[str, int] = {}
    for line, row in sheet.rows:
        kit_id = (row.get("kit_id") or "").strip()
        if None in row:
            found.append(f"line {line}: more cells than the header has columns: delete the extra cells")
        problem = kit_id_problem(kit_id)
        if problem:
            found.append(f"line {line}: kit_id = {problem}")
        elif kit_id in first_line:
            found.append(f"line {line}: kit_id {kit_id} is on line {first_line[kit_id]} too: give each kit its own id")
        else:
            first_line[kit_id] = line
        for name in ("school_name", "district"):
            if not (row.get(name) or "").strip():
                found.append(f"line {line}: {name} is empty: fill it in (it labels the dashboard and the metrics)")
    if not new_tokens:
        registered = stored_kits.registered_among(db, list(first_line))
        found += [
            f"line {first_line[kit_id]}: kit {kit_id} is registered already (its token cannot be shown again: "
            "the hub keeps only a digest): delete the row, or add --new-tokens to give it a new token"
            for kit_id in sorted(registered, key=first_line.__getitem__)
        ]
    return found


def add_many(db, source: Path, out: Path, now: float, lifetime_h: float, new_tokens: bool = False) -> Done:
    """Check the whole sheet (HubError listing every bad row; nothing stored), write `out` aside, register every kit
    in one transaction, then put `out` in place: the same rows and columns, with TOKEN_COLUMN filled in (added as
    the last column when the sheet has none), UTF-8 with a byte-order mark, readable by its owner only."""
    sheet = read_sheet(source)
    found = problems(db, sheet, new_tokens)
    if found:
        raise HubError(
            f"{sheet.path}: {len(found)} problem(s); no kit was registered:\n  - " + "\n  - ".join(found),
            code="hub.invalid",
            fix="Correct each line named above, then run the same command again.",
        )
    tokens = {(row["kit_id"] or "").strip(): enrolment.issue_token() for _, row in sheet.rows}
    temporary = _write_aside(out, sheet, {kit_id: token for kit_id, (token, _) in tokens.items()})
    try:
        done = _register(db, sheet, tokens, now, lifetime_h, new_tokens)
        os.replace(temporary, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return done


def _register(db, sheet: Sheet, tokens: dict, now: float, lifetime_h: float, new_tokens: bool) -> Done:
    registered = renewed = 0
    expires = now + lifetime_h * 3600
    with db.transaction() as tx:
        for line, row in sheet.rows:
            kit_id = (row["kit_id"] or "").strip()
            school, district = (row["school_name"] or "").strip(), (row["district"] or "").strip()
            location = (row.get("location") or "").strip()
            digest = tokens[kit_id][1]
            if stored_kits.add(tx, kit_id, school, district, location, now, digest, expires):
                registered += 1
            elif new_tokens:
                stored_kits.renew(tx, kit_id, school, district, location, digest, expires)
                renewed += 1
            else:  # registered by someone else since the check: the transaction is rolled back, nothing stored
                raise HubError(
                    f"{sheet.path} line {line}: kit {kit_id} was registered meanwhile; no kit was registered.",
                    code="hub.kit_exists",
                    status=409,
                    fix="Run the same command again (it lists the registered kits), or add --new-tokens.",
                )
    return Done(registered, renewed)


def _write_aside(out: Path, sheet: Sheet, tokens: dict[str, str]) -> Path:
    """The output sheet, written and synced beside `out` (mode 600: it holds tokens, perhaps passwords)."""
    header = sheet.header + ([] if TOKEN_COLUMN in sheet.header else [TOKEN_COLUMN])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for _, row in sheet.rows:
        writer.writerow({**row, TOKEN_COLUMN: tokens[(row["kit_id"] or "").strip()]})
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.getvalue().encode("utf-8-sig"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise HubError(
            f"Cannot write {out}: {exc.strerror or exc}; no kit was registered.",
            code="hub.invalid",
            fix="Give --provisioning-csv a path in a folder you can write to.",
        ) from exc
    return temporary
