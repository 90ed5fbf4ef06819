"""Learning records: xAPI 1.0.3 statements with a pseudonymous account actor and the kit's clock state."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from appliance.errors import BadRequestError
from appliance.services.learning import xapi

HOME = "https://county.example.invalid/kits/kit-0042"
WHEN = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _quiz_statement(**extra):
    return xapi.statement(
        home_page=HOME,
        learner="5b0c2f9e-8d55-4a8e-9d5e-1f6c7d2a0b11",
        verb="scored",
        activity=xapi.activity_id(HOME, "quiz", "17"),
        activity_kind="quiz",
        activity_name="水循环小测验",
        when=WHEN,
        clock_synchronised=False,
        kit_id="kit-0042",
        result=xapi.score_result(7, 10, passed_at=0.6),
        language="zh",
        **extra,
    )


def test_xapi_statement_has_what_an_lrs_needs_and_no_real_name():
    made = _quiz_statement()
    assert made["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": HOME, "name": "5b0c2f9e-8d55-4a8e-9d5e-1f6c7d2a0b11"},
    }
    assert made["verb"]["id"] == "http://adlnet.gov/expapi/verbs/scored"
    assert made["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"
    assert made["timestamp"] == "2026-11-28T01:30:00.000Z"  # UTC, milliseconds
    assert made["result"]["score"] == {"raw": 7, "min": 0, "max": 10, "scaled": 0.7} and made["result"]["success"]
    assert made["context"]["extensions"][xapi.CLOCK_EXTENSION] is False
    assert json.loads(json.dumps(made, ensure_ascii=False)) == made
    assert _quiz_statement()["id"] != made["id"]  # a new id per event…
    assert _quiz_statement(statement_id=made["id"])["id"] == made["id"]  # …kept when the same event is re-made


def test_xapi_activity_ids_are_stable_iris_even_for_chinese_paths():
    article = xapi.activity_id(HOME, "article", "wikipedia_zh_all", "A/光合作用 (植物)")
    assert (
        article
        == HOME
        + "/xapi/activities/article/wikipedia_zh_all/A/%E5%85%89%E5%90%88%E4%BD%9C%E7%94%A8%20%28%E6%A4%8D%E7%89%A9%29"
    )
    assert " " not in article and xapi.IRI.match(article)
    with pytest.raises(ValueError):
        xapi.activity_id(HOME, "video")


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"actor": {"name": "王小明"}}, "account"),
        ({"verb": {"id": "scored"}}, "verb"),
        ({"object": {"id": ""}}, "object"),
        ({"timestamp": "2026-11-28T09:30:00"}, "time zone"),
        ({"timestamp": "today"}, "timestamp"),
        ({"result": {"score": {"scaled": 7}}}, "scaled"),
    ],
)
def test_xapi_check_refuses_what_an_lrs_would(change, problem):
    with pytest.raises(BadRequestError, match=problem) as caught:
        xapi.check_statement(_quiz_statement() | change)
    assert caught.value.code == "records.invalid"


def test_xapi_score_result_is_bounded():
    assert xapi.score_result(12, 10)["score"]["scaled"] == 1.0
    assert xapi.score_result(3, 0)["score"]["scaled"] == 0.0 and "success" not in xapi.score_result(3, 4)
