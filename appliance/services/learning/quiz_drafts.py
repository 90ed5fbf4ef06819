"""The teacher's quiz form as a draft: read from the posted fields, grown or shrunk by its buttons (it works
without JavaScript), and checked question by question with quiz_grading.check_question.

Must not import web or cli. Fields: title, attempts, due (YYYY-MM-DD), pass (percent); per question N:
qN-kind, qN-prompt, qN-optionK, qN-right (ticked option numbers), qN-tf, qN-accepted (one per line),
qN-number, qN-tolerance, qN-points, qN-picture (the id of its picture, kept across the form's buttons).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from appliance.errors import BadRequestError
from appliance.services.learning.quiz_marking import KINDS, MAX_OPTIONS, Question, check_question
from appliance.typed_numbers import parse_number, whole_number

MAX_QUESTIONS = 50
MAX_ATTEMPTS = 20
MAX_TITLE_CHARS = 200
OPTION_FIELDS = 6  # option boxes shown per question; filled ones plus two more, up to MAX_OPTIONS


@dataclasses.dataclass
class DraftQuestion:
    """One question as typed (strings), and the problem found in it."""

    kind: str = "single"
    prompt: str = ""
    options: list[str] = dataclasses.field(default_factory=lambda: [""] * OPTION_FIELDS)
    right: set[int] = dataclasses.field(default_factory=set)
    tf: str = ""
    accepted: str = ""
    number: str = ""
    tolerance: str = ""
    points: str = "1"
    error: str = ""
    fix: str = ""
    field: str = ""  # the field at fault, for the form's message in the page's language (quiz.problem.<field>)
    picture: str = ""  # the id of its picture (services/learning/quiz_pictures), '' for none

    def raw(self) -> dict[str, Any]:
        """The dict check_question takes; blank options are dropped and the ticks follow their options."""
        filled = [(i, o.strip()) for i, o in enumerate(self.options) if o.strip()]
        ticks = [n for n, (i, _) in enumerate(filled) if i in self.right]
        answer: Any = {
            "single": ticks[0] if len(ticks) == 1 else None,
            "multiple": ticks,
            "true_false": {"true": True, "false": False}.get(self.tf),
            "short": [a for a in self.accepted.splitlines() if a.strip()],
            "numeric": self.number,
        }.get(self.kind)
        return {
            "kind": self.kind,
            "prompt": self.prompt,
            "options": [o for _, o in filled] if self.kind in ("single", "multiple") else [],
            "answer": answer,
            "tolerance": _number_or(self.tolerance, 0),
            "points": _number_or(self.points, 1),
        }


@dataclasses.dataclass
class Draft:
    """The whole form: the quiz's own fields, its questions, and problems with the quiz's own fields."""

    title: str = ""
    attempts: str = "1"
    due: str = ""
    pass_percent: str = "60"
    questions: list[DraftQuestion] = dataclasses.field(default_factory=lambda: [DraftQuestion()])
    errors: list[str] = dataclasses.field(default_factory=list)
    fields: list[str] = dataclasses.field(default_factory=list)  # the quiz's own fields at fault, as `errors`

    @property
    def has_problems(self) -> bool:
        return bool(self.errors) or any(q.error for q in self.questions)


def _number_or(text: str, blank: Any) -> Any:
    if not str(text).strip():
        return blank
    value = parse_number(text)
    return text if value is None else (int(value) if value.is_integer() else value)


def read(form) -> Draft:
    """A draft from posted fields (`form.get`, `form.getlist`)."""
    count = min(MAX_QUESTIONS, _int(form.get("count"), 1))
    draft = Draft(
        str(form.get("title", "")).strip(),
        str(form.get("attempts", "1")).strip(),
        str(form.get("due", "")).strip(),
        str(form.get("pass", "60")).strip(),
        [],
    )
    for n in range(count):
        field = lambda name: str(form.get(f"q{n}-{name}", ""))  # noqa: E731, B023 (called only in this iteration)
        options = [field(f"option{k}") for k in range(MAX_OPTIONS)]
        shown = min(
            MAX_OPTIONS, max(OPTION_FIELDS, max((k + 1 for k, o in enumerate(options) if o.strip()), default=0) + 2)
        )
        kind = field("kind")
        draft.questions.append(
            DraftQuestion(
                kind if kind in KINDS else "single",
                field("prompt").strip(),
                options[:shown],
                {r for r in (_int(v, -1) for v in form.getlist(f"q{n}-right")) if 0 <= r < MAX_OPTIONS},
                field("tf"),
                field("accepted"),
                field("number").strip(),
                field("tolerance").strip(),
                field("points").strip() or "1",
                picture=field("picture").strip()[:12],  # an id; services/learning/quiz_pictures checks whose
            )
        )
    return draft


def apply_button(draft: Draft, action: str) -> None:
    """ "add" appends a question; "remove-N" removes question N (never the last one)."""
    if action == "add" and len(draft.questions) < MAX_QUESTIONS:
        draft.questions.append(DraftQuestion())
    elif action.startswith("remove-") and len(draft.questions) > 1:
        index = _int(action.removeprefix("remove-"), -1)
        if 0 <= index < len(draft.questions):
            del draft.questions[index]


def check(draft: Draft) -> dict[str, Any] | None:
    """The quiz's columns and checked questions, or None with every problem written into the draft."""
    draft.errors, draft.fields = [], []
    title, attempts, pass_mark = draft.title, _int(draft.attempts, 0), parse_number(draft.pass_percent)

    def problem(field: str, sentence: str) -> None:
        draft.fields.append(field)
        draft.errors.append(sentence)

    if not title or len(title) > MAX_TITLE_CHARS:
        problem("title", f"The title is empty or longer than {MAX_TITLE_CHARS} characters: write a short title.")
    if not 1 <= attempts <= MAX_ATTEMPTS:
        problem("attempts", f"Attempts = {draft.attempts!r} is not a whole number from 1 to {MAX_ATTEMPTS}.")
    if pass_mark is None or not 0 <= pass_mark <= 100:
        problem("pass", f"The pass mark {draft.pass_percent!r} is not a percentage from 0 to 100.")
    due = _due(draft.due)
    if due is False:
        problem("due", f"The due date {draft.due!r} is not a date like 2026-12-01.")
    checked = []
    for number, question in enumerate(draft.questions, start=1):
        question.error = question.fix = question.field = ""
        try:
            checked.append(check_question(question.raw(), number))
        except BadRequestError as exc:
            question.error, question.fix, question.field = exc.message, exc.fix, exc.field
    if draft.has_problems or pass_mark is None:  # a missing pass mark is one of the problems
        return None
    return {
        "title": title,
        "attempts_allowed": attempts,
        "due_at": due,
        "pass_mark": round(pass_mark / 100, 4),
        "questions": [_stored(q, d) for q, d in zip(checked, draft.questions)],
    }


def _stored(question: Question, drafted: DraftQuestion) -> dict[str, Any]:
    """A checked question as storage keeps it, with its picture's id when it has one."""
    stored = dataclasses.asdict(question)
    picture = whole_number(drafted.picture)
    if picture is not None:
        stored["picture"] = picture
    return stored


def _due(text: str):
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return False


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default
