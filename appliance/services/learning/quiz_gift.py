"""Moodle's GIFT quiz format (docs.moodle.org/en/GIFT_format), read into the quiz form's draft questions for
services/learning/quiz_paste.py. The kinds the kit grades: multiple choice (`{=right ~wrong}`, several right ones
with positive weights `{~%50%A ~%50%B ~%-100%C}`), true/false (`{T}`, `{FALSE}`), short answer (`{=雨 =降雨}`),
numeric (`{#3.5}`, `{#3.5:0.1}`, `{#3..4}`), and a missing word (`text {=a ~b} more text`, shown as "text ____
more text"). Matching (`->`), essays (`{}`), descriptions (no braces), several fully right answers to pick one
of, and partial credit on short or numeric answers are refused with their line: the kit cannot grade them.

Must not import web, cli or storage. Comments (`//`), `$CATEGORY:` lines, titles (`::title::`), format tags
(`[plain]`, `[html]`…) and feedback (`#…`, `####…`) are read and dropped.
"""

from __future__ import annotations

import re

from appliance.errors import QuizPasteError
from appliance.services.learning.quiz_drafts import DraftQuestion

TITLE = re.compile(r"^\s*::(.*?)::", re.S)
FORMAT_TAG = re.compile(r"^\s*\[(?:plain|html|moodle|markdown)\]", re.I)
WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
BLANK = "____"
SUPPORTED = "multiple choice, true/false, short answer, numeric and missing word"


def parse(lines: list[str], max_questions: int) -> list[tuple[int, DraftQuestion]]:
    """Each question of the GIFT text with the line it starts on; QuizPasteError at the first one the kit cannot
    read or grade, or when there are more than `max_questions`."""
    blocks = _blocks(lines)
    if len(blocks) > max_questions:
        raise QuizPasteError.too_many(len(blocks), max_questions)
    return [(line, _question(line, text, lines)) for line, text in blocks]


def _blocks(lines: list[str]) -> list[tuple[int, str]]:
    """(first line, text) of each question: questions are separated by blank lines; comments are dropped."""
    blocks: list[tuple[int, str]] = []
    start, held = 0, list[str]()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("//") or stripped.upper().startswith("$CATEGORY:"):
            continue
        if not stripped:
            if held:
                blocks.append((start, "\n".join(held)))
            held = []
            continue
        if not held:
            start = number
        held.append(line)
    if held:
        blocks.append((start, "\n".join(held)))
    return blocks


def _unsupported(line: int, lines: list[str], what: str) -> QuizPasteError:
    return QuizPasteError.at(
        line,
        lines[line - 1],
        f"{what}: the kit grades only {SUPPORTED} questions",
        fix="Remove this question or write it as one of those kinds.",
        code="quiz.paste_gift_unsupported",
    )


def _question(line: int, text: str, lines: list[str]) -> DraftQuestion:
    text = FORMAT_TAG.sub("", TITLE.sub("", text, count=1), count=1)
    opening, closing = _find(text, "{"), _find(text, "}")
    if opening < 0 and closing < 0:
        raise _unsupported(line, lines, "this is a description without an answer in { }")
    if opening < 0 or closing < opening or _find(text, "{", opening + 1) >= 0:
        raise QuizPasteError.at(
            line,
            lines[line - 1],
            "the question's { and } do not pair up (one answer in { } per question)",
            fix="Put the answers between one { and one }; write \\{ or \\} for a brace in the text.",
            code="quiz.paste_gift_braces",
        )
    after = text[closing + 1 :].strip()
    prompt = text[:opening].strip() + (f" {BLANK} {after}" if after else "")
    question = DraftQuestion(prompt=_plain(prompt), options=[], points="1")
    _answers(question, text[opening + 1 : closing], line, lines)
    return question


