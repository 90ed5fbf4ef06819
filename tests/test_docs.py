"""Docs that must not fall behind the code: every error code documented and translated."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.webcore.i18n import SUPPORTED
from tests.test_messages import texts

ROOT = Path(__file__).parents[1]
# Every language's catalogue of the kit's domain, which holds every error code's sentence (docs/translating.md).
MESSAGES = {lang: texts("tpkit", lang) for lang in SUPPORTED}


def _error_codes() -> set[str]:
    codes = set()
    for path in (ROOT / "appliance").rglob("*.py"):
        codes |= set(re.findall(r'\bcode(?:\s*=\s*|=)"([a-z_.]+)"', path.read_text()))
    return codes


def test_docs_every_error_code_is_documented():
    doc = (ROOT / "docs" / "errors.md").read_text()
    missing = sorted(code for code in _error_codes() if f"`{code}`" not in doc)
    assert missing == [], f"add these codes to docs/errors.md: {missing}"


def test_docs_every_error_code_is_translated():
    for lang, table in MESSAGES.items():
        missing = sorted(
            code for code in _error_codes() - {"config.invalid", "storage.failed"} if f"error.{code}" not in table
        )
        assert missing == [], f"add error.<code> messages for {lang}: {missing}"


def test_docs_both_languages_have_the_same_messages():
    assert set(MESSAGES["en"]) == set(MESSAGES["zh"])


def test_docs_every_health_problem_code_is_documented_and_translated():
    from appliance.services.device.health import PROBLEM_CODES

    doc = (ROOT / "docs" / "health.md").read_text()
    assert [code for code in PROBLEM_CODES if f"`{code}`" not in doc] == []
    for lang, table in MESSAGES.items():
        missing = [
            key for code in PROBLEM_CODES for key in (f"problem.{code}", f"problem.{code}.fix") if key not in table
        ]
        assert missing == [], f"add {lang} messages: {missing}"
