"""`tpkit people import`: a class CSV with its PIN sheet, a OneRoster set, and bad input with exit 1."""

from __future__ import annotations

from appliance import cli
from tests.roster_data import oneroster_files, write_folder, zipped


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
