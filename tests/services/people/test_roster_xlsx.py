"""Real class lists (issue 16): .xlsx from Excel or WPS, headings by their Chinese and English names, a title row
above the header, columns the kit does not need left out and listed (never stored), hostile workbooks refused."""

from __future__ import annotations

import time

import pytest

from appliance.edges import spreadsheets
from appliance.errors import RosterError
from appliance.services.people import class_roster
from appliance.services.people.access import CONSOLE
from appliance.services.people.roster_reading import header_key
from tests.roster_files import XLS_HEADER, workbook_bytes, wps_class_list, zip_bomb_xlsx


def _import(kit, data: bytes, file: str = "三年级一班.xlsx", class_name: str = "三年级一班"):
    return class_roster.import_file(kit.people, CONSOLE, data, file, class_name)


def test_roster_xlsx_wps_list_with_title_row_and_extra_columns(kit, settings):
    result = _import(kit, wps_class_list())
    assert [(name, number) for name, number, _ in result.pins] == [("王芳", "20140001"), ("李小明", "00123")]
    assert result.ignored == ["序号", "性别", "出生日期", "家长电话"]
    students = kit.people.students_of(result.class_id)
    assert sorted((s["display_name"], s["student_number"]) for s in students) == [
        ("李小明", "00123"),
        ("王芳", "20140001"),
    ]
    kit.close()  # nothing of the columns left out reaches the database (pupils' data the kit does not need)
    stored = b"".join(path.read_bytes() for path in settings.data_dir.rglob("*") if path.is_file())
    assert b"13800138000" not in stored and b"13900139000" not in stored and "出生".encode() not in stored


def test_roster_xlsx_problems_carry_the_row_as_the_sheet_numbers_it(kit):
    data = workbook_bytes([["三年级一班"], [], ["姓名", "密码"], ["王芳", "12"], ["王芳", "4821"]])
    with pytest.raises(RosterError) as caught:
        _import(kit, data)
    places = [(p.line, p.column, p.key) for p in caught.value.problems]
    assert places == [(4, 2, "bad_pin"), (5, 1, "same_name")]
    assert kit.people.count("classes") == 0


def test_roster_xlsx_numbers_and_dates_read_as_typed():
    import datetime

    assert spreadsheets.cell_text(123.0) == "123"
    assert spreadsheets.cell_text(12.5) == "12.5"
    assert spreadsheets.cell_text(None) == ""
    assert spreadsheets.cell_text(datetime.datetime(2014, 9, 1)) == "2014-09-01"
    assert spreadsheets.cell_text(" 00123 ") == "00123"


def test_roster_gbk_csv_with_extra_columns_and_full_width_headings(kit):
    text = "\u3000学　号 ,ＰＩＮ,姓名,性别,家长电话\nG1,4821,张伟,男,13800138000\n"
    result = _import(kit, text.encode("gbk"), "3a.csv")
    assert result.pins == [("张伟", "G1", "4821")] and result.ignored == ["性别", "家长电话"]


def test_roster_headings_normalised_and_xuhao_is_not_a_student_number(kit):
    assert header_key("\ufeff Student_Number ") == header_key("student number") == "studentnumber"
    assert header_key("ＰＩＮ") == "pin"
    result = _import(kit, "序号,姓名\n1,王芳\n2,李小明\n".encode(), "3a.csv")
    assert [number for _, number, _ in result.pins] == ["", ""] and result.ignored == ["序号"]


def test_roster_a_column_named_twice_is_read_once_and_the_other_listed(kit):
    result = _import(kit, "学号,姓名,学籍号\nS1,王芳,G20140001\n".encode(), "3a.csv")
    assert result.pins[0][:2] == ("王芳", "S1") and result.ignored == ["学籍号"]


def test_roster_xls_is_refused_with_save_as_advice(kit):
    with pytest.raises(RosterError) as caught:
        _import(kit, XLS_HEADER, "名单.xls")
    assert caught.value.code == "roster.xls" and ".xlsx" in caught.value.fix


def test_roster_xlsx_zip_bomb_is_refused_before_it_is_unpacked(kit):
    bomb = zip_bomb_xlsx()
    assert len(bomb) < 2**20
    started = time.monotonic()
    with pytest.raises(RosterError) as caught:
        _import(kit, bomb)
    assert caught.value.code == "roster.sheet_too_large"
    assert time.monotonic() - started < 1


def test_roster_xlsx_too_many_rows_is_refused(kit):
    rows = [["姓名"]] + [[f"学生{n}"] for n in range(spreadsheets.MAX_ROWS)]
    with pytest.raises(RosterError) as caught:
        _import(kit, workbook_bytes(rows))
    assert caught.value.code == "roster.sheet_too_large" and kit.people.count("classes") == 0


def test_roster_damaged_xlsx_is_refused(kit):
    data = workbook_bytes([["姓名"], ["王芳"]])
    with pytest.raises(RosterError) as caught:
        _import(kit, data[: len(data) // 2] + bytes(len(data) // 2))
    assert caught.value.code == "roster.not_xlsx"
