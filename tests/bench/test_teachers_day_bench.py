"""The teacher's-day benchmark (bench/teachers_day.py) with 3 children, so it cannot rot: a real `tpkit serve`, every
step over HTTP in Chinese, the database check after it, and a verdict for every target. Timings and verdicts are
not checked (a busy machine makes them what they are); what is counted is."""

from __future__ import annotations

import pytest

from bench import teachers_day
from bench.teachers_day_browser import freshness_s, subresources


@pytest.mark.slow
def test_teachers_day_with_three_children_runs_every_step_and_checks_the_database(tmp_path):
    result = teachers_day.run(children=3, work_dir=tmp_path)
    assert result["errors"] == [] and result["problems"] == [], (result["errors"], result["problems"])
    assert result["ok"] and result["server_survived"] and result["handins_graded"] == 3
    steps = {row["step"]: row for row in result["steps"]}
    assert list(steps) == list(teachers_day.STEPS)
    assert all(row["page_loads"] > 0 and row["bytes_in"] > 0 for row in steps.values())
    # 3 children × 9 page loads each: classes, names, PIN page, PIN, lesson, hand-in, quiz, start, answers
    assert steps[teachers_day.CHILDREN]["page_loads"] == 27
    assert steps[teachers_day.CHILDREN]["bytes_out"] > 3 * 1_000_000  # three photos of ~1.5 MB went up
    assert steps[teachers_day.GRADING]["picture_bytes_in"] > 0  # the photos (or thumbnails) were loaded
    # the stylesheet is asked for again with If-None-Match and comes back as a bodiless 304
    assert steps[teachers_day.CHILDREN]["not_modified"] > 0
    assert result["how"]["quiz"] == "paste" or result["how"]["quiz"].startswith("paste: not available")
    assert result["how"]["grading"].startswith(("the hand-in page", "the lesson page"))
    assert [t["verdict"] in ("PASS", "FAIL") for t in result["targets"]] == [True] * 4
    kinds = result["children_requests"]
    assert kinds["hand-in (POST, photo)"]["count"] == 3 and kinds["hand-in (POST, photo) → page"]["count"] == 3
    assert "| 5. grade every hand-in |" in teachers_day.markdown(result)


def test_a_class_list_is_a_real_xlsx_with_the_office_columns():
    import io

    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(teachers_day.class_list_xlsx(40))).active.iter_rows(values_only=True))
    assert rows[0] == ("学号", "姓名", "性别", "出生日期") and len(rows) == 41
    assert len({row[1] for row in rows[1:]}) == 40  # every name different: the children find theirs by name


def test_the_browser_cache_keeps_what_cache_control_allows():
    assert freshness_s("no-store") is None
    assert freshness_s("private, no-cache") == 0.0
    assert freshness_s("max-age=3600, must-revalidate") == 3600.0
    assert freshness_s("") == 0.0  # kept, but asked again (no heuristic freshness)


def test_a_page_names_its_pictures_stylesheets_and_scripts_once_each():
    page = (
        '<link rel="stylesheet" href="/static/kit.css"><script src="/static/keypad.js" defer></script>'
        '<img src="/files/handin/1/thumb"><img src="/files/handin/1/thumb"><a href="/files/handin/1">x</a>'
    )
    assert subresources(page) == [
        ("style", "/static/kit.css"),
        ("script", "/static/keypad.js"),
        ("image", "/files/handin/1/thumb"),
    ]
