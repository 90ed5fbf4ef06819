"""Reading roster files: bytes in UTF-8 (with or without BOM) or GBK, CSV rows that know their line and
column, OneRoster sets from a folder or a .zip, and a teacher's class list (CSV or .xlsx, its header found among
the first rows, known columns by any of their names, other columns left out and listed). Every problem names file,
line and column.

Must not import web or cli. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import unicodedata
import zipfile
from pathlib import Path

from appliance.edges import spreadsheets
from appliance.errors import RosterError

MAX_FILE_BYTES = 20 * 2**20  # a county of 20,000 pupils is ~3 MB of users.csv; more is not a roster
MAX_PROBLEMS = 200  # enough to fix a file in one go, few enough to read
HEADER_SEARCH_ROWS = 5  # a title line ("三年级一班名单") or two may stand above a class list's header


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a roster file; line and column count from 1 (0 when not about one place)."""

    file: str
    line: int
    column: int
    message: str
    # A gettext key under roster.problem. (and its values) for the pages; the English `message` stays for the CLI
    key: str = ""
    values: dict = dataclasses.field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        where = (
            self.file
            + (f", line {self.line}" if self.line else "")
            + (f", column {self.column}" if self.column else "")
        )
        return f"{where}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Row:
    """A CSV record: its values by column name, its line number, and each column's number."""

    file: str
    line: int
    values: dict[str, str]
    columns: dict[str, int]

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def problem(self, column: str, message: str, key: str = "", **values: object) -> Problem:
        return Problem(self.file, self.line, self.columns.get(column, 0), message, key, values)


class Problems(list):
    """Problems found so far; `raise_if_any` raises one RosterError listing them all."""

    def raise_if_any(self, what: str) -> None:
        if self:
            raise RosterError(
                f"{what}: {len(self)} problem(s), nothing was imported.",
                problems=self[:MAX_PROBLEMS],
                fix="Correct each place listed (file, line, column) and import the file again.",
            )


def decode(data: bytes, file: str) -> str:
    """The text of a roster file: UTF-8 (a BOM is dropped), else GBK (Excel on Chinese Windows saves it)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        return _strict_utf8(data, file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gbk")
        except UnicodeDecodeError:
            raise _encoding_error(data, utf8_error.start, file) from None


def _strict_utf8(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(data, exc.start, file) from None


def _encoding_error(data: bytes, offset: int, file: str) -> RosterError:
    line = data.count(b"\n", 0, offset) + 1
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    problem = Problem(file, line, column, f"byte 0x{data[offset]:02x} is neither UTF-8 nor GBK", "encoding")
    return RosterError(
        f"{file} is not UTF-8 or GBK text: nothing was imported.",
        problems=[problem],
        cause="The file was saved in another encoding, or it is not a CSV file at all.",
        fix="Save the sheet as 'CSV UTF-8' (Excel, WPS: Save As… > CSV UTF-8) and import it again.",
    )


def read_rows(
    text: str,
    file: str,
    required: tuple[str, ...],
    known: tuple[str, ...] | None,
    problems: Problems,
) -> list[Row]:
    """Records of a CSV text after checking its header: every `required` column present, none twice,
    and (when `known` is given) no column outside `known`. Header problems are added to `problems`."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        problems.append(
            Problem(file, 1, 0, f"the file is empty; the first line must name the columns: {', '.join(required)}")
        )
        return []
    except csv.Error as exc:
        problems.append(Problem(file, 1, 0, f"not CSV: {exc}"))
        return []
    _check_header(header, file, required, known, problems)
    columns = {name: number for number, name in reversed(list(enumerate(header, start=1)))}
    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue  # blank lines, often left at the end by spreadsheets
            if len(values) > len(header):
                problems.append(
                    Problem(
                        file,
                        reader.line_num,
                        len(header) + 1,
                        f"{len(values)} values but the header names {len(header)} columns",
                    )
                )
            rows.append(Row(file, reader.line_num, dict(zip(header, values)), columns))
    except csv.Error as exc:
        problems.append(Problem(file, reader.line_num, 0, f"not CSV: {exc}"))
    return rows


def _check_header(header: list[str], file: str, required, known, problems: Problems) -> None:
    for number, name in enumerate(header, start=1):
        if header.index(name) != number - 1:
            problems.append(Problem(file, 1, number, f"column {name!r} appears twice"))
        elif known is not None and name not in known:
            problems.append(Problem(file, 1, number, f"unknown column {name!r} (known: {', '.join(known)})"))
    missing = [name for name in required if name not in header]
    if missing:
        problems.append(
            Problem(file, 1, 0, f"missing column(s) {', '.join(missing)}; the header is {', '.join(header)}")
        )


def duplicates(rows: list[Row], column: str, problems: Problems, what: str) -> None:
    """Add a problem for each row whose non-empty `column` value repeats an earlier row's."""
    first: dict[str, int] = {}
    for row in rows:
        value = row.get(column)
        if not value:
            continue
        if value in first:
            problems.append(
                row.problem(
                    column,
                    f"{what} {value!r} is also on line {first[value]}",
                    "duplicate",
                    value=value,
                    other=first[value],
                )
            )
        else:
            first[value] = row.line


