"""libkiwix's test/library_server.cpp, ported to tpkit: the OPDS catalogs v1 (/catalog/root.xml, /catalog/search)
and v2 (/catalog/v2/…).

Each test cites the TEST_F it comes from. libkiwix runs these over a library.xml of three books; tpkit serves a
folder, so they run over libkiwix's test ZIMs (conftest.py) with the same queries and the same kinds of checks: the
feed's shape, which entries, totalResults/startIndex/itemsPerPage, MIME types. The no-JavaScript HTML library
(/nojs), catalog-only mode and the no-name-mapper server options are kiwix-serve's own (not ported).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.kiwix.conftest import EXAMPLE_UUID, RAY_CHARLES_UUID

ATOM = "{http://www.w3.org/2005/Atom}"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition;charset=utf-8"
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation;charset=utf-8"


def _feed(response):
    assert response.status_code == 200, response.url
    return ET.fromstring(response.content)


def _titles(feed) -> list[str]:
    return [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")]


def _paging(feed) -> tuple[str | None, str | None, str | None]:
    return tuple(feed.findtext(f"{ATOM}{name}") for name in ("totalResults", "startIndex", "itemsPerPage"))  # type: ignore[return-value]


def _search(zfs, query: str, v2: bool = False):
    return _feed(zfs.get(("/catalog/v2/entries?" if v2 else "/catalog/search?") + query))


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_root_xml)
def test_library_catalog_root_xml(zfs):
    response = zfs.get("/catalog/root.xml")
    assert response.headers["content-type"] == ACQUISITION
    assert response.text.startswith('<feed xmlns="http://www.w3.org/2005/Atom"')
    feed = _feed(response)
    assert feed.findtext(f"{ATOM}title") == "All zims"
    assert _paging(feed) == (None, None, None)
    links = {link.get("rel"): link.attrib for link in feed.findall(f"{ATOM}link")}
    assert links["self"] == {"rel": "self", "href": "", "type": "application/atom+xml"}
    assert links["search"]["href"] == "/catalog/searchdescription.xml"
    ids = [entry.findtext(f"{ATOM}id") for entry in feed.findall(f"{ATOM}entry")]
    assert f"urn:uuid:{RAY_CHARLES_UUID}" in ids and f"urn:uuid:{EXAMPLE_UUID}" in ids and len(ids) == 4


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_searchdescription_xml)
def test_library_catalog_searchdescription_xml(zfs):
    response = zfs.get("/catalog/searchdescription.xml")
    assert response.text.rstrip("\n") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">\n'
        "  <ShortName>Zim catalog search</ShortName>\n"
        "  <Description>Search zim files in the catalog.</Description>\n"
        '  <Url type="application/atom+xml;profile=opds-catalog"\n'
        '       xmlns:atom="http://www.w3.org/2005/Atom"\n'
        '       xmlns:k="http://kiwix.org/opensearchextension/1.0"\n'
        '       indexOffset="0"\n'
        '       template="/catalog/search?q={searchTerms?}&amp;lang={language?}&amp;name={k:name?}&amp;tag={k:tag?}'
        '&amp;notag={k:notag?}&amp;maxsize={k:maxsize?}&amp;count={count?}&amp;start={startIndex?}"/>\n'
        "</OpenSearchDescription>"
    )


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_by_phrase), catalog_search_by_words,
# catalog_v2_entries_filtered_by_search_terms
@pytest.mark.parametrize("v2", [False, True])
def test_library_catalog_search_by_phrase_and_words(zfs, v2):
    phrase = _search(zfs, 'q="ray%20charles"', v2)
    assert _titles(phrase) == ["Ray Charles"] and _paging(phrase) == ("1", "0", "1")
    assert _titles(_search(zfs, 'q="charles%20ray"', v2)) == []
    assert _titles(_search(zfs, "q=charles%20ray", v2)) == ["Ray Charles"]
    assert feed_title(_search(zfs, 'q="ray%20charles"', v2)).endswith("(q=%22ray%20charles%22)")


def feed_title(feed) -> str:
    return feed.findtext(f"{ATOM}title")


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_prefix_search)
def test_library_catalog_prefix_search(zfs):
    assert _titles(_search(zfs, "q=description:wikipedia%20description:charles")) == ["Ray Charles"]
    assert _titles(_search(zfs, 'q=title:"ray%20charles"')) == ["Ray Charles"]
    assert _titles(_search(zfs, "q=title:wikipedia")) == []


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_with_word_exclusion)
def test_library_catalog_search_with_word_exclusion(zfs):
    assert _titles(_search(zfs, "q=ray%20-wikipedia")) == []
    assert _titles(_search(zfs, "q=ray%20-wikibooks")) == ["Ray Charles"]


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_by_tag). Its sources expect the title
# "Filtered zims (tag=_category:wikipedia)"; the running kiwix-serve 3.7.0 (libkiwix 14.0.0) writes the query back
# percent-encoded, `%3A` (tests/web/test_kiwix_parity.py asserts it against the binary), and tpkit follows the running
# server, as for startIndex (docs/kiwix-compatibility.md).
def test_library_catalog_search_by_tag(zfs):
    feed = _search(zfs, "tag=_category:wikipedia")
    assert _titles(feed) == ["Ray Charles"] and feed_title(feed) == "Filtered zims (tag=_category%3Awikipedia)"


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_by_category),
# catalog_v2_entries_filtered_by_category
@pytest.mark.parametrize("v2", [False, True])
def test_library_catalog_search_by_category(zfs, v2):
    assert _titles(_search(zfs, "category=wikipedia", v2)) == ["Ray Charles"]
    assert _titles(_search(zfs, "category=jazz,wikipedia", v2)) == ["Ray Charles"]
    assert _paging(_search(zfs, "category=jazz", v2)) == ("0", "0", "0")


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_by_language),
# catalog_v2_entries_filtered_by_language
@pytest.mark.parametrize("v2", [False, True])
def test_library_catalog_search_by_language(zfs, v2):
    assert len(_titles(_search(zfs, "lang=eng", v2))) == 3  # zimfile, poor, corner cases
    assert _titles(_search(zfs, "lang=en", v2)) == ["Wikibooks"]
    assert len(_titles(_search(zfs, "lang=eng,en", v2))) == 4


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_results_pagination),
# catalog_v2_entries_filtered_by_range
@pytest.mark.parametrize("v2", [False, True])
def test_library_catalog_search_results_pagination(zfs, v2):
    assert _paging(_search(zfs, "count=-1", v2)) == ("4", "0", "4")
    every = _titles(_search(zfs, "count=-1", v2))
    assert _paging(_search(zfs, "count=0", v2)) == ("4", "0", "0")
    assert _titles(_search(zfs, "count=0", v2)) == []
    assert _titles(_search(zfs, "count=1", v2)) == every[:1]
    one = _search(zfs, "start=1&count=1", v2)
    assert _titles(one) == every[1:2] and _paging(one) == ("4", "1", "1")
    assert feed_title(one).endswith("(start=1&count=1)")
    assert _paging(_search(zfs, "start=100&count=10", v2)) == ("4", "100", "0")
    assert _titles(_search(zfs, "start=1", v2)) == every[1:]


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_root)
def test_library_catalog_v2_root(zfs):
    response = zfs.get("/catalog/v2/root.xml")
    assert response.headers["content-type"] == NAVIGATION
    feed = _feed(response)
    assert feed_title(feed) == "OPDS Catalog Root"
    hrefs = [entry.find(f"{ATOM}link").get("href") for entry in feed.findall(f"{ATOM}entry")]
    assert hrefs == [
        "/catalog/v2/entries",
        "/catalog/v2/partial_entries",
        "/catalog/v2/categories",
        "/catalog/v2/languages",
    ]


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_searchdescription_xml)
def test_library_catalog_v2_searchdescription_xml(zfs):
    response = zfs.get("/catalog/v2/searchdescription.xml")
    assert response.headers["content-type"] == "application/opensearchdescription+xml"
    assert (
        'template="/catalog/v2/entries?q={searchTerms?}&amp;lang={language?}&amp;name={k:name?}&amp;tag={k:tag?}'
        '&amp;maxsize={k:maxsize?}&amp;count={count?}&amp;start={startIndex?}"/>' in response.text
    )


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_categories)
def test_library_catalog_v2_categories(zfs):
    feed = _feed(zfs.get("/catalog/v2/categories"))
    assert _titles(feed) == ["wikipedia"]
    assert feed.find(f"{ATOM}entry/{ATOM}link").get("href") == "/catalog/v2/entries?category=wikipedia"
    assert feed.findtext(f"{ATOM}entry/{ATOM}content") == "All entries with category of 'wikipedia'."


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_languages)
def test_library_catalog_v2_languages(zfs):
    feed = _feed(zfs.get("/catalog/v2/languages"))
    counts = {
        entry.findtext("{http://purl.org/dc/terms/}language"): entry.findtext(
            "{http://purl.org/syndication/thread/1.0}count"
        )
        for entry in feed.findall(f"{ATOM}entry")
    }
    assert counts == {"en": "1", "eng": "3"}


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_entries)
def test_library_catalog_v2_entries(zfs):
    response = zfs.get("/catalog/v2/entries")
    assert response.headers["content-type"] == ACQUISITION
    feed = _feed(response)
    assert feed_title(feed) == "All Entries" and _paging(feed) == (None, None, None)
    assert len(_titles(feed)) == 4
    ray = next(e for e in feed.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == "Ray Charles")
    links = {link.get("rel"): link.attrib for link in ray.findall(f"{ATOM}link")}
    # The thumbnail link as kiwix 3.7 writes it: /catalog/v2/illustration/<uuid>/?size=48
    assert links["http://opds-spec.org/image/thumbnail"] == {
        "rel": "http://opds-spec.org/image/thumbnail",
        "href": f"/catalog/v2/illustration/{RAY_CHARLES_UUID}/?size=48",
        "type": "image/png;width=48;height=48;scale=1",
    }
    assert links[None]["href"] == "/content/zimfile"
    assert zfs.get(links["http://opds-spec.org/image/thumbnail"]["href"]).headers["content-type"] == "image/png"


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_entries_filtering_special_queries)
def test_library_catalog_v2_entries_special_queries(zfs):
    for word in ["or", "and", "not", "xor", "near", "adj"]:
        assert _paging(_search(zfs, f"q={word}", v2=True))[0] == "0", word
    # "and" and "or" are words like any other (kiwix's parser takes only upper-case AND/OR as operators).
    assert _titles(_search(zfs, "q=wikipedia%20articles", v2=True)) == ["Ray Charles"]
    assert _titles(_search(zfs, "q=wikipedia%20and%20articles", v2=True)) == []
    assert _titles(_search(zfs, "q=wikipedia%20or%20articles", v2=True)) == []


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_entries_multiple_filters)
def test_library_catalog_v2_entries_multiple_filters(zfs):
    assert _titles(_search(zfs, "lang=eng&category=wikipedia", v2=True)) == ["Ray Charles"]
    assert _titles(_search(zfs, "lang=en&category=wikipedia", v2=True)) == []


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_individual_entry_access)
def test_library_catalog_v2_individual_entry_access(zfs):
    response = zfs.get(f"/catalog/v2/entry/{RAY_CHARLES_UUID}")
    assert response.headers["content-type"] == "application/atom+xml;type=entry;profile=opds-catalog;charset=utf-8"
    # As kiwix's: a lone <entry> whose dc: prefix is declared nowhere (so not parsed as XML here).
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n  <entry>\n')
    assert f"<id>urn:uuid:{RAY_CHARLES_UUID}</id>" in response.text and "<title>Ray Charles</title>" in response.text
    assert zfs.get("/catalog/v2/entry/non-existent-entry").status_code == 404


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_v2_partial_entries)
def test_library_catalog_v2_partial_entries(zfs):
    feed = _feed(zfs.get("/catalog/v2/partial_entries"))
    entry = next(e for e in feed.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == "Ray Charles")
    assert [child.tag for child in entry] == [f"{ATOM}id", f"{ATOM}title", f"{ATOM}updated", f"{ATOM}link"]
    assert entry.find(f"{ATOM}link").attrib == {
        "rel": "alternate",
        "href": f"/catalog/v2/entry/{RAY_CHARLES_UUID}",
        "type": "application/atom+xml;type=entry;profile=opds-catalog",
    }


# libkiwix test/library_server.cpp TEST_F(LibraryServerTest, catalog_search_includes_public_tags),
# catalog_search_on_tags_is_not_an_any_substring_match, catalog_search_excludes_hidden_tags
def test_library_catalog_search_public_tags_only(zfs):
    assert _titles(_search(zfs, "q=wikipedia")) == ["Ray Charles"]  # title/description and the public tag
    assert _titles(_search(zfs, "q=wiki")) == ["Ray Charles"]  # a tag is found by its beginning…
    assert _titles(_search(zfs, "q=ikipedia")) == []  # …never by any substring
    assert _titles(_search(zfs, "q=category")) == []  # _category:… is a hidden tag
    assert _titles(_search(zfs, "q=ftindex")) == []


# libkiwix src/server/internalServer.cpp search_catalog (no TEST_F: libkiwix's test library has 3 books): without
# `count` a catalog query gives the first 10 books; /catalog/root.xml gives every book.
def test_library_catalog_default_count_is_10(settings, content_dir):
    import httpx

    from appliance.services.kit import open_kit
    from appliance.web.app import create_app
    from tests.conftest import LiveServer, make_book

    for number in range(11):
        make_book(content_dir, f"book_{number:02}", title=f"Book {number}", index=False)
    kit = open_kit(settings)
    try:
        with LiveServer(create_app(kit, watch_library=False)) as live, httpx.Client(base_url=live.url) as http:
            assert len(_titles(_feed(http.get("/catalog/v2/entries")))) == 10
            assert _paging(_feed(http.get("/catalog/search?lang=eng"))) == ("11", "0", "10")
            assert len(_titles(_feed(http.get("/catalog/v2/entries?count=-1")))) == 11
            assert len(_titles(_feed(http.get("/catalog/root.xml?count=1")))) == 11
            assert len(_titles(_feed(http.get("/catalog/v2/partial_entries")))) == 10
    finally:
        kit.close()
