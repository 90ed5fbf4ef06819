"""A whole quiz pasted as text (issue 16, "Quizzes in minutes"): the plain format a teacher types in Word, WPS or on a
phone, and Moodle's GIFT (services/learning/quiz_gift.py), read into the quiz form's draft questions, each with the
line it starts on. docs/field-guide.md ("Pasting a quiz") shows both.

Must not import web, cli or storage. Pure text work: a QuizPasteError names the first line at fault.

The plain format, one question after another, a blank line (or the next number) between them:

    1. 植物从空气中吸收哪种气体？          a numbered question (1. 1． 1、 (1) 第1题), one line or more
    A. 氧气                                options A–J (A. A． A、 A) (A)), the right one(s) marked * (or √)
    B. 二氧化碳 *
    答案：B                                or the answer on its own line: letters (AC, A、C), 对/错 (true/false),
                                           a number (3.5, 3.5±0.1), or accepted words 降雨|雨
    分值：2                                points (optional, default 1)
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from appliance.errors import QuizPasteError
from appliance.services.learning import quiz_gift
from appliance.services.learning.quiz_drafts import MAX_QUESTIONS, DraftQuestion
from appliance.typed_numbers import parse_number

# A 50-question quiz with long prompts is ~20,000 characters; five times that is a pasted document, not a quiz.
# Checked before anything is parsed, so a megabyte of text costs one len().
MAX_PASTE_CHARS = 100_000

NUMBERED = re.compile(r"^\s*(?:第\s*)?[(（]?\s*[0-9０-９]{1,3}\s*(?:[)）]|[.．。、:：](?![0-9０-９])|题)\s*")
OPTION = re.compile(r"^\s*([*＊]\s*)?[(（]?\s*([A-Ja-jＡ-Ｊａ-ｊ])\s*(?:[)）]|[.．。、:：])\s*(.*?)\s*$")
# Where a line of options holds the next one: spaces, then a capital B–J and its mark ("  B. ", " （C）").
INLINE_OPTIONS = re.compile(r"\s+(?=[(（]?[B-JＢ-Ｊ]\s*(?:[)）]|[.．、:：])\s*\S)")
RIGHT_MARK = re.compile(r"\s*[*＊√✓✔]\s*$")
ANSWER = re.compile(r"^\s*[【\[]?\s*(?:正确答案|参考答案|答案|answer)\s*(?:[】\]]\s*[:：]?|[:：])\s*(.*?)\s*$", re.I)
POINTS = re.compile(r"^\s*[【\[]?\s*(?:分值|分数|points?)\s*(?:[】\]]\s*[:：]?|[:：])\s*(.*?)\s*(?:分)?\s*$", re.I)
LETTER_SEPARATORS = re.compile(r"[\s,，、;；和及]+|and", re.I)
ALTERNATIVES = re.compile(r"[|｜]")
TOLERANCE = re.compile(r"±|\+-|\+/-|误差")
TRUE_WORDS = {"对", "正确", "是", "√", "✓", "✔", "t", "true", "yes"}
FALSE_WORDS = {"错", "错误", "否", "不对", "×", "✗", "✘", "f", "false", "no"}


Pasted = tuple[
    int, DraftQuestion
]  # a question read from the text: the line it starts on (1-based), as the form holds it


def parse(text: str, fmt: str) -> list[Pasted]:
    """The questions of a pasted quiz in `fmt` ("plain" or "gift"); QuizPasteError at the first problem, or when the
    text is too long, holds no question or more than MAX_QUESTIONS."""
    if len(text) > MAX_PASTE_CHARS:
        raise too_long(f"{len(text):,} characters")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = quiz_gift.parse(lines, MAX_QUESTIONS) if fmt == "gift" else _plain(lines)
    if not found:
        raise QuizPasteError(
            "No question was found in the pasted text.",
            fix="Paste the questions, a blank line between two questions (see the example on the page).",
            code="quiz.paste_empty",
        )
    return found


def too_long(size: str) -> QuizPasteError:
    """The refusal of a text over MAX_PASTE_CHARS; `size` says how much was sent."""
    return QuizPasteError(
        f"The pasted text has {size}; a quiz may have at most {MAX_PASTE_CHARS:,} characters.",
        fix="Paste only the questions of one quiz (at most 50).",
        code="quiz.paste_too_long",
        values={"max_chars": MAX_PASTE_CHARS},
    )


# --- the plain format ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Block:
    line: int
    prompt: list[str] = dataclasses.field(default_factory=list)
    options: list[tuple[int, str, bool]] = dataclasses.field(default_factory=list)  # (line, text, marked right)
    answer: tuple[int, str] | None = None
    points: tuple[int, str] | None = None

    @property
    def has_answer_part(self) -> bool:
        return bool(self.options) or self.answer is not None


def _plain(lines: list[str]) -> list[Pasted]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            current = None
            continue
        if current is None or (current.has_answer_part and NUMBERED.match(line)):
            current = _Block(number)
            blocks.append(current)
        _read_line(current, number, line)
    if len(blocks) > MAX_QUESTIONS:  # refused before any question is read further
        raise QuizPasteError.too_many(len(blocks), MAX_QUESTIONS)
    return [_question(block, lines) for block in blocks]


def _read_line(block: _Block, number: int, line: str) -> None:
    answer, points = ANSWER.match(line), POINTS.match(line)
    option = OPTION.match(line) if block.prompt else None
    if answer:
        block.answer = (number, answer.group(1))
    elif points:
        block.points = (number, points.group(1))
    elif option and (option.group(3) or block.options):
        _read_options(block, number, line)
    elif block.options or block.answer is not None:
        raise QuizPasteError.at(
            number,
            line,
            "this line comes after the options or the answer of a question, but it is neither an option, an "
            "answer nor a new numbered question",
            fix="Leave a blank line before the next question, or write the option as 'C. …'.",
            code="quiz.paste_stray_line",
        )
    else:
        block.prompt.append(NUMBERED.sub("", line, count=1).strip() if not block.prompt else line.strip())


def _read_options(block: _Block, number: int, line: str) -> None:
    """One option, or several on one line as exam papers print them ("A. 氧气  B. 二氧化碳 *  C. 氮气")."""
    for piece in INLINE_OPTIONS.split(line):
        option = OPTION.match(piece)
        if option is None:
            continue
        text, right = option.group(3), bool(option.group(1))
        if RIGHT_MARK.search(text):
            text, right = RIGHT_MARK.sub("", text), True
        block.options.append((number, text, right))


def _question(block: _Block, lines: list[str]) -> Pasted:
    first = lines[block.line - 1]
    if not any(block.prompt):
        raise QuizPasteError.at(
            block.line,
            first,
            "the question has no text before its options or answer",
            fix="Write the question on the line before the options.",
            code="quiz.paste_no_prompt",
        )
    question = DraftQuestion(prompt="\n".join(p for p in block.prompt if p), options=[], points="1")
    if block.points:
        question.points = unicodedata.normalize("NFKC", block.points[1]).strip()
    if block.options:
        _choice(question, block, lines)
    elif block.answer is not None:
        _typed_answer(question, block.answer[1])
    else:
        raise QuizPasteError.at(
            block.line,
            first,
            "the question has no answer: no option is marked right and there is no answer line",
            fix="Mark the right option with * (e.g. 'B. 二氧化碳 *') or add a line '答案：B'.",
            code="quiz.paste_no_answer",
        )
    return block.line, question


def _choice(question: DraftQuestion, block: _Block, lines: list[str]) -> None:
    question.options = [text for _, text, _ in block.options]
    if block.answer is not None:
        line, given = block.answer
        letters = [c for c in LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", given).upper()) if c]
        right = {ord(c) - ord("A") for c in letters}
        if not letters or any(not 0 <= r < len(block.options) for r in right):
            raise QuizPasteError.at(
                line,
                lines[line - 1],
                f"the answer {given!r} is not the letter of one of the {len(block.options)} options",
                fix="Write the letter(s) of the right option(s), e.g. '答案：B' or '答案：AC'.",
                code="quiz.paste_bad_answer",
                options=len(block.options),
            )
    else:
        right = {n for n, (_, _, marked) in enumerate(block.options) if marked}
    if not right:
        raise QuizPasteError.at(
            block.line,
            lines[block.line - 1],
            "no option of this question is marked right",
            fix="Mark the right option with * (e.g. 'B. 二氧化碳 *') or add a line '答案：B'.",
            code="quiz.paste_no_answer",
        )
    question.kind = "multiple" if len(right) > 1 else "single"
    question.right = right


def _typed_answer(question: DraftQuestion, given: str) -> None:
    """An answer line without options: true/false, a number (with a tolerance), else accepted words."""
    plain = unicodedata.normalize("NFKC", given).strip()
    if plain.casefold() in TRUE_WORDS or plain.casefold() in FALSE_WORDS:
        question.kind, question.tf = "true_false", "true" if plain.casefold() in TRUE_WORDS else "false"
        return
    parts = TOLERANCE.split(plain, maxsplit=1)
    if parse_number(parts[0]) is not None and (len(parts) == 1 or parse_number(parts[1]) is not None):
        question.kind, question.number = "numeric", parts[0].strip()
        question.tolerance = parts[1].strip() if len(parts) > 1 else "0"
        return
    question.kind = "short"
    question.accepted = "\n".join(a.strip() for a in ALTERNATIVES.split(given) if a.strip())
