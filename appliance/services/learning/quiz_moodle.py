"""Quizzes in Moodle XML (issue 17 §4, "quizzes travel in a standard others can read"): a kit's quiz written as a
Moodle question bank file, and such a file read into the quiz form's draft questions. docs/learning-space.md,
"Moodle XML".

Why Moodle XML and not QTI 2.1: it is what Moodle (and the platforms built on it) export and import natively, one
plain XML file that a teacher can carry on a stick; GIFT (already read by the kit) is its text form; QTI 2.1 needs a
content package (a zip with a manifest) around every item, for the same five kinds.

The kinds map one to one: single choice = `multichoice` with `<single>true</single>` (the right option 100, the
others 0); multiple choice = `multichoice` with `<single>false</single>` (each right option 100/n, each wrong one
-100: only the exact set scores, as the kit grades it); true/false = `truefalse`; short answer = `shortanswer` (each
accepted answer 100); numeric = `numerical` (the answer 100 with its tolerance). Points are `<defaultgrade>`.
On import, `category` and `description` entries are skipped; other kinds (essay, matching, cloze…) and a
multichoice whose right answers the kit cannot grade exactly are refused with the question's number. Pictures are
neither written nor read yet (a question's picture stays on the kit).

Must not import web, cli or storage.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from appliance.errors import QuizPasteError
from appliance.services.learning.quiz_drafts import MAX_QUESTIONS, OPTION_FIELDS, DraftQuestion

MAX_FILE_BYTES = 2 * 2**20  # 50 questions of text are ~100 KB; a file this size is a question bank, not a quiz
SKIPPED = ("category", "description")
_TAGS = re.compile(r"<[^>]+>")
_CDATA_MARKS = re.compile(r"<!\[CDATA\[|\]\]>")
_FORBIDDEN = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)


def _number(value: float) -> str:
    return f"{value:g}"


def _text(parent: ET.Element, tag: str, value: str, fmt: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag, {"format": fmt} if fmt else {})
    ET.SubElement(element, "text").text = value
    return element


def _answer(question: ET.Element, fraction: float, text: str, extra: dict[str, str] | None = None) -> None:
    answer = ET.SubElement(question, "answer", {"fraction": _number(fraction), "format": "plain_text"})
    ET.SubElement(answer, "text").text = text
    for tag, value in (extra or {}).items():
        ET.SubElement(answer, tag).text = value
    _text(answer, "feedback", "", "html")


def export(title: str, questions: Sequence[dict[str, Any]]) -> bytes:
    """A Moodle XML question bank of the quiz: a category named after it, then its questions in order."""
    quiz = ET.Element("quiz")
    category = ET.SubElement(quiz, "question", {"type": "category"})
    _text(category, "category", f"$course$/top/{title}")
    for number, stored in enumerate(questions, start=1):
        kind = stored["kind"]
        moodle_type = {
            "single": "multichoice",
            "multiple": "multichoice",
            "true_false": "truefalse",
            "short": "shortanswer",
            "numeric": "numerical",
        }[kind]
        question = ET.SubElement(quiz, "question", {"type": moodle_type})
        prompt = stored["prompt"]
        _text(question, "name", f"{number}. {prompt[:60]}")
        _text(question, "questiontext", html.escape(prompt).replace("\n", "<br>"), "html")
        ET.SubElement(question, "defaultgrade").text = _number(float(stored.get("points", 1)))
        ET.SubElement(question, "penalty").text = "0"
        answer = stored["answer"]
        if kind in ("single", "multiple"):
            right = {answer} if kind == "single" else set(answer)
            ET.SubElement(question, "single").text = "true" if kind == "single" else "false"
            ET.SubElement(question, "shuffleanswers").text = "false"
            ET.SubElement(question, "answernumbering").text = "ABCD"
            for index, option in enumerate(stored["options"]):
                if kind == "single":
                    fraction = 100.0 if index in right else 0.0
                else:
                    fraction = round(100 / len(right), 5) if index in right else -100.0
                _answer(question, fraction, option)
        elif kind == "true_false":
            _answer(question, 100 if answer else 0, "true")
            _answer(question, 0 if answer else 100, "false")
        elif kind == "short":
            ET.SubElement(question, "usecase").text = "0"
            for accepted in answer:
                _answer(question, 100, accepted)
        else:
            _answer(question, 100, _number(float(answer)), {"tolerance": _number(float(stored.get("tolerance", 0)))})
    ET.indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="utf-8") + b"\n"


def _refused(*, code: str, problem: str, fix: str, number: int | None = None, **values: object) -> QuizPasteError:
    """The teacher's sentence (`error.<code>`) is filled with `number` and `values`."""
    where = f"Question {number}: " if number is not None else ""
    return QuizPasteError(
        f"{where}{problem}", fix=fix, code=code, values={"number": number or 0, **values}, field="file"
    )


