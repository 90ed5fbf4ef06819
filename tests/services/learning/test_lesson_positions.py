"""A lesson's place in the textbook as the lesson page's form sends it (services/learning/lesson_positions)."""

from __future__ import annotations

import pytest

from appliance.errors import BadRequestError
from appliance.services.learning.lesson_positions import checked_position

FULL = {"edition": "rjb", "grade": "3", "volume": "1", "subject": "math", "unit": "2", "lesson": "1"}


def test_lesson_positions_a_full_place_and_one_without_unit_or_lesson():
    assert checked_position(FULL) == {
        "edition": "rjb",
        "grade": 3,
        "volume": 1,
        "subject": "math",
        "unit": 2,
        "lesson": 1,
    }
    assert checked_position(FULL | {"unit": " ", "lesson": ""})["unit"] is None


def test_lesson_positions_no_edition_takes_the_lesson_out_of_the_textbook():
    assert checked_position(FULL | {"edition": ""}) == {}


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"edition": "人教版"}, "pos_edition"),
        ({"subject": ""}, "pos_subject"),
        ({"grade": "13"}, "pos_grade"),
        ({"volume": "3"}, "pos_volume"),
        ({"unit": "100"}, "pos_unit"),
        ({"unit": "²"}, "pos_unit"),
        ({"lesson": "0"}, "pos_lesson"),
        ({"unit": ""}, "pos_unit"),  # a lesson needs its unit
    ],
)
def test_lesson_positions_a_bad_part_is_refused_beside_its_field(changed, field):
    with pytest.raises(BadRequestError) as refused:
        checked_position(FULL | changed)
    assert refused.value.code == "lesson.position_invalid" and refused.value.field == field
