"""The shared lesson's report bodies (docs/shared-lessons.md), as the kit makes them and the hub reads them."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from appliance.errors import ReportError
from appliance.protocol import shared_lesson

SHARE = str(uuid.uuid4())


def _lesson(**changes):
    data = b"%PDF-1.4 worksheet" * 20_000  # 360 KB: three parts
    body = {
        "share_id": SHARE,
        "version": 1,
        "title": "两位数加两位数",
        "instructions": "先读课文，再做练习。",
        "position": {"edition": "rjb", "grade": 3, "volume": 1, "subject": "math", "unit": 2},
        "licence": "CC BY 4.0",
        "author": "王老师",
        "school": "山脚小学",
        "items": [{"kind": "file", "title": "练习单", "file": 0}, {"kind": "quiz", "title": "小测", "questions": []}],
        "files": [
            {
                "name": "练习单.pdf",
                "media_type": "application/pdf",
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "parts": shared_lesson.parts_of(len(data)),
            }
        ],
    }
    return {**body, **changes}, data


def test_a_lesson_and_its_file_cut_in_parts_read_back_whole():
    body, data = _lesson()
    share = shared_lesson.check_lesson(body)
    assert share.title == "两位数加两位数" and share.files[0].parts == 3 and share.position["unit"] == 2
    parts = [shared_lesson.check_part(p) for p in shared_lesson.cut(SHARE, 1, 0, data)]
    assert [p.part for p in parts] == [0, 1, 2] and b"".join(p.data for p in parts) == data
    assert [shared_lesson.check_part(p).data for p in shared_lesson.cut(SHARE, 1, 0, b"")] == [b""]


@pytest.mark.parametrize(
    "changes, says",
    [
        ({"share_id": "not-a-uuid"}, "share_id"),
        ({"licence": "all mine"}, "licence"),
        ({"title": ""}, "title"),
        ({"position": {"grade": 30}}, "position.grade"),
        ({"position": {"shelf": 1}}, "position has keys"),
        ({"items": [{"kind": "file", "title": "x", "file": 5}]}, "items[0].file"),
        ({"items": [{"kind": "video", "title": "x"}]}, "items[0]"),
    ],
)
def test_a_malformed_lesson_is_refused_saying_what(changes, says):
    body, _ = _lesson(**changes)
    with pytest.raises(ReportError) as refused:
        shared_lesson.check_lesson(body)
    assert says in refused.value.message and refused.value.code == "report.malformed"


def test_files_that_lie_about_their_parts_or_parts_of_the_wrong_size_are_refused():
    body, data = _lesson()
    body["files"][0]["parts"] = 1
    with pytest.raises(ReportError, match="does not match"):
        shared_lesson.check_lesson(body)
    first = next(shared_lesson.cut(SHARE, 1, 0, data))
    with pytest.raises(ReportError, match="every part but the last"):
        shared_lesson.check_part({**first, "data": first["data"][:100]})


def test_a_replys_states_keep_only_what_a_kit_can_use():
    good = {
        "share_id": SHARE,
        "version": 1,
        "state": "returned",
        "comment": "请补充答案。",
        "at": "2026-12-07T09:00:00Z",
    }
    odd = [{"share_id": SHARE, "version": 1, "state": "eaten", "at": "x"}, "nonsense", {"state": "accepted"}]
    assert shared_lesson.check_states([good, *odd]) == [good]
    assert shared_lesson.check_states(None) == []
