"""`tpkit people import`: a class CSV with its PIN sheet, a OneRoster set, and bad input with exit 1;
`tpkit people add-teacher` and `reset-password` in a subprocess while the kit serves the same database."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from appliance import cli
from appliance.services.people import auth
from tests.roster_data import oneroster_files, write_folder, zipped
from tests.web.people_clients import csrf


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_people_import_class_csv_prints_pins_once(tmp_path, capsys):
    roster = tmp_path / "3a.csv"
    roster.write_text("name,student_number\nWang Fang,S1\n", encoding="utf-8")
    data = str(tmp_path / "data")
    code, out, _ = _run(capsys, "people", "import", str(roster), "--class", "Grade 3 A", "--data-dir", data)
    assert code == 0
    assert "1 student(s) added" in out and "Wang Fang  (S1)" in out
    code, out, _ = _run(capsys, "people", "import", str(roster), "--class", "Grade 3 A", "--data-dir", data)
    assert code == 0 and "0 student(s) added, 1 updated" in out and "PINs" not in out


def test_cli_people_import_oneroster_zip_and_folder(tmp_path, capsys):
    archive = tmp_path / "county.zip"
    archive.write_bytes(zipped(oneroster_files()))
    data = str(tmp_path / "data")
    code, out, _ = _run(capsys, "people", "import", str(archive), "--data-dir", data)
    assert code == 0 and "2 students" in out and "1 classes" in out
    folder = write_folder(tmp_path / "county", oneroster_files())
    code, out, _ = _run(capsys, "people", "import", str(folder), "--data-dir", data)
    assert code == 0 and "2 students" in out


def test_cli_people_import_bad_csv_lists_places_and_exits_1(tmp_path, capsys):
    roster = tmp_path / "bad.csv"
    roster.write_bytes("name,pin\nAnna,12\n".encode("gbk"))
    code, _, err = _run(capsys, "people", "import", str(roster), "--class", "X", "--data-dir", str(tmp_path / "d"))
    assert code == 1
    assert "bad.csv, line 2, column 2: the PIN '12' must be 4 to 6 digits" in err and "Fix:" in err
    code, out, _ = _run(capsys, "people", "import", str(roster), "--data-dir", str(tmp_path / "d"))
    assert code == 1 and "needs --class" in out
    code, _, err = _run(capsys, "people", "import", str(tmp_path / "absent.zip"), "--data-dir", str(tmp_path / "d"))
    assert code == 1 and "neither a folder nor a .zip" in err


def test_cli_people_import_wps_xlsx_lists_columns_left_out(tmp_path, capsys):
    from tests.roster_files import XLS_HEADER, wps_class_list

    roster = tmp_path / "三年级一班.xlsx"
    roster.write_bytes(wps_class_list())
    data = str(tmp_path / "data")
    code, out, _ = _run(capsys, "people", "import", str(roster), "--class", "三年级一班", "--data-dir", data)
    assert code == 0 and "2 student(s) added" in out and "王芳  (20140001)" in out and "李小明  (00123)" in out
    assert "Columns not imported (not kept): 序号, 性别, 出生日期, 家长电话" in out
    old = tmp_path / "名单.xls"
    old.write_bytes(XLS_HEADER)
    code, _, err = _run(capsys, "people", "import", str(old), "--class", "三年级一班", "--data-dir", data)
    assert code == 1 and "old Excel file (.xls)" in err and "save it as .xlsx" in err


def _tpkit(*args: str) -> subprocess.CompletedProcess:
    """`tpkit` as a technician runs it at the console: a separate process on the same data folder."""
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


def _one_time(out: str) -> str:
    found = re.search(r"One-time password \(user '[^']+'\): ([0-9a-f]{4}(?:-[0-9a-f]{4}){3})", out)
    assert found, out
    return found.group(1)


def _signs_in(url: str, username: str, password: str) -> bool:
    with httpx.Client(base_url=url, follow_redirects=False, timeout=20) as http:
        response = http.post("/admin/signin", data={"csrf": csrf(http), "username": username, "password": password})
        return response.status_code == 303


def test_cli_people_add_teacher_and_reset_password_while_the_kit_serves(kit, live):
    data = str(kit.settings.data_dir)
    admin_password = auth.ensure_first_admin(kit.accounts)
    assert admin_password and _signs_in(live.url, "admin", admin_password)

    added = _tpkit("people", "add-teacher", "LiLi", "--display-name", "李丽老师", "--data-dir", data)
    assert added.returncode == 0, added.stderr
    assert "Teacher 'lili' added" in added.stdout and "kept in lower case" in added.stdout
    teacher_password = _one_time(added.stdout)
    assert _signs_in(live.url, "LiLi", teacher_password)  # user names are compared in lower case
    assert kit.accounts.by_username("lili")["must_change_password"] == 1
    chinese = _tpkit("people", "add-teacher", "李丽", "--data-dir", data)
    assert chinese.returncode == 0 and _signs_in(live.url, "李丽", _one_time(chinese.stdout))

    # the lost administrator password: a new one-time password, the old one refused, nothing else touched
    students_before = kit.people.count("enrolments")
    reset = _tpkit("people", "reset-password", "admin", "--data-dir", data)
    assert reset.returncode == 0, reset.stderr
    assert "New one-time password for admin 'admin'" in reset.stdout
    new_password = _one_time(reset.stdout)
    assert new_password != admin_password
    assert not _signs_in(live.url, "admin", admin_password)
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=20) as http:
        signed = http.post("/admin/signin", data={"csrf": csrf(http), "username": "admin", "password": new_password})
        assert signed.status_code == 303
        page = http.get("/teach")  # it must be changed first, as the first administrator password is
        assert page.status_code == 200 and 'name="current"' in page.text
        assert http.get("/admin/people").status_code == 403
    assert kit.people.count("enrolments") == students_before and kit.accounts.count("teacher") == 2

    teacher = _tpkit("people", "reset-password", "LILI", "--data-dir", data)
    assert teacher.returncode == 0 and _signs_in(live.url, "lili", _one_time(teacher.stdout))
    assert not _signs_in(live.url, "lili", teacher_password)


def test_cli_people_reset_password_refuses_students_and_unknown_names(tmp_path):
    roster = tmp_path / "3a.csv"
    roster.write_text("name,student_number\nWang Fang,S1\n", encoding="utf-8")
    data = str(tmp_path / "data")
    assert _tpkit("people", "import", str(roster), "--class", "3A", "--data-dir", data).returncode == 0
    nobody = _tpkit("people", "reset-password", "nobody", "--data-dir", data)
    assert nobody.returncode == 1
    assert "There is no teacher or administrator with the user name 'nobody'" in nobody.stderr
    assert "Fix:" in nobody.stderr
    taken = _tpkit("people", "add-teacher", "li.wei", "--data-dir", data)
    assert taken.returncode == 0
    again = _tpkit("people", "add-teacher", "Li.Wei", "--data-dir", data)
    assert again.returncode == 1 and "is taken" in again.stderr
    bad = _tpkit("people", "add-teacher", "li wei!", "--data-dir", data)
    assert bad.returncode == 1 and "Chinese characters too" in bad.stderr