def _plain(element: ET.Element | None) -> str:
    """The text of a <questiontext>/<answer> as a person reads it: tags dropped, entities decoded, lines kept."""
    if element is None:
        return ""
    node = element.find("text")
    raw = _CDATA_MARKS.sub("", (node.text if node is not None else element.text) or "")  # escaped by some writers
    if element.get("format", "html") in ("html", "moodle_auto_format", "markdown"):
        raw = re.sub(r"<br\s*/?>|</p>\s*<p[^>]*>", "\n", raw, flags=re.I)
        raw = html.unescape(_TAGS.sub("", raw))
    return raw.strip()


def _fraction(answer: ET.Element) -> float:
    try:
        return float(answer.get("fraction", "0"))
    except ValueError:
        return 0.0


def too_large(size: int) -> QuizPasteError:
    return _refused(
        code="quiz.moodle_too_large",
        problem=f"The file is {size / 2**20:.1f} MB; a quiz file is at most {MAX_FILE_BYTES // 2**20} MB.",
        fix="Export one quiz (or one category) from Moodle, not the whole question bank.",
    )


def read(data: bytes) -> tuple[str, list[DraftQuestion]]:
    """(the bank's category name, else "", the questions as the quiz form holds them); QuizPasteError when the file is
    not Moodle XML, is too large, holds no question the kit can grade, or holds one it cannot (with its number)."""
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    if _FORBIDDEN.search(data):  # no document type or entity: an XML "billion laughs" costs nothing here
        raise _refused(
            code="quiz.moodle_unreadable",
            problem="The file declares a document type or entities.",
            fix="Export the quiz from Moodle again.",
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise _refused(
            code="quiz.moodle_unreadable",
            problem=f"The file is not XML ({exc}).",
            fix="Choose the .xml file Moodle exported.",
        ) from exc
    if root.tag != "quiz":
        raise _refused(
            code="quiz.moodle_unreadable",
            problem=f"The file's root is <{root.tag}>, not <quiz>.",
            fix="Choose a Moodle XML question file.",
        )
    title, found = "", list[DraftQuestion]()
    for element in root.findall("question"):
        kind = element.get("type", "")
        if kind == "category":
            title = title or _plain(element.find("category")).rsplit("/", 1)[-1]
            continue
        if kind in SKIPPED:
            continue
        number = len(found) + 1
        if len(found) == MAX_QUESTIONS:
            raise _refused(
                code="quiz.moodle_too_many",
                problem=f"The file holds more than {MAX_QUESTIONS} questions.",
                fix="Split it into several quizzes.",
            )
        found.append(_question(element, kind, number))
    if not found:
        raise _refused(
            code="quiz.moodle_empty",
            problem="The file holds no question.",
            fix="Choose the .xml file Moodle exported from a quiz.",
        )
    return title, found


def _question(element: ET.Element, kind: str, number: int) -> DraftQuestion:
    prompt = _plain(element.find("questiontext"))
    points = (element.findtext("defaultgrade") or "1").strip()
    answers = [(_plain(a), _fraction(a), a) for a in element.findall("answer")]
    question = DraftQuestion(prompt=prompt, points=points)
    if kind == "multichoice":
        single = (element.findtext("single") or "true").strip().lower() in ("true", "1")
        options = [text for text, _, _ in answers]
        right = {index for index, (_, fraction, _) in enumerate(answers) if fraction > 0}
        if single and [f for _, f, _ in answers if f > 0] != [100.0]:
            raise _refused(
                code="quiz.moodle_single_right",
                problem="a single-choice question must have exactly one answer worth 100 %.",
                fix="Mark one answer 100 % in Moodle, or make it a multiple-choice question.",
                number=number,
            )
        question.kind = "single" if single else "multiple"
        question.options = options + [""] * max(0, OPTION_FIELDS - len(options))
        question.right = right
    elif kind == "truefalse":
        worth = [text.lower() for text, fraction, _ in answers if fraction >= 100]
        question.kind, question.tf = "true_false", {"true": "true", "false": "false"}.get(worth[0] if worth else "", "")
    elif kind == "shortanswer":
        accepted = [text for text, fraction, _ in answers if fraction >= 100]
        if len(accepted) != len([a for a in answers if a[1] > 0]):
            raise _refused(
                code="quiz.moodle_partial",
                problem="a short answer gives partial credit, which the kit does not grade.",
                fix="Give every accepted answer 100 % in Moodle.",
                number=number,
            )
        question.kind, question.accepted = "short", "\n".join(accepted)
    elif kind == "numerical":
        right_ones = [a for a in answers if a[1] >= 100]
        if len(right_ones) != 1:
            raise _refused(
                code="quiz.moodle_numeric_right",
                problem="a numeric question must have exactly one answer worth 100 %.",
                fix="Keep one right answer (with its tolerance) in Moodle.",
                number=number,
            )
        text, _, node = right_ones[0]
        question.kind, question.number = "numeric", text
        question.tolerance = (node.findtext("tolerance") or "0").strip()
    else:
        raise _refused(
            code="quiz.moodle_kind",
            problem=f"its kind {kind!r} is not one the kit grades (single or multiple choice, true/false, short answer, "
            "numeric).",
            fix="Remove it from the quiz in Moodle, or rewrite it as one of those kinds.",
            number=number,
            kind=kind,
        )
    return question
