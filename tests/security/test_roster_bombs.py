"""Who: a teacher's account (or whoever holds its password) importing a class list. From where: the /teach import
form, or `tpkit people import FILE --class NAME`. With what: a .xlsx built to exhaust the kit: a 200 KB zip whose sheet
unpacks to 200 MB of XML (a "zip bomb"), or a sheet of more rows than any school has, to hold a web worker and the
kit's 1 GB of memory while openpyxl parses it.
What stops them: edges/spreadsheets adds up the sizes the zip's directory declares before openpyxl opens it and refuses
more than MAX_UNPACKED_BYTES (zipfile stops reading a member at its declared size, so a lying directory only cuts the
XML short); rows are counted as openpyxl streams them (read-only mode) and the read stops at MAX_ROWS; cells are
read up to MAX_COLUMNS per row; XML with a DTD or entities ("billion laughs") is refused by defusedxml, which
openpyxl parses through when installed (the kit extra installs it). The size refusals are roster.sheet_too_large, 400, with nothing imported."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from appliance.edges import spreadsheets
from appliance.errors import RosterError
from tests.roster_files import workbook_bytes, zip_bomb_xlsx

# Measured in a fresh interpreter, so the figures are the read's alone: peak RSS (VmHWM) growth and CPU time. openpyxl
# is imported first: edges/spreadsheets imports it at the first read (a web worker starts without it), and its ~14 MB
# are the library's, not the bomb's.
MEASURE = r"""
import json, sys, time
from pathlib import Path
import openpyxl
from appliance.edges import spreadsheets
from appliance.errors import RosterError

def hwm_kb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])

data = Path(sys.argv[1]).read_bytes()
before, cpu = hwm_kb(), time.process_time()
try:
    spreadsheets.first_sheet_rows(data, "bomb.xlsx")
    code = None
except RosterError as exc:
    code = exc.code
print(json.dumps({"grew_mb": (hwm_kb() - before) / 1024, "cpu_s": time.process_time() - cpu, "code": code}))
"""


def _measure(tmp_path, data: bytes) -> dict:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(data)
    run = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def test_roster_zip_bomb_is_refused_from_the_zip_directory(tmp_path):
    bomb = zip_bomb_xlsx(200 * 2**20)
    assert len(bomb) < 2**20  # 200 MB of sheet XML in under 1 MB
    measured = _measure(tmp_path, bomb)
    assert measured["code"] == "roster.sheet_too_large"
    assert measured["grew_mb"] < 5 and measured["cpu_s"] < 0.5, measured


def test_roster_sheet_of_too_many_rows_stops_at_the_cap(tmp_path):
    rows = [["姓名"]] + [[f"学生{n}"] for n in range(3 * spreadsheets.MAX_ROWS)]
    measured = _measure(tmp_path, workbook_bytes(rows))
    assert measured["code"] == "roster.sheet_too_large"
    assert measured["grew_mb"] < 30 and measured["cpu_s"] < 2, measured


def test_roster_xml_entities_in_a_sheet_are_refused():
    entities = [b'<!ENTITY e0 "aaaaaaaaaa">'] + [
        b'<!ENTITY e%d "%s">' % (n, b"&e%d;" % (n - 1) * 10) for n in range(1, 9)
    ]  # &e8; is 10^9 a's
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE x [' + b"".join(entities) + b"]>"
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1" t="inlineStr"><is><t>&e8;</t></is></c></row></sheetData></worksheet>'
    )
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes([["姓名"], ["王芳"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as bomb:
        for name in source.namelist():
            bomb.writestr(name, laughs if name == "xl/worksheets/sheet1.xml" else source.read(name))
    with pytest.raises(RosterError) as caught:
        spreadsheets.first_sheet_rows(out.getvalue(), "laughs.xlsx")
    assert caught.value.code == "roster.not_xlsx"
