"""`tpkit pack` as a county clerk runs it: the book written and said so; a bad manifest's every problem, exit 1."""

from __future__ import annotations

from appliance.cli import main
from appliance.content.zimfile import ZimFile
from tests.services.packing.pack_folders import make_folder


def test_cli_pack_writes_the_book_and_says_what_it_holds(tmp_path, capsys):
    folder = make_folder(tmp_path / "folder")
    assert main(["pack", str(folder), "--out", str(tmp_path / "maths.zim")]) == 0
    out = capsys.readouterr().out
    assert f"[✓] {tmp_path / 'maths.zim'}: 3 item(s)" in out and "[i] u2/l1.mp4: video" in out
    assert ZimFile(tmp_path / "maths.zim").main_path == "index.html"


def test_cli_pack_lists_every_problem_with_its_fix_and_exits_1(tmp_path, capsys):
    folder = make_folder(tmp_path / "folder")
    manifest = (folder / "pack.toml").read_text().replace('file = "u3/dot.png"', 'file = "u3/dot.pptx"')
    (folder / "pack.toml").write_text(manifest.replace('language = "zho"', 'language = "zh"'), encoding="utf-8")
    assert main(["pack", str(folder), "--out", str(tmp_path / "maths.zim")]) == 1
    err = capsys.readouterr().err
    assert "pack.toml has 2 problem(s); nothing was written" in err
    assert '    - language = "zh" is not an ISO 639-3 code: write "zho" for Chinese' in err
    assert '    - [[item]] 3 (file = "u3/dot.pptx"): file = "u3/dot.pptx" does not exist' in err
    assert "    Fix: Correct each problem listed in pack.toml" in err
    assert not (tmp_path / "maths.zim").exists()
