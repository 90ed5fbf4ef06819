"""The message catalogues (docs/translating.md): every .po parses with Babel with nothing fuzzy, empty or obsolete;
every language holds the same keys with the same placeholders; every key that code and templates use (extracted
with Babel, as `./build.sh messages` does) is in the catalogues, and nothing else is; keys built at run time are
declared (web/i18n.py, hub/i18n.py) and cover the codes they are built from; the compiled .mo files are current."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from appliance.webcore.i18n import SUPPORTED, locale_dir

ROOT = Path(__file__).parents[1]
# domain: (mapping file, folder it is relative to, extra keywords), as in build.sh's cmd_messages
DOMAINS = {"tpkit": ("babel.cfg", "appliance", ()), "hub": ("babel-hub.cfg", "appliance/hub", ("t",))}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
FIX = "Fix: run ./build.sh messages, fill in what it leaves empty (docs/translating.md)."


def catalogue(domain: str, lang: str) -> Catalog:
    with (locale_dir() / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as file:
        return read_po(file, abort_invalid=True)


def texts(domain: str, lang: str) -> dict[str, str]:
    """Key → text of one language's catalogue."""
    return {message.id: message.string for message in catalogue(domain, lang) if message.id}


def used(domain: str) -> set[str]:
    """Every key extracted from the domain's code and templates, with Babel and the domain's mapping file."""
    mapping, folder, extra = DOMAINS[domain]
    with (ROOT / mapping).open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    keywords = {**DEFAULT_KEYWORDS, **{name: None for name in extra}}
    return {found[2] for found in extract_from_dir(str(ROOT / folder), method_map, options_map, keywords)}


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("lang", SUPPORTED)
def test_messages_catalogue_parses_with_nothing_fuzzy_empty_or_obsolete(domain, lang):
    found = catalogue(domain, lang)
    assert not found.fuzzy, f"{domain}.po ({lang}): the header is marked fuzzy. {FIX}"
    assert [m.id for m in found if m.id and m.fuzzy] == [], f"fuzzy messages in {domain}.po ({lang}). {FIX}"
    assert [m.id for m in found if m.id and not m.string] == [], f"empty messages in {domain}.po ({lang}). {FIX}"
    assert list(found.obsolete) == [], f"obsolete messages in {domain}.po ({lang}). {FIX}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_messages_every_language_has_the_same_keys_and_placeholders(domain):
    english = texts(domain, "en")
    for lang in SUPPORTED:
        other = texts(domain, lang)
        assert set(other) == set(english), f"{domain}.po: {lang} and en differ: {sorted(set(other) ^ set(english))}"
        wrong = [
            key
            for key, text in english.items()
            if sorted(PLACEHOLDER.findall(other[key])) != sorted(PLACEHOLDER.findall(text))
        ]
        assert wrong == [], f"{domain}.po ({lang}): placeholders differ from English in {wrong}"


def test_messages_the_kit_uses_every_key_of_its_catalogue_and_no_other():
    keys, found = set(texts("tpkit", "en")), used("tpkit")
    assert sorted(found - keys) == [], f"used but not in tpkit.po. {FIX}"
    assert sorted(keys - found) == [], (
        "in tpkit.po but used nowhere: delete them, or declare keys built at run "
        "time with N_() in appliance/web/i18n.py"
    )


def test_messages_the_hub_uses_every_key_of_its_catalogue_and_finds_the_rest_in_the_kits():
    keys, found = set(texts("hub", "en")), used("hub")
    assert sorted(found - keys - set(texts("tpkit", "en"))) == [], f"used but in neither hub.po nor tpkit.po. {FIX}"
    assert sorted(keys - found) == [], (
        "in hub.po but used nowhere: delete them, or declare keys built at run time with N_() in appliance/hub/i18n.py"
    )


@pytest.mark.parametrize("domain", DOMAINS)
def test_messages_template_and_compiled_files_are_current(domain):
    with (locale_dir() / f"{domain}.pot").open("rb") as file:
        assert {m.id for m in read_po(file) if m.id} == used(domain), f"{domain}.pot is stale. {FIX}"
    for lang in SUPPORTED:
        compiled = io.BytesIO()
        write_mo(compiled, catalogue(domain, lang))  # as `pybabel compile` does
        mo = locale_dir() / lang / "LC_MESSAGES" / f"{domain}.mo"
        assert mo.read_bytes() == compiled.getvalue(), f"{mo} is not compiled from its .po. {FIX}"


def test_messages_keys_built_at_run_time_cover_the_codes_they_are_built_from():
    from appliance.hub import alerts, charts, fleet
    from appliance.protocol.report_file import KINDS as REPORT_KINDS
    from appliance.services.device.health import PROBLEM_CODES
    from appliance.services.learning import lessons, quiz_marking
    from appliance.services.people import picture_codes

    kit = used("tpkit")
    wanted = [f"problem.{code}{end}" for code in PROBLEM_CODES for end in ("", ".fix")]
    wanted += [f"picture.{name}" for name in picture_codes.PICTURES]
    wanted += [f"{family}.{kind}" for kind in picture_codes.KINDS for family in ("pictures.kind", "pictures.switch_to")]
    wanted += [f"state.{state}" for state in lessons.STATES] + [f"quiz.kind.{kind}" for kind in quiz_marking.KINDS]
    assert [key for key in wanted if key not in kit] == [], "declare them with N_() in appliance/web/i18n.py"
    hub = used("hub")
    wanted = [f"status.{status}" for status in alerts.STATUSES] + [f"sort.{sort}" for sort in fleet.SORTS]
    wanted += [f"kind.{kind}" for kind in REPORT_KINDS] + [title for title, _, _ in charts.SPECS]
    wanted += [unit for _, unit, _ in charts.SPECS if unit.startswith("unit.")]
    wanted += re.findall(r'"(alert\.[a-z_.]*[a-z_])"', (ROOT / "appliance/hub/alerts.py").read_text())
    wanted += ["alert.under_voltage.now", "alert.under_voltage.since_boot"]  # built as "alert.under_voltage." + when
    assert [key for key in wanted if key not in hub] == [], "declare them with N_() in appliance/hub/i18n.py"
