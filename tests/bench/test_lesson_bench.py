"""The lesson benchmark's harness (bench/lesson.py) on 3 students, so it cannot rot: a real `tpkit serve`, every
step of the lesson, and the consistency checks run, pass, and fail on a damaged photo. Timings are not checked."""

from __future__ import annotations

import pytest

from bench import lesson


@pytest.mark.slow
def test_lesson_bench_three_students_do_the_whole_lesson_and_the_checks_pass(tmp_path):
    result = lesson.run(students=3, think_s=(0.0, 0.0), ramp_s=0.0, overview_every_s=0.5, work_dir=tmp_path)
    assert result["errors"] == 0, result["error_samples"]
    assert result["server_survived"]
    checks = result["consistency"]
    assert checks["problems"] == [] and checks["ok"]
    assert (
        checks["handins"],
        checks["photos_matching"],
        checks["quiz_attempts_scored_right"],
        checks["students_with_expected_records"],
    ) == (3, 3, 3, 3)
    steps = result["steps"]
    assert steps["article"]["count"] == 6 and steps["hand-in (POST, 300 KB photo)"]["count"] == 3
    assert steps["teacher: class overview"]["count"] >= 1 and result["peak_rss_mb"] > 0
    assert result["requests"] == 3 * 17 + steps["teacher: class overview"]["count"]
    assert {lesson.expected_score(n) for n in range(3)} != {
        sum(lesson.question_points(q) for q, _, _ in lesson.QUESTIONS)
    }  # not every answer is right

    # the checks can fail: a photo cut short on disk, as a crash before its fsync would leave it
    photo = sorted((tmp_path / "data" / "uploads" / "handins").glob("*.jpg"))[0]
    photo.write_bytes(photo.read_bytes()[:1000])
    sent = {int(k): tuple(v) for k, v in result["photos_sent"].items()}
    again = lesson.check_consistency(tmp_path / "data", result["roster"], result["setup"], sent)
    assert not again["ok"] and again["photos_matching"] == 2 and "does not match" in again["problems"][0]
