"""Class lists as teachers have them, made here with openpyxl: a WPS-like .xlsx (a title row above the header,
序号 and other columns the kit does not import, 学籍号 as numbers), a zip bomb dressed as a workbook, an old .xls."""

from __future__ import annotations

import datetime
import io
import zipfile

from openpyxl import Workbook

XLS_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # an OLE2 compound file's first sector


def workbook_bytes(rows: list[list[object]], title: str = "Sheet1") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def wps_class_list() -> bytes:
    """三年级一班 as a school office sends it: title row (merged), header in row 2, 学籍号 a number for one pupil and
    text with a leading zero for another, a date of birth, a parent's phone number."""
    book = Workbook()
    sheet = book.active
    sheet.append(["三年级一班名单"])
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", " 学生姓名 ", "性别", "学籍号", "出生日期", "家长电话"])
    sheet.append([1, "王芳", "女", 20140001, datetime.datetime(2014, 9, 1), 13800138000])
    sheet.append([2, "李小明", "男", "00123", datetime.datetime(2015, 1, 20), "13900139000"])
    sheet.append([None, None, None, None, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb_xlsx(unpacked_bytes: int = 200 * 2**20) -> bytes:
    """A real workbook whose sheet XML is replaced by one that unpacks to `unpacked_bytes` (~200 KB packed)."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes([["姓名"], ["王芳"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(info.filename, "w", force_zip64=True) as member:
                    chunk = b" " * 2**20
                    for _ in range(unpacked_bytes // len(chunk)):
                        member.write(chunk)
            else:
                bomb.writestr(info, source.read(info))
    return out.getvalue()
