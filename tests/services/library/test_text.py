"""Text extraction and snippets for search results."""

from __future__ import annotations

from appliance.content.text import html_to_text, mark, snippet, word_count


def test_text_inline_tags_do_not_split_words_block_tags_do():
    html = "<html><head><title>T</title><style>p{}</style></head><body><p>This is <b>evap</b>oration.</p><p>Next&amp;more</p></body></html>"
    assert html_to_text(html.encode()) == "This is evaporation. Next&more"


def test_text_word_count_is_libzims():
    # libzim's countWords (what kiwix-serve's wordCount reports): space-separated runs plus one.
    assert word_count("water cycle 水循环") == 4


def test_text_html_to_text_skips_what_indexers_skip():
    page = b"<body><p>Jazz album</p><!--htdig_noindex--><div>This article is issued from Wikipedia.</div>"
    assert html_to_text(page + b"<!--/htdig_noindex--></body>") == "Jazz album"


def test_text_mark_highlights_whole_latin_words_and_cjk_substrings():
    assert mark("The water cycle", ["wat"]) == [("The ", False), ("water", True), (" cycle", False)]
    assert mark("种水稻", ["水"]) == [("种", False), ("水", True), ("稻", False)]


def test_text_snippet_cuts_around_the_first_match():
    text = "word " * 200 + "needle " + "word " * 200
    parts = snippet(text, ["needle"])
    joined = "".join(p for p, _ in parts)
    assert joined.startswith("...") and joined.endswith("...")
    assert ("needle", True) in parts
    assert len(joined) <= 210
