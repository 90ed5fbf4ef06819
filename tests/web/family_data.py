"""A class whose two children each have marked homework, a quiz mark and notices: what a family page shows (issue 18).
Made through the services (as a teacher and the children would), for the family route, service and browser tests."""

from __future__ import annotations

from starlette.datastructures import FormData

from appliance.services.learning import grading, lessons, notices, quiz_drafts, quizzes

HOMEWORK = "观察一棵植物"
QUIZ = "第一次小测"
OWN_NOTICE = "请{name}的家长明天来学校"  # a notice to one child only: the other child's page never shows it
CLASS_NOTICE = "明天上午带尺子和铅笔。"


def comment_of(name: str) -> str:
    return f"{name}的观察写得很认真"


def marked_homework(kit, teacher_id: int, class_id: int) -> dict:
    """A homework lesson every child of the class handed in ("我看到了……" in their own words) and the teacher marked
    (a score out of 10, a level, a comment naming the child); a notice to the class and one to each child.
    {'lesson': id, 'handins': {child id: hand-in id}, 'notices': {child id: their own notice id}, 'class_notice': id}."""
    teacher = kit.people.person(teacher_id)
    lesson_id = lessons.create(
        kit.people, kit.lessons, teacher, class_id, HOMEWORK, "拍一张照片，写三句话。", True, "", []
    )
    handins, own = {}, {}
    for n, child in enumerate(kit.people.students_of(class_id)):
        lessons.hand_in(kit, kit.people.person(child["id"]), lesson_id, f"{child['display_name']}看到了新叶子", [])
        [handin] = kit.lessons.handins_of(lesson_id, child["id"])
        grading.grade(kit, teacher, handin["id"], "grade", str(8 - n), "10", "good", comment_of(child["display_name"]))
        handins[child["id"]] = handin["id"]
        own[child["id"]] = notices.post(
            kit, teacher, class_id, OWN_NOTICE.format(name=child["display_name"]), child["id"]
        )
    class_notice = notices.post(kit, teacher, class_id, CLASS_NOTICE, None)
    return {"lesson": lesson_id, "handins": handins, "notices": own, "class_notice": class_notice}


def quiz_taken(kit, teacher_id: int, class_id: int, child_id: int) -> int:
    """A two-question quiz (QUIZ) for the class that only `child_id` took, one answer right: 1 of 2. Its id."""
    q = quiz_drafts.DraftQuestion
    draft = quiz_drafts.Draft(
        QUIZ, "2", "", "50", [q("numeric", "一加一等于几？", number="2"), q("numeric", "二加二？", number="4")]
    )
    quiz_id = quizzes.create(kit, kit.people.person(teacher_id), class_id, draft)
    assert quiz_id is not None
    child = kit.people.person(child_id)
    attempt = quizzes.start(kit, child, quiz_id)
    quizzes.hand_in(kit, child, quiz_id, attempt, FormData([("a0", "2"), ("a1", "5")]))
    return quiz_id
