"""`tpkit pack`: a folder with a real video, captions, a PDF and a picture made into a book, read back with libzim."""

from __future__ import annotations

import datetime
import json
import os
import subprocess

import pytest

from appliance.content import zimdelta
from appliance.content.zimfile import ZimFile
from appliance.errors import PackError
from appliance.services.packing import pack as packing
from tests.services.packing.pack_folders import CAPTIONS, make_folder, make_pdf, require_tools

TODAY = datetime.date(2026, 12, 7)
POSITION_KEYS = {"edition": str, "grade": int, "volume": int, "subject": str, "unit": int, "lesson": int}


def _pack(folder, out, **options):
    return packing.pack(folder, out, today=TODAY, **options)


def _data(book: ZimFile, path: str) -> bytes:
    return bytes(book.lookup(path).data)


def _check_items_json(items: dict) -> None:
    """tpkit/items.json against docs/textbook-units.md: format 1; each item's path, title, kind, position, bytes."""
    assert items["format"] == 1
    for item in items["items"]:
        assert set(item) <= {"path", "title", "kind", "bytes", "seconds", *POSITION_KEYS}
        assert item["kind"] in {"video", "audio", "pdf", "image", "page"}
        assert isinstance(item["bytes"], int) and item["bytes"] > 0
        assert ("seconds" in item) == (item["kind"] in ("video", "audio"))
        for key, kind in POSITION_KEYS.items():
            assert key not in item or isinstance(item[key], kind)


