"""Real class lists through the real page (issue 16): a WPS .xlsx and a GBK CSV with columns the kit does not import,
uploaded to /teach/import on a real uvicorn; the PIN sheet lists what was left out; a refused file brings the form
back with the class typed and each problem at its sheet row, in Chinese with no English sentence."""

from __future__ import annotations

from tests.roster_files import XLS_HEADER, workbook_bytes, wps_class_list
from tests.web.people_clients import csrf, role_clients

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(http, data: bytes, file: str, class_name: str, lang: str = "zh"):
    return http.post(
        f"/teach/import?lang={lang}",
        data={"csrf": csrf(http), "class_name": class_name},
        files={"file": (file, data, XLSX if file.endswith(".xlsx") else "text/csv")},
    )


def test_roster_upload_wps_xlsx_and_gbk_csv_list_the_columns_left_out(kit, live):
    clients, _ = role_clients(kit, live.url)
    try:
        teacher = clients["teacher_a"]
        sheet = _upload(teacher, wps_class_list(), "三年级一班.xlsx", "三年级一班")
        assert sheet.status_code == 200, sheet.text
        assert "王芳" in sheet.text  # the sign-in cards show names, not 学号; the numbers are kept as typed:
        numbers = {
            row["display_name"]: row["student_number"]
            for row in kit.db.read().execute("SELECT display_name, student_number FROM accounts WHERE role = 'student'")
        }
        assert "00123" in numbers.values() and "20140001" in numbers.values()
        assert "这些列没有导入（内容不保存）：序号、性别、出生日期、家长电话。" in sheet.text
        assert "13800138000" not in sheet.text
        gbk = "姓名,性别,家长电话\n张伟,男,13800138000\n".encode("gbk")
        english = _upload(teacher, gbk, "3b.csv", "Class 3B", lang="en")
        assert english.status_code == 200
        assert "These columns were not imported (nothing from them is kept): 性别, 家长电话." in english.text
    finally:
        for http in clients.values():
            http.close()


def test_roster_upload_refused_comes_back_with_the_class_and_rows_in_chinese(kit, live):
    clients, _ = role_clients(kit, live.url)
    try:
        teacher = clients["teacher_a"]
        bad = workbook_bytes([["三年级一班名单"], ["学生姓名", "密码", "性别"], ["王芳", "12", "女"]])
        page = _upload(teacher, bad, "三年级一班.xlsx", "三年级一班")
        assert page.status_code == 400
        assert 'value="三年级一班"' in page.text and 'aria-invalid="true" aria-describedby="file-error"' in page.text
        assert "第 3 行 · 第 2 列" in page.text and "PIN 码 12 必须是 4 到 6 位数字。" in page.text
        assert "must be" not in page.text and kit.people.count("classes") == 2  # the two of role_clients
        old = _upload(teacher, XLS_HEADER, "名单.xls", "三年级一班")
        assert old.status_code == 400 and 'value="三年级一班"' in old.text
        assert "旧版 Excel 文件（.xls）" in old.text and "另存为" in old.text
    finally:
        for http in clients.values():
            http.close()
