"""Find by textbook: positions, items and maps read from real books (tests/textbook_books), merged per library."""

from __future__ import annotations

import json
import logging

from appliance.content.library import Library
from appliance.content.textbook import ITEMS_MAX_BYTES
from appliance.services.library import units
from tests.conftest import make_book
from tests.textbook_books import curriculum, item, textbook_book

UNIT_2 = ("rjb", 3, 1, "math", 2)


def _library(content_dir) -> Library:
    library = Library(content_dir)
    library.refresh()
    return library


def test_units_drill_from_tags_and_items(content_dir):
    items = [
        item("u2/l1.html", "两位数加两位数（名师课堂）", 2, 1, kind="video", bytes=18874368, seconds=312),
        item("u2/sheet.html", "第二单元练习", 2),
        item("u3/l1.html", "三位数加法", 3, 1),
    ]
    textbook_book(content_dir, "math3a", items=items)
    found = units.index(_library(content_dir))
    assert units.editions(found) == ["rjb"]
    assert units.grades(found, "rjb") == [(3, 1)]
    assert units.subjects(found, "rjb", 3, 1) == ["math"]
    assert units.units_of(found, "rjb", 3, 1, "math") == [2, 3]
    shelf = units.shelf(found, UNIT_2)
    assert [b.name for b in shelf.books] == ["math3a"]
    assert [(n, [i.title for _, i in group]) for n, group in shelf.lessons] == [
        (None, ["第二单元练习"]),
        (1, ["两位数加两位数（名师课堂）"]),
    ]
    video = shelf.lessons[1][1][0][1]
    assert (video.kind, video.size_bytes, video.seconds) == ("video", 18874368, 312)
    assert units.shelf(found, ("rjb", 3, 1, "math", 3)).books == []  # tagged with unit 2 only; its item is listed


def test_units_drill_stops_at_an_unknown_level(content_dir):
    textbook_book(content_dir, "math3a", items=[item("a.html", "甲", 2)])
    found = units.index(_library(content_dir))
    chosen = {"edition": "rjb", "grade": "3", "volume": "2", "subject": "math", "unit": "2"}
    assert units.drill(found, chosen) | {"shelf": None} == {
        "at": {"edition": "rjb"},
        "next": "grade",
        "choices": [(3, 1)],
        "shelf": None,
    }
    level = units.drill(found, chosen | {"volume": "1"})
    assert level["at"] == {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2}
    assert level["next"] is None and [b.name for b in level["shelf"].books] == ["math3a"]


def test_units_damaged_items_json_is_ignored_for_that_book_only(content_dir, caplog):
    textbook_book(content_dir, "broken", items_raw=b'{"format": 1, "items": [{"path": ')
    textbook_book(content_dir, "bad_grade", items=[item("a.html", "甲", 2, grade=13)])
    textbook_book(content_dir, "huge", items_raw=b'{"format": 1, "items": []}' + b" " * ITEMS_MAX_BYTES)
    textbook_book(content_dir, "good", items=[item("b.html", "乙", 2)])
    library = _library(content_dir)
    with caplog.at_level(logging.WARNING, logger="appliance.services.library.units"):
        found = units.index(library)
    assert len(library.books()) == 4  # every book still served
    shelf = units.shelf(found, UNIT_2)
    assert [b.name for b in shelf.books] == ["bad_grade", "broken", "good", "huge"]  # their tags still place them
    assert [(book.name, i.title) for _, group in shelf.lessons for book, i in group] == [("good", "乙")]
    said = "\n".join(r.getMessage() for r in caplog.records)
    assert "tpkit/items.json of book broken is ignored: tpkit/items.json is not JSON" in said
    assert "bad_grade is ignored: tpkit/items.json item 0: grade 13 is not a whole number from 1 to 12" in said
    assert f"huge is ignored: tpkit/items.json holds {ITEMS_MAX_BYTES + 26} bytes" in said