def _answers(question: DraftQuestion, body: str, line: int, lines: list[str]) -> None:
    body = _cut(body, "####").strip()  # general feedback
    if not body:
        raise _unsupported(line, lines, "an essay question ({})")
    if body.startswith("#"):
        _numeric(question, body[1:], line, lines)
        return
    truth = _plain(_cut(body, "#")).upper()
    if truth in ("T", "TRUE", "F", "FALSE"):
        question.kind, question.tf = "true_false", "true" if truth.startswith("T") else "false"
        return
    if _find(body, "->") >= 0:
        raise _unsupported(line, lines, "a matching question (->)")
    answers = _split(body)
    if not answers:
        raise _unsupported(line, lines, "answers not marked with = or ~")
    right = [n for n, (mark, weight, _) in enumerate(answers) if mark == "=" or (weight or 0) > 0]
    full = [n for n, (mark, weight, _) in enumerate(answers) if mark == "=" and weight in (None, 100)]
    texts = [text for _, _, text in answers]
    if all(mark == "=" for mark, _, _ in answers):
        if len(full) != len(answers):
            raise _unsupported(line, lines, "a short answer with partial credit (=%50%…)")
        question.kind, question.accepted = "short", "\n".join(texts)
        return
    if len(full) > 1 or (full and len(right) > len(full)):
        raise _unsupported(line, lines, "several fully right answers to pick one of, or partial credit beside one")
    question.kind = "single" if len(right) == 1 else "multiple"
    question.options, question.right = texts, set(right)


def _numeric(question: DraftQuestion, body: str, line: int, lines: list[str]) -> None:
    answers = _split(body) if body.lstrip().startswith("=") else [("=", None, _cut(body, "#").strip())]
    full = [text for _, weight, text in answers if weight in (None, 100)]
    if len(full) != 1 or len(answers) != 1:
        raise _unsupported(line, lines, "a numeric question with several answers or partial credit")
    value = full[0]
    if ".." in value:
        low, _, high = value.partition("..")
        question.number, question.tolerance = _range(low, high)
    else:
        number, _, tolerance = value.partition(":")
        question.number, question.tolerance = number.strip(), tolerance.strip() or "0"
    question.kind = "numeric"


def _range(low: str, high: str) -> tuple[str, str]:
    """{#3..4} as the middle and half the width (check_question refuses what is not a number)."""
    try:
        a, b = float(low), float(high)
    except ValueError:
        return f"{low}..{high}", "0"
    return f"{(a + b) / 2:g}", f"{abs(b - a) / 2:g}"


def _split(body: str) -> list[tuple[str, float | None, str]]:
    """(= or ~, weight percent or None, text without feedback) of each answer."""
    found, mark, start = [], "", 0
    for i in range(len(body) + 1):
        if i == len(body) or (body[i] in "=~" and not _escaped(body, i)):
            if mark:
                found.append(_answer(mark, body[start:i]))
            if i < len(body):
                mark, start = body[i], i + 1
    return found


def _answer(mark: str, raw: str) -> tuple[str, float | None, str]:
    raw = _cut(raw, "#").strip()
    weight = WEIGHT.match(raw)
    if weight:
        raw = raw[weight.end() :].strip()
    return mark, float(weight.group(1)) if weight else None, _plain(raw)


def _escaped(text: str, i: int) -> bool:
    backslashes = 0
    while i - backslashes - 1 >= 0 and text[i - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _find(text: str, what: str, start: int = 0) -> int:
    """The index of the first unescaped `what` from `start`, or -1."""
    i = text.find(what, start)
    while i >= 0 and _escaped(text, i):
        i = text.find(what, i + 1)
    return i


def _cut(text: str, what: str) -> str:
    """`text` up to the first unescaped `what` (feedback starts with #)."""
    i = _find(text, what)
    return text if i < 0 else text[:i]


def _plain(text: str) -> str:
    """GIFT's escapes undone: \\~ \\= \\# \\{ \\} \\: and \\n."""
    return re.sub(r"\\([~=#{}:\\n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), text).strip()