def test_pack_writes_positions_items_pages_and_media_as_given(tmp_path):
    folder = make_folder(tmp_path / "folder")
    packed = _pack(folder, tmp_path / "out" / "maths.zim")
    book = ZimFile(packed.out)
    assert book.metadata_text("Tags") == "_edition:rjb;_grade:3;_volume:1;_subject:math;_unit:2;_unit:3;_videos:yes"
    assert (book.metadata_text("Name"), book.metadata_text("Language")) == ("rjb-math-3a-county", "zho")
    assert (book.metadata_text("License"), book.metadata_text("Date")) == ("CC-BY-4.0", "2026-09-01")
    items = json.loads(_data(book, "tpkit/items.json"))
    _check_items_json(items)
    kinds = {item["kind"]: item for item in items["items"]}
    assert kinds["video"] | {"bytes": 0} == {
        "path": "items/u2-l1-l1.html",
        "title": "两位数加两位数（名师课堂）",
        "kind": "video",
        **{"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2, "lesson": 1},
        "bytes": 0,
        "seconds": 3,
    }
    assert "lesson" not in kinds["pdf"] and kinds["pdf"]["unit"] == 2
    assert book.main_path == "index.html"
    index = _data(book, "index.html").decode()
    assert index.index("第二单元") < index.index("第1课") < index.index("第三单元")
    for item in items["items"]:
        assert f'href="{item["path"]}"' in index
    video_page = _data(book, "items/u2-l1-l1.html").decode()
    assert 'preload="metadata"' in video_page and 'poster="../media/u2-l1-l1.poster.jpg"' in video_page
    assert '<track kind="captions" src="../media/u2-l1-l1.vtt"' in video_page
    assert _data(book, "media/u2-l1-l1.mp4") == (folder / "u2" / "l1.mp4").read_bytes()
    assert kinds["video"]["bytes"] == (folder / "u2" / "l1.mp4").stat().st_size
    assert _data(book, "media/u2-l1-l1.vtt").decode() == CAPTIONS
    assert _data(book, "media/u2-l1-l1.poster.jpg")[:3] == b"\xff\xd8\xff"
    assert _data(book, "media/u2-worksheet.pdf") == (folder / "u2" / "worksheet.pdf").read_bytes()
    assert _data(book, "media/u3-l2-dot.png") == (folder / "u3" / "dot.png").read_bytes()
    pdf_page = _data(book, "items/u2-worksheet.html").decode()
    assert pdf_page.count('loading="lazy"') == 2 and 'href="../media/u2-worksheet.pdf"' in pdf_page
    assert _data(book, "media/u2-worksheet/p-2.jpg")[:3] == b"\xff\xd8\xff"


def test_pack_indexes_titles_and_the_text_of_pdfs(tmp_path):
    book = ZimFile(_pack(make_folder(tmp_path / "folder"), tmp_path / "maths.zim").out)
    assert book.has_fulltext_index
    count, paths = book.search("subtraction", 0, 5)
    assert count >= 1 and paths[0] == "items/u2-worksheet.html"
    assert ("items/u2-l1-l1.html", "两位数加两位数（名师课堂）") in book.suggest("两位数", 5)


def test_pack_gives_the_same_entries_for_the_same_folder_and_a_small_diff_for_a_corrected_worksheet(tmp_path):
    folder = make_folder(tmp_path / "folder")
    first = _pack(folder, tmp_path / "a" / "maths.zim").out
    again = _pack(folder, tmp_path / "b" / "maths.zim").out
    assert ZimFile(first).storage_order() == ZimFile(again).storage_order()
    diff = zimdelta.diff_books(first, again)
    assert diff.added == diff.removed == () and diff.changed in ((), (("M", "Counter"),))
    make_pdf(folder / "u2" / "worksheet.pdf", ["Worksheet page one: addition", "Page two: corrected"])
    changed = zimdelta.diff_books(first, _pack(folder, tmp_path / "c" / "maths.zim").out)
    assert changed.added == changed.removed == ()
    assert {key for key in changed.changed if key[0] == "C"} == {
        ("C", "items/u2-worksheet.html"),
        ("C", "media/u2-worksheet.pdf"),
        ("C", "media/u2-worksheet/p-2.jpg"),
        ("C", "tpkit/items.json"),
    }


def _probe(path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,profile,height"]
        + ["-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)["streams"][0]


def test_pack_480p_re_encodes_to_h264_at_most_480_lines_once(tmp_path):
    folder = make_folder(tmp_path / "folder", video_ext="webm")
    out = tmp_path / "out" / "maths.zim"
    lines: list[str] = []
    packed = _pack(folder, out, video="480p", say=lines.append)
    assert (packed.encoded, packed.cached) == (1, 0)
    assert any("re-encoding to 480p, 100%" in line for line in lines)
    book = ZimFile(out)
    items = json.loads(_data(book, "tpkit/items.json"))["items"]
    video = next(item for item in items if item["kind"] == "video")
    assert video["path"] == "items/u2-l1-l1.html" and video["seconds"] == 3
    stored = tmp_path / "stored.mp4"
    stored.write_bytes(_data(book, "media/u2-l1-l1.mp4"))
    assert _probe(stored) == {"codec_name": "h264", "profile": "Main", "height": 480}
    assert video["bytes"] == stored.stat().st_size
    again = _pack(folder, tmp_path / "out" / "maths.zim", video="480p")
    assert (again.encoded, again.cached) == (0, 1)
    assert _data(ZimFile(out), "media/u2-l1-l1.mp4") == stored.read_bytes()
    assert [p.name for p in packing.cache_folder(out).iterdir()] == [f"{_digest(folder / 'u2' / 'l1.webm')}.mp4"]


def _digest(path) -> str:
    from appliance.services.packing import media

    return media.cache_key(path)


def _problems(folder, out, **options) -> list[str]:
    with pytest.raises(PackError) as refused:
        _pack(folder, out, **options)
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    return refused.value.problems


def test_pack_lists_every_problem_of_a_manifest_and_writes_nothing(tmp_path):
    folder = make_folder(tmp_path / "folder")
    (folder / "notes.docx").write_bytes(b"PK")
    (tmp_path / "secret.mp4").write_bytes(b"x")
    (folder / "escape.mp4").symlink_to(tmp_path / "secret.mp4")
    manifest = (folder / "pack.toml").read_text().replace('licence = "CC-BY-4.0"', 'license = "CC-BY-4.0"')
    manifest = manifest.replace("grade = 3\n", "grade = 13\n", 1)
    manifest += '[[item]]\nfile = "notes.docx"\ntitle = "讲义"\nunit = 4\n'
    manifest += '[[item]]\nfile = "escape.mp4"\ntitle = "x"\nunit = 4\ncolour = "red"\n'
    manifest += '[[item]]\nfile = "../secret.mp4"\ntitle = "x"\nunit = 100\n'
    manifest += '[[item]]\nfile = "u2/missing.pdf"\ntitle = "x"\nunit = 4\n'
    (folder / "pack.toml").write_text(manifest, encoding="utf-8")
    out = tmp_path / "out" / "maths.zim"
    out.parent.mkdir()
    problems = _problems(folder, out)
    expected = [
        "unknown key 'license' (the manifest spells it \"licence\")",
        "grade = 13 is not a whole number from 1 to 12",
        '[[item]] 4 (file = "notes.docx"): notes.docx is an office file, which phones cannot open: export it to PDF',
        "[[item]] 5 (file = \"escape.mp4\") has an unknown key 'colour'",
        '[[item]] 5 (file = "escape.mp4"): file = "escape.mp4" is outside the folder',
        '[[item]] 6 (file = "../secret.mp4"): unit = 100 is not a whole number from 1 to 99',
        '[[item]] 6 (file = "../secret.mp4"): file = "../secret.mp4" is outside the folder',
        '[[item]] 7 (file = "u2/missing.pdf"): file = "u2/missing.pdf" does not exist',
        "licence is missing",
    ]
    for part in expected:
        assert any(part in problem for problem in problems), (part, problems)
    assert len(problems) == len(expected) + 1  # and the grade's gap, once for the items it leaves without one
    assert problems[-1].startswith("[[item]] 1, 2, 3, 4, 5, 6, 7: volume is given but grade is not")


def test_pack_refuses_a_folder_without_manifest_or_items(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackError, match="has no pack.toml"):
        _pack(tmp_path / "empty", tmp_path / "out.zim")
    (tmp_path / "empty" / "pack.toml").write_text(
        'name = "a"\ntitle = "A"\nlanguage = "eng"\nlicence = "x"\ncreator = "c"\n'
    )
    with pytest.raises(PackError, match="nothing to pack"):
        _pack(tmp_path / "empty", tmp_path / "out.zim")
    assert not (tmp_path / "out.zim").exists()


MAP = """\
[editions.rjb]
zh = "人教版"
en = "PEP edition"

[subjects.math]
zh = "数学"
en = "Mathematics"

[[units]]
edition = "rjb"
grade = 3
volume = 1
subject = "math"
unit = 2
zh = "万以内的加法和减法（一）"
en = "Addition and subtraction within 10,000 (1)"
lessons = [{ lesson = 1, zh = "两位数加两位数", en = "Adding two-digit numbers" }]
"""


def test_pack_carries_a_checked_curriculum_map_and_names_units_with_it(tmp_path):
    folder = make_folder(tmp_path / "folder")
    (tmp_path / "map.toml").write_text(MAP, encoding="utf-8")
    book = ZimFile(_pack(folder, tmp_path / "maths.zim", curriculum_map=tmp_path / "map.toml").out)
    carried = json.loads(_data(book, "tpkit/curriculum.json"))
    assert carried["format"] == 1 and carried["editions"] == {"rjb": {"zh": "人教版", "en": "PEP edition"}}
    assert carried["units"][0]["lessons"] == [{"lesson": 1, "zh": "两位数加两位数", "en": "Adding two-digit numbers"}]
    index = _data(book, "index.html").decode()
    assert "第二单元 万以内的加法和减法（一）" in index and "第1课 两位数加两位数" in index


def test_pack_makes_a_book_of_a_map_alone_and_lists_every_problem_of_a_bad_map(tmp_path):
    folder = tmp_path / "map-only"
    folder.mkdir()
    (folder / "pack.toml").write_text(
        'name = "county-map"\ntitle = "县课程目录"\nlanguage = "zho"\nlicence = "CC0"\ncreator = "县教研室"\n'
    )
    (tmp_path / "map.toml").write_text(MAP, encoding="utf-8")
    book = ZimFile(_pack(folder, tmp_path / "map.zim", curriculum_map=tmp_path / "map.toml").out)
    assert "万以内的加法和减法（一）" in _data(book, "index.html").decode()
    assert json.loads(_data(book, "tpkit/items.json")) == {"format": 1, "items": []}
    bad = MAP.replace('en = "Mathematics"', 'colour = "blue"').replace("grade = 3", "grade = 0")
    (tmp_path / "bad.toml").write_text(bad + '[[units]]\nedition = "rjb"\nunit = 3\nzh = "三"\nen = "3"\n')
    out = tmp_path / "out" / "map.zim"
    out.parent.mkdir()
    problems = _problems(folder, out, curriculum_map=tmp_path / "bad.toml")
    assert problems == [
        "[subjects.math] has an unknown key 'colour': the keys are en, zh",
        '[subjects.math] has no en name: write en = "…"',
        "[[units]] 1: grade = 0 is not a whole number from 1 to 12",
        "[[units]] 2: grade is missing: a unit of the map names its edition, grade, volume and subject",
        "[[units]] 2: volume is missing: a unit of the map names its edition, grade, volume and subject",
        "[[units]] 2: subject is missing: a unit of the map names its edition, grade, volume and subject",
    ]


def test_pack_stores_an_html_item_with_the_files_its_relative_links_reach(tmp_path):
    folder = make_folder(tmp_path / "folder")
    (folder / "u3" / "game").mkdir()
    (folder / "u3" / "game" / "play.html").write_text(
        '<html><head><link rel="stylesheet" href="css/game.css"></head><body><img src="../dot.png">'
        '<a href="https://example.org/">out</a><a href="../../../outside.html">up</a></body></html>'
    )
    (folder / "u3" / "game" / "css").mkdir()
    (folder / "u3" / "game" / "css" / "game.css").write_text("body{background:url('../bg.png')}")
    (folder / "u3" / "game" / "bg.png").write_bytes((folder / "u3" / "dot.png").read_bytes())
    (tmp_path / "outside.html").write_text("secret")
    with open(folder / "pack.toml", "a", encoding="utf-8") as manifest:
        manifest.write('[[item]]\nfile = "u3/game/play.html"\ntitle = "凑十游戏"\nunit = 3\nlesson = 1\n')
    book = ZimFile(_pack(folder, tmp_path / "maths.zim").out)
    assert _data(book, "pages/u3/game/play.html") == (folder / "u3" / "game" / "play.html").read_bytes()
    assert {p for p in book.entry_paths() if p.startswith("pages/")} == {
        "pages/u3/game/play.html",
        "pages/u3/game/css/game.css",
        "pages/u3/game/bg.png",
        "pages/u3/dot.png",
    }
    assert 'href="pages/u3/game/play.html"' in _data(book, "index.html").decode()


def test_pack_names_the_debian_package_of_a_missing_tool(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "folder")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the process edge: a computer without ffmpeg
    with pytest.raises(PackError) as refused:
        _pack(folder, tmp_path / "maths.zim")
    assert refused.value.code == "pack.tool_missing" and "sudo apt-get install" in refused.value.fix
    assert not (tmp_path / "maths.zim").exists()


def test_pack_names_a_video_ffmpeg_cannot_read(tmp_path):
    require_tools()
    folder = make_folder(tmp_path / "folder")
    (folder / "u2" / "l1.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(PackError) as refused:
        _pack(folder, tmp_path / "maths.zim")
    assert refused.value.code == "pack.tool_failed" and "l1.mp4" in refused.value.message
    assert not (tmp_path / "maths.zim").exists()
    assert os.listdir(tmp_path) == ["folder"]


def test_pack_an_english_book_with_audio_in_its_own_words_whatever_the_manifests_order(tmp_path):
    folder = make_folder(tmp_path / "folder")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=2", str(folder / "song.mp3")],
        check=True,
    )
    manifest = (folder / "pack.toml").read_text().replace('language = "zho"', 'language = "eng"')
    items = manifest.split("[[item]]")
    song = '\nfile = "song.mp3"\ntitle = "Counting song"\nunit = 3\nlesson = 1\n'
    (folder / "pack.toml").write_text("[[item]]".join([items[0], song, *reversed(items[1:])]), encoding="utf-8")
    book = ZimFile(_pack(folder, tmp_path / "a" / "maths.zim").out)
    index = _data(book, "index.html").decode()
    assert index.index("<h2>Unit 2</h2>") < index.index("<h3>Lesson 1</h3>") < index.index("<h2>Unit 3</h2>")
    assert "Audio · 1 min" in index and '<html lang="en">' in index
    page = _data(book, "items/u3-l1-song.html").decode()
    assert '<audio controls preload="metadata"' in page and "poster" not in page and "Back to the contents" in page
    song_item = next(i for i in json.loads(_data(book, "tpkit/items.json"))["items"] if i["kind"] == "audio")
    assert song_item["seconds"] == 2 and song_item["bytes"] == (folder / "song.mp3").stat().st_size
    (folder / "pack.toml").write_text("[[item]]".join([items[0], *items[1:], song]), encoding="utf-8")
    reordered = ZimFile(_pack(folder, tmp_path / "b" / "maths.zim").out)
    assert list(reordered.entry_paths()) == list(book.entry_paths())
    assert reordered.storage_order() == book.storage_order()