def test_units_bad_tags_are_ignored_and_a_book_without_tags_is_only_its_items(content_dir, caplog):
    textbook_book(content_dir, "bad_tags", tags="_edition:rjb;_grade:thirteen;_volume:1;_subject:math;_unit:2")
    textbook_book(content_dir, "superscript", tags="_edition:rjb;_grade:²;_volume:1;_subject:math;_unit:2")
    textbook_book(content_dir, "untagged", tags="_category:other", items=[item("c.html", "丙", 2, 3)])
    make_book(content_dir, "plain")  # an ordinary book: in no unit
    with caplog.at_level(logging.WARNING, logger="appliance.services.library.units"):
        found = units.index(_library(content_dir))
    shelf = units.shelf(found, UNIT_2)
    assert shelf.books == []
    assert [(n, [i.title for _, i in g]) for n, g in shelf.lessons] == [(3, ["丙"])]
    assert "the Tags of book bad_tags are ignored: Tags: grade 'thirteen'" in caplog.text
    assert "the Tags of book superscript are ignored: Tags: grade '²'" in caplog.text
    assert list(found.units) == [UNIT_2]


def test_units_maps_merge_newest_book_wins(content_dir):
    old = curriculum(
        {2: "旧的名字", 3: "只有旧图说"}, {2: {1: "旧课名"}}, subjects={"math": {"zh": "算术", "en": "Sums"}}
    )
    new = curriculum({2: "万以内的加法和减法（一）"}, {2: {1: "两位数加两位数"}})
    new["editions"] = {"rjb": {"zh": "人教版（二〇二四）", "en": "PEP 2024"}}
    textbook_book(content_dir, "z_old_map", curriculum_map=old, date="2025-08-01")
    textbook_book(content_dir, "a_new_map", curriculum_map=new, date="2026-08-01", items=[item("x.html", "戊", 2, 1)])
    found = units.index(_library(content_dir))
    shelf = units.shelf(found, UNIT_2)
    assert shelf.name is not None and shelf.name.zh == "万以内的加法和减法（一）"
    assert shelf.lesson_names[1].zh == "两位数加两位数"
    assert found.names.units[("rjb", 3, 1, "math", 3)][0].zh == "只有旧图说"  # named by the older map only
    assert found.names.subjects["math"].zh == "算术" and found.names.editions["rjb"].en == "PEP 2024"


def test_units_damaged_map_is_ignored(content_dir, caplog):
    textbook_book(content_dir, "map", curriculum_map={"format": 1, "units": [{"edition": "RJB!", "zh": "甲"}]})
    found = units.index(_library(content_dir))
    assert found.names.units == {} and [b.name for b in units.shelf(found, UNIT_2).books] == ["map"]
    assert "tpkit/curriculum.json of book map is ignored: tpkit/curriculum.json unit 0: edition 'RJB!'" in caplog.text


def test_units_index_is_built_once_per_library_generation(content_dir):
    textbook_book(content_dir, "first", items=[item("a.html", "甲", 2)])
    library = _library(content_dir)
    found = units.index(library)
    assert units.index(library) is found
    textbook_book(content_dir, "second", tags="_edition:bsd;_grade:4;_volume:2;_subject:chinese;_unit:1")
    library.refresh()
    again = units.index(library)
    assert again is not found and units.editions(again) == ["rjb", "bsd"]
    assert again.books["first"] is found.books["first"]  # an unchanged book is not read again


def test_units_items_json_example_of_the_contract_reads(content_dir):
    """The example in docs/textbook-units.md, as written there."""
    example = {
        "format": 1,
        "items": [
            {
                "path": "items/u2-l1-video.html",
                "title": "第二单元 第1课 两位数加两位数（名师课堂）",
                "kind": "video",
                "edition": "rjb",
                "grade": 3,
                "volume": 1,
                "subject": "math",
                "unit": 2,
                "lesson": 1,
                "bytes": 18874368,
                "seconds": 312,
            }
        ],
    }
    textbook_book(content_dir, "contract", items_raw=json.dumps(example).encode())
    (group,) = units.shelf(units.index(_library(content_dir)), UNIT_2).lessons
    assert group[0] == 1 and group[1][0][1].path == "items/u2-l1-video.html"
