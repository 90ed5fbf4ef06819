"""A quiz with one question of every kind, as the teacher's form posts it, and right/wrong answers to it."""

from __future__ import annotations

from tests.web.people_clients import csrf

HOSTILE = '<script>alert("x")</script>'

# (form fields of the question, a right answer, a wrong answer) per kind; answers as the student's form posts.
QUESTIONS = [
    (
        {
            "kind": "single",
            "prompt": f"Which gas do plants take in? {HOSTILE}",
            "option0": "Oxygen",
            "option1": "Carbon dioxide",
            "option2": HOSTILE,
            "right": ["1"],
        },
        ["1"],
        ["2"],
    ),
    (
        {
            "kind": "multiple",
            "prompt": "Which are mammals?",
            "option0": "Whale",
            "option1": "Shark",
            "option2": "Bat",
            "right": ["0", "2"],
        },
        ["0", "2"],
        ["1"],
    ),
    ({"kind": "true_false", "prompt": "The sun is a star.", "tf": "true"}, ["true"], ["false"]),
    (
        {
            "kind": "short",
            "prompt": "Name the process plants use to make food.",
            "accepted": "photosynthesis\n光合作用",
        },
        ["Photo-synthesis."],
        [HOSTILE],
    ),
    (
        {"kind": "numeric", "prompt": "What is 7 ÷ 2?", "number": "3.5", "tolerance": "0.01", "points": "2"},
        ["３,5"],
        ["4"],
    ),
]


def quiz_form(client, title: str, questions=QUESTIONS, attempts: int = 2, due: str = "", action: str = "save") -> dict:
    form = {
        "csrf": csrf(client),
        "title": title,
        "attempts": str(attempts),
        "due": due,
        "pass": "60",
        "count": str(len(questions)),
        "action": action,
    }
    for n, (fields, _, _) in enumerate(questions):
        for name, value in fields.items():
            form[f"q{n}-{name}"] = value
    return form


def answers_form(client, which: int) -> dict:
    """Every question answered right (which=1) or wrong (which=2)."""
    form = {"csrf": csrf(client)}
    for n, question in enumerate(QUESTIONS):
        form[f"a{n}"] = question[which]
    return form


def create_quiz(client, class_id: int, title: str, **options) -> int:
    response = client.post(f"/teach/{class_id}/quizzes", data=quiz_form(client, title, **options))
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def start(client, quiz_id: int) -> int:
    response = client.post(f"/me/quizzes/{quiz_id}/start", data={"csrf": csrf(client)})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])
