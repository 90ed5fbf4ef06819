"""Language names in their own language, for ISO 639-3 codes used in ZIM `Language` metadata.

Imports nothing from the package. Unknown codes are shown as the code itself (never guessed).
"""

from __future__ import annotations

SELF_NAMES = {
    "eng": "English",
    "zho": "中文",
    "chi": "中文",
    "en": "English",
    "zh": "中文",
    "bod": "བོད་ཡིག",
    "uig": "ئۇيغۇرچە",
    "mon": "Монгол",
    "kor": "한국어",
    "jpn": "日本語",
    "fra": "Français",
    "spa": "Español",
    "por": "Português",
    "deu": "Deutsch",
    "rus": "Русский",
    "ara": "العربية",
    "hin": "हिन्दी",
    "vie": "Tiếng Việt",
    "tha": "ไทย",
    "bel": "беларуская",
    "ita": "Italiano",
    "swa": "Kiswahili",
    "ind": "Bahasa Indonesia",
    "msa": "Bahasa Melayu",
}


def language_name(code: str) -> str:
    """The self-name of a language code, or the code when it is not in the table."""
    return SELF_NAMES.get(code, code)
