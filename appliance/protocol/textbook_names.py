"""The built-in names of textbook positions (docs/textbook-units.md): editions and subjects a county's curriculum map
need not name, and how a grade, volume and unit are written, in Chinese and English. The kit and the hub both show
positions; neither imports the other, so the table lives here. Imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

EDITIONS = {
    "rjb": {"zh": "人教版", "en": "PEP edition"},
    "bsd": {"zh": "北师大版", "en": "BNU edition"},
    "sjb": {"zh": "苏教版", "en": "Jiangsu edition"},
    "bbb": {"zh": "部编版", "en": "National edition"},
    "wyb": {"zh": "外研版", "en": "FLTRP edition"},
}
SUBJECTS = {
    "chinese": {"zh": "语文", "en": "Chinese"},
    "math": {"zh": "数学", "en": "Mathematics"},
    "english": {"zh": "英语", "en": "English"},
    "science": {"zh": "科学", "en": "Science"},
    "morality": {"zh": "道德与法治", "en": "Morality and law"},
    "music": {"zh": "音乐", "en": "Music"},
    "art": {"zh": "美术", "en": "Art"},
    "pe": {"zh": "体育", "en": "Physical education"},
}
_DIGITS = "零一二三四五六七八九"
_FORMS = {  # (grade, unit, lesson) as written
    "zh": ("{n}年级", "第{n}单元", "第{n}课"),
    "en": ("Grade {n}", "Unit {n}", "Lesson {n}"),
}
_VOLUMES = {"zh": ("上册", "下册"), "en": ("Book 1", "Book 2")}


def chinese_number(n: int) -> str:
    """1-99 in Chinese numerals, as a unit is written: 2 → 二, 12 → 十二, 20 → 二十."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def name(key: str, value: object, language: str) -> str:
    """One key of a position as a reader sees it (人教版, 三年级, 上册, 数学, 第二单元, 第1课); an edition or subject
    without a built-in name is shown by its id."""
    lang = "zh" if language.startswith("zh") else "en"
    table = {"edition": EDITIONS, "subject": SUBJECTS}.get(key)
    if table is not None:
        return table.get(str(value), {}).get(lang, str(value))
    if key == "volume":
        return _VOLUMES[lang][int(str(value)) - 1]  # checked by protocol/shared_lesson: 1 or 2
    form = dict(zip(("grade", "unit", "lesson"), _FORMS[lang]))[key]
    if lang == "zh" and key in ("grade", "unit"):
        return form.format(n=chinese_number(int(str(value))))
    return form.format(n=value)


def place(position: Mapping[str, object], language: str, keys: tuple[str, ...]) -> str:
    """The named keys of a position that are given, joined as a reader writes them (人教版 三年级 上册 数学)."""
    return " ".join(name(key, position[key], language) for key in keys if position.get(key) is not None)
