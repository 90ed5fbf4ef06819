"""A county's curriculum map (`--curriculum MAP.toml`): checked whole, every problem listed, and turned into the
`tpkit/curriculum.json` a book carries (docs/textbook-units.md, "The curriculum map").

Must not import web or cli.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from appliance.errors import PackError
from appliance.services.packing import positions
from appliance.services.packing.manifest import problems_error

FORMAT = 1
_TOP = {"editions", "subjects", "units"}
_UNIT_KEYS = {"edition", "grade", "volume", "subject", "unit", "zh", "en", "lessons"}
_LESSON_KEYS = {"lesson", "zh", "en"}


def read(path: Path) -> dict:
    """The map as the JSON object books carry; PackError listing every problem when it has any."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PackError(
            f"The curriculum map {path} does not exist.", fix="Check the path given to --curriculum."
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise problems_error(path, [f"it is not valid TOML: {exc}"]) from exc
    problems = [f"unknown key {key!r}: the map has editions, subjects and units" for key in sorted(set(data) - _TOP)]
    result = {
        "format": FORMAT,
        "editions": _named_ids(data.get("editions", {}), "editions", "edition", problems),
        "subjects": _named_ids(data.get("subjects", {}), "subjects", "subject", problems),
        "units": _units(data.get("units", []), problems),
    }
    if not problems and not result["units"]:
        problems.append("it names no unit: add a [[units]] table for each unit of the textbook")
    if problems:
        raise problems_error(path, problems)
    return result


def _names(table: object, where: str, keys: set[str], problems: list[str]) -> dict[str, str]:
    """The zh and en names of a table; a problem for each missing one or unknown key."""
    if not isinstance(table, dict):
        problems.append(f'{where} is not a table: write it with zh = "…" and en = "…"')
        return {}
    for key in sorted(set(table) - keys):
        problems.append(f"{where} has an unknown key {key!r}: the keys are {', '.join(sorted(keys))}")
    names = {}
    for language in ("zh", "en"):
        value = table.get(language)
        if isinstance(value, str) and value.strip():
            names[language] = value.strip()
        else:
            problems.append(f'{where} has no {language} name: write {language} = "…"')
    return names


def _named_ids(tables: object, section: str, key: str, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(tables, dict):
        problems.append(f"{section} is not a table: write [{section}.<id>] headings")
        return {}
    named = {}
    for ident, table in sorted(tables.items()):
        problem = positions.value_problem(key, ident)
        if problem:
            problems.append(f"[{section}.{ident}]: {problem}")
        named[ident] = _names(table, f"[{section}.{ident}]", {"zh", "en"}, problems)
    return named


def _units(units: object, problems: list[str]) -> list[dict]:
    if not isinstance(units, list):
        problems.append("units is not a list: write each unit under its own [[units]] line")
        return []
    checked, seen = [], set()
    for number, unit in enumerate(units, start=1):
        where = f"[[units]] {number}"
        names = _names(unit, where, _UNIT_KEYS, problems)
        if not isinstance(unit, dict):
            continue
        position = _unit_position(unit, where, problems)
        key = tuple(position.get(k) for k in positions.KEYS)
        if len(position) == 5 and key in seen:
            problems.append(f"{where}: the same unit is named twice: keep one [[units]] table for it")
        seen.add(key)
        lessons = _lessons(unit.get("lessons", []), where, problems)
        checked.append({**position, **names, "lessons": lessons})
    return checked


def _unit_position(unit: dict, where: str, problems: list[str]) -> dict[str, int | str]:
    position: dict[str, int | str] = {}
    for key in positions.KEYS[:5]:
        if key not in unit:
            problems.append(
                f"{where}: {key} is missing: a unit of the map names its edition, grade, volume and subject"
            )
        elif problem := positions.value_problem(key, unit[key]):
            problems.append(f"{where}: {problem}")
        else:
            position[key] = unit[key]
    return position


def _lessons(lessons: object, where: str, problems: list[str]) -> list[dict]:
    if not isinstance(lessons, list):
        problems.append(f'{where}: lessons is not a list: write lessons = [{{ lesson = 1, zh = "…", en = "…" }}]')
        return []
    checked = []
    for number, lesson in enumerate(lessons, start=1):
        here = f"{where}, lesson {number}"
        names = _names(lesson, here, _LESSON_KEYS, problems)
        if not isinstance(lesson, dict):
            continue
        if problem := positions.value_problem("lesson", lesson.get("lesson")):
            problems.append(f"{here}: {problem}")
            continue
        checked.append({"lesson": lesson["lesson"], **names})
    return checked
