"""Children in the order a Chinese teacher expects: by 学号 when the class has them (numbers compared as numbers: 2
before 10), else by the pinyin of the name without tones (张伟 zhang wei), then by tone, then by the characters
(homophones); a Latin name (Li Lei) among them by its letters. Surnames with a reading of their own are read as
surnames (曾 zeng, 单 shan, 解 xie), which pypinyin does not do by itself.

Storage lists a class's students in no particular order; every page and file that lists children asks this module
(docs/learning-space.md says the rule). Must not import web, hub or cli.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from appliance.edges import pinyin
from appliance.storage.people import People

# Surnames whose reading differs from the character's usual one, as pinyin with tone numbers. Compound surnames
# first: 单于 is chan yu, not shan yu.
SURNAMES = {
    "单于": ("chan2", "yu2"),
    "尉迟": ("yu4", "chi2"),
    "万俟": ("mo4", "qi2"),
    "长孙": ("zhang3", "sun1"),
    "澹台": ("tan2", "tai2"),
    "曾": ("zeng1",),
    "单": ("shan4",),
    "解": ("xie4",),
    "仇": ("qiu2",),
    "朴": ("piao2",),
    "区": ("ou1",),
    "查": ("zha1",),
    "盖": ("ge3",),
    "乐": ("yue4",),
    "缪": ("miao4",),
    "翟": ("zhai2",),
    "覃": ("qin2",),
    "重": ("chong2",),
    "秘": ("bi4",),
    "华": ("hua4",),
    "过": ("guo1",),
    "种": ("chong2",),
    "繁": ("po2",),
    "宿": ("su4",),
    "沈": ("shen3",),
    "柏": ("bai3",),
    "薄": ("bo2",),
    "任": ("ren2",),
    "员": ("yun4",),
    "阚": ("kan4",),
    "折": ("she2",),
    "那": ("na1",),
    "贾": ("jia3",),
    "都": ("du1",),
    "六": ("lu4",),
    "藏": ("zang4",),
    "召": ("shao4",),
    "句": ("gou1",),
    "冼": ("xian3",),
    "燕": ("yan1",),
    "纪": ("ji3",),
    "尉": ("wei4",),
    "隗": ("wei3",),
    "能": ("nai4",),
    "叶": ("ye4",),
    "石": ("shi2",),
    "车": ("che1",),
    "朝": ("chao2",),
}
LETTER_BAR_FROM = 13  # children in a class before its name page shows a letter bar
KEYS_CACHED = 4096  # names whose key is kept (a kit has a few hundred children)
_DIGITS = re.compile(r"(\d+)")
_LETTERS = re.compile(r"[^\W\d_]+|\d+")


@functools.lru_cache(maxsize=KEYS_CACHED)
def name_key(name: str) -> tuple:
    """The sort key of a name: (syllables without tones, tones, the name itself)."""
    text = name.strip()
    head: tuple[str, ...] = ()
    for surname, reading in SURNAMES.items():
        if text.startswith(surname) and len(text) > len(surname):
            head, text = reading, text[len(surname) :]
            break
    sounds, tones = [], []
    for part in [*head, *pinyin.syllables(text)]:
        if part[-1:].isdigit() and part[:-1].isascii() and part[:-1].isalpha():
            sounds.append(part[:-1])
            tones.append(int(part[-1]))
        else:  # Latin letters, digits or signs: by their words, lower case
            words = [w.casefold() for w in _LETTERS.findall(part)]
            sounds += words
            tones += [0] * len(words)
    return tuple(sounds), tuple(tones), name


def number_key(number: str | None) -> tuple:
    """A 学号 compared as people read it: the digits in it as numbers ("2" before "10", "S2" before "S10"); a
    child without one after those with one."""
    if not number or not number.strip():
        return (1,)
    parts = _DIGITS.split(number.strip().casefold())
    return (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


def by_number(students: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the class is listed by 学号 (some child of it has one) rather than by name."""
    return any((s["student_number"] or "").strip() for s in students)


def class_order(students: Sequence[Any]) -> list[Any]:
    """A class's students (rows with `display_name`, `student_number` and `id`) in the class's order."""
    numbered = by_number(students)
    return sorted(
        students,
        key=lambda s: (number_key(s["student_number"]) if numbered else (), name_key(s["display_name"]), s["id"]),
    )


def students_of(people: People, class_id: int) -> list[Any]:
    """The students of a class in the class's order (storage lists them in no particular order)."""
    return class_order(people.students_of(class_id))


def initial(name: str) -> str:
    """The letter a name is found under on the children's page: its pinyin's first letter, A–Z; "#" otherwise."""
    sounds = name_key(name)[0]
    first = sounds[0][:1].upper() if sounds else ""
    return first if "A" <= first <= "Z" else "#"


def letter_bar(students: Sequence[Any]) -> list[tuple[str, Any]]:
    """(letter, the first student under it) for the letter bar of the children's name page, in class order: only for
    a class listed by name with at least LETTER_BAR_FROM children. A class listed by 学号 has none (its letters
    would be scattered); the page never shows the numbers (docs/learning-space.md: only display names are public)."""
    if len(students) < LETTER_BAR_FROM or by_number(students):
        return []
    firsts: dict[str, Any] = {}
    for student in students:
        firsts.setdefault(initial(student["display_name"]), student)
    return list(firsts.items())
