"""Quizzes a teacher writes on the kit, and how answers are graded (docs/learning-space.md, "Quizzes").

Pure logic: questions are checked when authored, answers graded when handed in, and marked again when a teacher
accepts another answer or gives one child's answer credit by hand (services/learning/quiz_remarking). No HTTP, no SQL.
Kinds: single choice, multiple choice, true/false, short answer (accepted answers), numeric (tolerance).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Container, Mapping, Sequence
from typing import Any

from appliance.errors import BadRequestError
from appliance.typed_numbers import is_finite_number, parse_number

KINDS = ("single", "multiple", "true_false", "short", "numeric")
MAX_OPTIONS = 10
MAX_TEXT = 2000
PUNCTUATION = re.compile(r"[\s\.,;:!?'\"()\[\]{}，。；：！？、“”‘’（）《》]+")


@dataclasses.dataclass(frozen=True)
class Question:
    """One question as authored. `answer` depends on `kind` (see check_question)."""

    kind: str
    prompt: str
    options: tuple[str, ...] = ()
    answer: Any = None
    tolerance: float = 0.0
    points: float = 1.0


@dataclasses.dataclass(frozen=True)
class Graded:
    """The grade of one answer: `score` in [0, points], whether it was fully right, and what was understood."""

    score: float
    correct: bool
    understood: str


def _invalid(number: int, problem: str, fix: str, field: str) -> BadRequestError:
    """`field`: the question's field at fault (kind, prompt, points, options, right, tf, accepted, number,
    tolerance), which the quiz form shows the problem beside, in the page's language (`quiz.problem.<field>`)."""
    return BadRequestError(f"Question {number}: {problem}.", code="quiz.invalid", fix=fix, field=field)


def normalise(text: str) -> str:
    """How short answers are compared: NFKC (full-width letters and digits become plain), case folded,
    punctuation and spaces dropped, so "Photo-synthesis." matches "photo synthesis" and "ＣＯ２" matches "co2"."""
    return PUNCTUATION.sub("", unicodedata.normalize("NFKC", text).casefold().replace("-", ""))


def check_question(raw: Mapping[str, Any], number: int) -> Question:
    """A Question from a teacher's form or an import; a BadRequestError (quiz.invalid) naming the problem."""
    kind, prompt = raw.get("kind"), str(raw.get("prompt") or "").strip()
    if kind not in KINDS:
        raise _invalid(number, f"the kind {kind!r} is not one of {', '.join(KINDS)}", "Choose a question kind.", "kind")
    if not prompt or len(prompt) > MAX_TEXT:
        raise _invalid(
            number, "the question text is empty or longer than 2,000 characters", "Write the question.", "prompt"
        )
    points = raw.get("points", 1)
    if not is_finite_number(points) or not 0 < points <= 100:
        raise _invalid(
            number, f"points = {points!r} is not a number from 0 to 100", "Give 1 point, or up to 100.", "points"
        )
    options = tuple(str(o).strip() for o in raw.get("options") or ())
    answer, tolerance = raw.get("answer"), 0.0
    if kind in ("single", "multiple"):
        if not 2 <= len(options) <= MAX_OPTIONS or any(not o for o in options) or len(set(options)) != len(options):
            raise _invalid(
                number,
                f"a choice question needs 2 to {MAX_OPTIONS} different, non-empty options",
                "Fill in every option once; remove empty ones.",
                "options",
            )
        chosen = [answer] if kind == "single" else list(answer or [])
        if (
            not chosen
            or any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(options) for i in chosen)
            or len(set(chosen)) != len(chosen)
        ):
            raise _invalid(number, "the right option(s) are not marked", "Tick the right answer(s).", "right")
        answer = chosen[0] if kind == "single" else tuple(sorted(chosen))
    elif kind == "true_false":
        if not isinstance(answer, bool):
            raise _invalid(number, "true or false is not chosen as the right answer", "Choose True or False.", "tf")
    elif kind == "short":
        accepted = tuple(a for a in (str(x).strip() for x in (answer or ())) if a)
        if not accepted or any(not normalise(a) for a in accepted):
            raise _invalid(
                number,
                "no accepted answer is given (or one is only punctuation)",
                "Write each accepted answer, e.g. 'photosynthesis' and '光合作用'.",
                "accepted",
            )
        answer = accepted
    else:
        value, given_tolerance = parse_number(str(answer)), raw.get("tolerance", 0)
        if value is None:
            raise _invalid(
                number, f"the right answer {answer!r} is not a number", "Write the number, e.g. 3.14.", "number"
            )
        if not is_finite_number(given_tolerance) or not 0 <= given_tolerance < 1e12:
            raise _invalid(
                number, f"the tolerance {given_tolerance!r} is not a number from 0", "Write 0 for exact.", "tolerance"
            )
        answer, tolerance = value, float(given_tolerance)
    return Question(kind, prompt, options, answer, tolerance, float(points))


