"""Language names in their own language, for the codes of ZIM `Language` metadata: ISO 639-3 (`eng`, `zho`), as
the ZIM spec asks, but books in the wild also say ISO 639-1 (`en`), 639-2/B (`chi`) or a tag (`zh-CN`); `same_as`
makes one code of them, so `en` and `eng` are one language wherever books are listed or filtered by language.

Imports nothing from the package. Unknown codes are shown as the code itself (never guessed).
"""

from __future__ import annotations

SELF_NAMES = {
    "eng": "English",
    "zho": "中文",
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


# ISO 639-1 and 639-2/B codes of the languages above, as their ISO 639-3 code.
OTHER_CODES = {
    "en": "eng",
    "zh": "zho",
    "chi": "zho",
    "bo": "bod",
    "tib": "bod",
    "ug": "uig",
    "mn": "mon",
    "ko": "kor",
    "ja": "jpn",
    "fr": "fra",
    "fre": "fra",
    "es": "spa",
    "pt": "por",
    "de": "deu",
    "ger": "deu",
    "ru": "rus",
    "ar": "ara",
    "hi": "hin",
    "vi": "vie",
    "th": "tha",
    "be": "bel",
    "it": "ita",
    "sw": "swa",
    "id": "ind",
    "ms": "msa",
    "may": "msa",
}


def same_as(code: str) -> str:
    """One code per language: `en`, `eng`, `EN` and `en-GB` are all `eng`; an unknown code stays as written."""
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return OTHER_CODES.get(primary, primary) if primary in OTHER_CODES or primary in SELF_NAMES else code.strip()


def language_name(code: str) -> str:
    """The self-name of a language code (any of the forms `same_as` knows), or the code when it is not known."""
    return SELF_NAMES.get(same_as(code), code)
