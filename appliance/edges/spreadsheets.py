"""Spreadsheets saved by Excel or WPS (.xlsx) read as rows of text, through openpyxl. The only module that imports
openpyxl.

Must not import content, storage or services. A .xlsx is a zip of XML: the sizes its directory declares are checked
before openpyxl opens it (a few KB can declare gigabytes of XML, a "zip bomb"), and rows are counted as they are
read, so a hostile file costs milliseconds. Old binary Excel (.xls) is recognised and refused: no reader here.
XML entities and DTDs are refused (openpyxl parses through defusedxml when it is installed, as the kit extra does:
no "billion laughs", no external entities). Refusals are RosterError, with a stable code each (roster.xls,
roster.sheet_too_large, roster.not_xlsx).
"""

from __future__ import annotations

import datetime
import io
import warnings
import zipfile

from appliance.errors import RosterError

# A class list of 60 pupils with ten columns is ~20 KB of sheet XML, a school of 3,000 about 1 MB; 32 MiB of XML
# unpacked (all parts together: sheets, shared strings, styles) is far above any list and well within a Pi's memory.
MAX_UNPACKED_BYTES = 32 * 2**20
MAX_ROWS = 5_000  # rows of the sheet read, blank ones included; a school's list fits, a million-row sheet does not
MAX_COLUMNS = 60  # cells read per row; columns further right are not read at all
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: .xls (and old .doc)


def is_xls(data: bytes) -> bool:
    """True for old binary Excel (.xls, WPS's .et saved as .xls)."""
    return data.startswith(_XLS_MAGIC)


def is_zip(data: bytes) -> bool:
    """True for a zip, as every .xlsx is (read it with first_sheet_rows, which refuses any other zip)."""
    return data.startswith(b"PK\x03\x04")


def xls_refused(file: str) -> RosterError:
    return RosterError(
        f"{file} is an old Excel file (.xls), which the kit cannot read: nothing was imported.",
        fix="Open it in Excel or WPS and save it as .xlsx (Excel workbook) or as CSV, then import that file.",
        code="roster.xls",
    )


def first_sheet_rows(data: bytes, file: str) -> list[list[str]]:
    """The cells of the workbook's first sheet as text, one list per row from row 1 (blank rows kept, so a row's
    index + 1 is its number in Excel or WPS). Numbers read as typed (123.0 → "123"), dates as 2014-09-01."""
    from openpyxl import load_workbook  # here, not at the top: ~0.1 s of a web worker's start for a rare import

    _check_sizes(data, file)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # some programs write a wrong A1:A1 dimension; read what is there
            rows: list[list[str]] = []
            for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                if len(rows) >= MAX_ROWS:
                    raise _too_large(file, f"more than {MAX_ROWS} rows")
                rows.append([cell_text(value) for value in values])
            return rows
        finally:
            workbook.close()
    except RosterError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse a hostile or broken file is "not a workbook"
        raise RosterError(
            f"{file} cannot be read as an Excel workbook (.xlsx): {exc}. Nothing was imported.",
            cause="The file is damaged, or it is another kind of file with the name of a workbook.",
            fix="Open it in Excel or WPS and save it again as .xlsx or as CSV, then import that file.",
            code="roster.not_xlsx",
        ) from exc


def cell_text(value: object) -> str:
    """A cell's value as the teacher typed it: text as is, 123.0 as 123, a date as 2014-09-01."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _check_sizes(data: bytes, file: str) -> None:
    """Refuse a workbook whose parts unpack to more than MAX_UNPACKED_BYTES, from the zip's directory alone. The
    declared sizes bind: zipfile stops reading a member at its declared size (and fails its CRC if it lied)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise RosterError(
            f"{file} cannot be read as an Excel workbook (.xlsx): {exc}. Nothing was imported.",
            fix="Open it in Excel or WPS and save it again as .xlsx or as CSV, then import that file.",
            code="roster.not_xlsx",
        ) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise _too_large(file, f"{unpacked} bytes once unpacked (at most {MAX_UNPACKED_BYTES})")


def _too_large(file: str, what: str) -> RosterError:
    return RosterError(
        f"{file} is too large for a class list: {what}. Nothing was imported.",
        cause="The workbook holds far more than a list of pupils, or it is built to exhaust the kit's memory.",
        fix="Copy only the class list (names, student numbers) into a new sheet, save it and import that file.",
        code="roster.sheet_too_large",
    )