def grade(question: Question, given: Any) -> Graded:
    """Grade one answer as a form sends it (an option index or indexes as strings, "true"/"false", text)."""
    if question.kind == "single":
        choice = _index(given, len(question.options))
        right = choice == question.answer
        return Graded(question.points if right else 0.0, right, "" if choice is None else question.options[choice])
    if question.kind == "multiple":
        picked = sorted({i for i in (_index(g, len(question.options)) for g in _as_list(given)) if i is not None})
        hits = len(set(picked) & set(question.answer))
        wrong = len(picked) - hits
        # Partial credit: each right tick earns its share, each wrong tick takes one back; never below 0.
        share = max(0.0, (hits - wrong) / len(question.answer))
        return Graded(
            round(question.points * share, 4),
            tuple(picked) == question.answer,
            ", ".join(question.options[i] for i in picked),
        )
    if question.kind == "true_false":
        value = {"true": True, "false": False}.get(str(given).strip().lower())
        right = value is question.answer
        return Graded(question.points if right else 0.0, right, "" if value is None else str(value).lower())
    if question.kind == "short":
        text = str(given or "")[:MAX_TEXT]
        right = bool(normalise(text)) and normalise(text) in {normalise(a) for a in question.answer}
        return Graded(question.points if right else 0.0, right, text.strip())
    number = parse_number(str(given or ""))
    right = number is not None and abs(number - question.answer) <= question.tolerance + 1e-9 * max(
        1, abs(question.answer)
    )
    return Graded(question.points if right else 0.0, right, "" if number is None else f"{number:g}")


def answer_key(question: Question, given: Any) -> str | None:
    """What a child sent, as grading understands it, in the form a teacher's accepted answer is stored under: an
    option's index ("1"), the ticked indexes ("0,2"), "true"/"false", a short answer normalised, a number ("3.5");
    None for no answer (an unanswered question is never accepted)."""
    if question.kind == "single":
        choice = _index(given, len(question.options))
        return None if choice is None else str(choice)
    if question.kind == "multiple":
        picked = sorted({i for i in (_index(g, len(question.options)) for g in _as_list(given)) if i is not None})
        return ",".join(map(str, picked)) or None
    if question.kind == "true_false":
        value = str(given).strip().lower()
        return value if given is not None and value in ("true", "false") else None
    if question.kind == "short":
        return normalise(str(given or "")[:MAX_TEXT]) or None
    number = parse_number(str(given or ""))
    return None if number is None else repr(float(number))


def marked(question: Question, given: Any, accepted: Container[str] = (), credit: int | None = None) -> Graded:
    """`grade`, then the teacher's marking: a `credit` given by hand (1 full points, 0 none) wins; else an answer
    whose `answer_key` is in `accepted` scores full points."""
    graded = grade(question, given)
    if credit is not None:
        return Graded(question.points if credit else 0.0, bool(credit), graded.understood)
    if not graded.correct and answer_key(question, given) in accepted:
        return Graded(question.points, True, graded.understood)
    return graded


def grade_attempt(
    questions: Sequence[Question], answers: Mapping[int, Any], accepted: Mapping[int, Container[str]] | None = None
) -> tuple[list[Graded], float, float]:
    """Every question graded (unanswered ones score 0), with the answers a teacher accepted (position → keys):
    (per question, score, out of)."""
    accepted = accepted or {}
    graded = [marked(q, answers.get(number), accepted.get(number, ())) for number, q in enumerate(questions)]
    return graded, round(sum(g.score for g in graded), 4), sum(q.points for q in questions)


def unanswered(given: Any) -> bool:
    """Whether the form sent nothing for the question (no option chosen, no tick, an empty box)."""
    return not any(str(g).strip() for g in _as_list(given))


def _as_list(given: Any) -> list[Any]:
    return list(given) if isinstance(given, (list, tuple, set)) else [] if given is None else [given]


def _index(given: Any, count: int) -> int | None:
    try:
        index = int(str(given).strip())
    except ValueError:
        return None
    return index if 0 <= index < count else None