@dataclasses.dataclass
class ClassTable:
    """A class list read: its rows (known columns only), and the headings of the columns left out."""

    rows: list[Row]
    ignored: list[str]


def header_key(heading: str) -> str:
    """A heading as compared: NFKC (full-width letters, ideographic spaces), no BOM, no spaces, `_` or `-`,
    case-folded: "学 号", "Student_Number" and "ＰＩＮ" read as 学号, studentnumber and pin."""
    text = unicodedata.normalize("NFKC", heading).replace("\ufeff", "").casefold()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "_-")


def records(data: bytes, file: str) -> list[tuple[int, list[str]]]:
    """(row number as Excel, WPS or a text editor shows it, cells) of a CSV file (UTF-8 or GBK) or an .xlsx's first
    sheet; RosterError for an old .xls, a damaged or oversized workbook, or text in another encoding."""
    if spreadsheets.is_xls(data):
        raise spreadsheets.xls_refused(file)
    if spreadsheets.is_zip(data):  # .xlsx is a zip; any other zip is refused as a damaged workbook
        return list(enumerate(spreadsheets.first_sheet_rows(data, file), start=1))
    reader = csv.reader(io.StringIO(decode(data, file), newline=""))
    found: list[tuple[int, list[str]]] = []
    try:
        for values in reader:  # numbered by record, as Excel or WPS numbers the rows of an opened CSV
            found.append((len(found) + 1, values))
    except csv.Error as exc:
        raise RosterError(
            f"{file} cannot be imported: row {len(found) + 1} is not CSV ({exc}).",
            problems=[Problem(file, len(found) + 1, 0, f"not CSV: {exc}", "not_csv")],
            fix="Open the file in Excel or WPS, save it again as CSV or .xlsx and import that file.",
        ) from exc
    return found


def read_class_table(data: bytes, file: str, synonyms: dict[str, str], required: str, problems: Problems) -> ClassTable:
    """A class list's rows under its header: the first of the first HEADER_SEARCH_ROWS rows that names the
    `required` column by one of its `synonyms` (header_key → column). A column named twice is read from its first
    place; every other heading is left out and listed, and its cells are never kept (pupils' data the kit does not
    need). Rows number as the teacher sees them in the sheet."""
    table = records(data, file)
    names = {header_key(heading): column for heading, column in synonyms.items()}
    start = next(
        (
            number
            for number, (_, cells) in enumerate(table[:HEADER_SEARCH_ROWS], start=1)
            if any(names.get(header_key(cell)) == required for cell in cells)
        ),
        0,
    )
    if not start:
        headings = [h for h, c in synonyms.items() if c == required]
        problems.append(
            Problem(
                file,
                1,
                0,
                f"no header row with a {required} column ({', '.join(headings)}) in the first "
                f"{HEADER_SEARCH_ROWS} rows",
                "no_header",
            )
        )
        return ClassTable([], [])
    cells = table[start - 1][1]
    columns: dict[str, int] = {}
    ignored = []
    for number, heading in enumerate(cells, start=1):
        column = names.get(header_key(heading))
        if column and column not in columns:
            columns[column] = number
        elif heading.strip():
            ignored.append(unicodedata.normalize("NFKC", heading).replace("\ufeff", "").strip())
    rows = []
    for row_line, values in table[start:]:
        if not any(value.strip() for value in values):
            continue  # blank rows, often left at the end by spreadsheets
        kept = {column: values[number - 1] for column, number in columns.items() if number <= len(values)}
        rows.append(Row(file, row_line, kept, columns))
    return ClassTable(rows, ignored)


def read_set(source: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The files of a OneRoster set that are present, from a folder or a .zip (top level or one folder deep)."""
    if source.is_dir():
        return {name: _read_limited(source / name) for name in names if (source / name).is_file()}
    if zipfile.is_zipfile(source):
        with source.open("rb") as handle:
            return _read_zip(handle, source.name, names)
    raise RosterError(
        f"{source} is neither a folder nor a .zip of OneRoster CSV files.",
        fix="Give the folder holding manifest.csv, users.csv…, or the .zip the county sent.",
    )


def read_zip_bytes(data: bytes, label: str, names: tuple[str, ...]) -> dict[str, bytes]:
    """`read_set` for an uploaded .zip held in memory."""
    return _read_zip(io.BytesIO(data), label, names)


def _read_zip(handle, label: str, names: tuple[str, ...]) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(handle) as archive:
            found = {}
            for info in archive.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if name in names and info.filename.count("/") <= 1 and name not in found:
                    if info.file_size > MAX_FILE_BYTES:
                        raise _too_large(f"{label}:{info.filename}", info.file_size)
                    found[name] = archive.read(info)
            return found
    except (zipfile.BadZipFile, OSError) as exc:
        raise RosterError(
            f"{label} cannot be read as a .zip: {exc}.", fix="Download or copy the file again; it may be incomplete."
        ) from exc


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _too_large(str(path), size)
    return path.read_bytes()


def _too_large(label: str, size: int) -> RosterError:
    return RosterError(
        f"{label} is {size} bytes; a roster file may have at most {MAX_FILE_BYTES} bytes.",
        fix="Check that this is the right file; split a very large county into schools.",
    )
