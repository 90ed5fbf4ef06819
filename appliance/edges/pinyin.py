"""Chinese characters to pinyin through pypinyin, for putting names in the order a Chinese teacher expects. The only
module that imports pypinyin.

Must not import content, storage or services. pypinyin has no surname mode (python-pinyin issues 120 and 297): the
readings of surnames are chosen in services/people/name_order.py, which asks this module for the rest of a name.

pypinyin is imported on first use, without its phrase dictionary and without copying its dictionaries (its own
switches, PYPINYIN_NO_PHRASES and PYPINYIN_NO_DICT_COPY): 0.13 s instead of 0.89 s on a PC, and names are not
phrases. Nothing here changes pypinyin's dictionaries.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable


@functools.cache
def _converter() -> Callable[[str], list[str]]:
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "true")
    from pypinyin import Style, lazy_pinyin

    return functools.partial(lazy_pinyin, style=Style.TONE3, neutral_tone_with_five=True)


def syllables(text: str) -> list[str]:
    """Each Chinese character of `text` as a tone-numbered syllable ("zhang1", "lv3" for 吕, "de5" for a neutral
    tone); any other run of characters (Latin letters, digits, spaces) comes back as it was, as one element."""
    return _converter()(text)
