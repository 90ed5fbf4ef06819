"""A book served as base + layers answers as the publisher's next version itself, path by path, on real libzim files."""

from __future__ import annotations

import json
import shutil
import struct
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from appliance.content import zimdelta, zimlayers
from appliance.content.layeredzim import LayeredZim
from appliance.content.library import Library
from appliance.content.zimfile import Content, Redirect, ZimFile
from appliance.content.zimwriter import Entry, write_zim
from appliance.errors import DamagedBookError, EntryNotFoundError
from tests.conftest import article, shared_zims
from tests.content.layered_books import V1, V2, V3, book_version, install, make_patches, make_versions


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> list[Path]:
    return make_versions(tmp_path_factory.mktemp("versions"))


@pytest.fixture(scope="module")
def patches(versions, tmp_path_factory) -> list[Path]:
    return make_patches(versions, tmp_path_factory.mktemp("patches"))


def _paths(versions: list[Path]) -> list[str]:
    found = {entry.path for version in versions for entry in ZimFile(version).stored_entries()}
    return sorted(found | {"nope", "img/none.png"})


def _entries(book, paths: list[str]) -> dict:
    seen: dict = {}
    for path in paths:
        try:
            found = book.lookup(path)
        except EntryNotFoundError:
            seen[path] = None
            continue
        kind = ("redirect", found.target_path) if isinstance(found, Redirect) else (found.mimetype, bytes(found.data))
        seen[path] = (*kind, book.title_of(path), book.final_path(path))
    return seen


def _described(book) -> dict:
    return {
        "metadata": {name: (book.metadata_item(name).mimetype, book.metadata(name)) for name in book.metadata_names},
        "names": sorted(book.metadata_names),
        "main": book.main_path,
        "counts": (book.article_count, book.media_count),
        "uuid": book.uuid,
        "illustration": book.illustration(48),
        "indexed": book.has_fulltext_index,
        "absent": book.metadata("Creator"),
    }


def _words(*tables: dict) -> set[str]:
    return {
        word.strip(".,<>/p'").casefold()
        for table in tables
        for title, body in table.values()
        for word in f"{title} {body}".replace("<", " <").split()
        if len(word.strip(".,<>/p'")) > 2
    } - {"href", "here", "and"}


def _searched(book, words) -> dict:
    return {word: (book.search(word, 0, 50)[0], sorted(book.search(word, 0, 50)[1])) for word in words}


def _suggested(book, terms, count: int = 20) -> dict:
    return {term: sorted({book.final_path(path) for path, _ in book.suggest(term, count)}) for term in terms}


@pytest.mark.parametrize("version", [2, 3])
def test_layeredzim_answers_as_the_publishers_version_for_every_path_word_and_title(
    versions, patches, tmp_path, version
):
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], patches[: version - 1]))
    real = ZimFile(versions[version - 1])
    assert isinstance(book, LayeredZim)
    paths = _paths(versions)
    assert _entries(book, paths) == _entries(real, paths)
    assert _described(book) == _described(real)
    words = _words(V1, V2, V3)
    assert _searched(book, words) == _searched(real, words)
    terms = words | {w[:3] for w in words} | {"Star", "Kometa", "Luna", "Stone", "Wat"}
    assert _suggested(book, terms) == _suggested(real, terms)


def test_layeredzim_edited_text_is_found_and_the_replaced_never(versions, patches, tmp_path):
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], patches[:1]))
    assert book.search("quillofray", 0, 10) == (1, ["sun"])  # added
    assert book.search("rivers", 0, 10) == (1, ["water"])  # changed: v2's text
    assert book.search("evaporation", 0, 10) == (0, [])  # v1's replaced text
    assert book.search("glimmerfrost", 0, 10) == (0, [])  # removed
    assert [path for path, _ in book.suggest("Rocks", 10)] == ["rock"]
    assert book.suggest("Rocks", 10)[0][1] == "Rocks and stones"
    assert book.suggest("Moon", 10) == []
    assert bytes(book.lookup("water").data) == article(*V2["water"])  # type: ignore[union-attr]
    with pytest.raises(EntryNotFoundError):
        book.lookup("moon")
    assert book.lookup("luna") == Redirect("sun") and book.lookup("star") == Redirect("sun")
    assert book.lookup("old_water") == Redirect("water")  # a base redirect to an edited page
    assert isinstance(book.lookup("tree"), Content)  # untouched: the base's


def test_layeredzim_search_pages_skip_hidden_results(versions, patches, tmp_path):
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], patches[:1]))
    every = book.search("the", 0, 50)[1]
    assert "moon" not in every and len(every) == len(set(every))
    assert [path for start in range(len(every)) for path in book.search("the", start, 1)[1]] == every


def test_layeredzim_random_never_gives_a_hidden_path(versions, patches, tmp_path):
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], patches))
    real = ZimFile(versions[2])
    picked = Counter(book.random_path() for _ in range(300))
    assert all(isinstance(real.lookup(path), Content) for path in picked)
    assert not picked.keys() & {"moon", "water", "stone", "old_water"}
    assert "comet" in picked  # the layers' articles are picked too


def _break_directory_entry(book: Path, path: str) -> None:
    """Give the directory entry of `path` a MIME type number past the book's list (openZIM's format: the header, the
    table of directory-entry offsets, each entry's MIME type number first): libzim then fails on that entry only."""
    data = bytearray(book.read_bytes())
    _, _, _, _, count, _, pointers = struct.unpack_from("<IHH16sIIQ", data, 0)
    for offset in struct.unpack_from(f"<{count}Q", data, pointers):
        start = offset + 16  # an item's fixed part: MIME type, parameter length, namespace, revision, cluster, blob
        if data[offset + 3 : offset + 4] == b"C" and data[start : data.index(b"\0", start)] == path.encode():
            struct.pack_into("<H", data, offset, 0x7FFE)
    book.write_bytes(bytes(data))


def test_layeredzim_opening_and_serving_never_pass_over_the_base(versions, patches, tmp_path):
    book = install(tmp_path / "content", versions[0], patches)
    _break_directory_entry(book, "tree")  # an article no layer touches
    stack = json.loads((zimlayers.layers_dir(book) / zimlayers.STACK_NAME).read_bytes())
    zimlayers.write_stack(book, stack["layers"], stack["version"], stack["digest"])  # for the base as it is now
    with pytest.raises(DamagedBookError):
        list(ZimFile(book).stored_entries())  # any pass over the base's entries meets the broken one
    opened = zimlayers.open_book(book)
    assert isinstance(opened, LayeredZim)
    assert opened.search("zephyrine", 0, 10) == (1, ["sun"]) and opened.suggest("Comet", 10) == [("comet", "Comet")]
    assert bytes(opened.lookup("sun").data) == article(*V3["sun"])  # type: ignore[union-attr]
    assert opened.metadata_text("Title") == "Nature, sky and space" and opened.article_count


def test_layeredzim_stale_stack_is_ignored_when_the_base_is_replaced(versions, patches, tmp_path):
    book = install(tmp_path / "content", versions[0], patches[:1])
    shutil.copy(versions[1], book)  # a full v2 copied over the base (new mtime): the layers no longer apply
    opened = zimlayers.open_book(book)
    assert isinstance(opened, ZimFile) and opened.uuid == ZimFile(versions[1]).uuid


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing", "not-a-layer"])
def test_layeredzim_damaged_layer_makes_the_book_damaged_never_half_served(versions, patches, tmp_path, damage):
    book = install(tmp_path / "content", versions[0], patches)
    layer = zimlayers.layers_dir(book) / "2.zimlayer"
    data = bytearray(layer.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        layer.write_bytes(bytes(data))
    elif damage == "truncate":
        layer.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "missing":
        layer.unlink()
    else:
        shutil.copy(versions[2], layer)  # a ZIM, but no layer: no manifest
    library = Library(book.parent)
    library.refresh()
    assert library.books() == []
    [damaged] = library.damaged()
    assert damaged.path == book and "2.zimlayer" in damaged.reason or damaged.why == "checksum"


def test_layeredzim_stack_that_the_layers_do_not_make_is_damaged(versions, patches, tmp_path):
    book = install(tmp_path / "content", versions[0], patches)
    zimlayers.write_stack(book, ["1.zimlayer"], "2026-03-01", zimdelta.book_digest(versions[2]))
    with pytest.raises(DamagedBookError):
        zimlayers.open_book(book)


def test_layeredzim_library_picks_a_new_layer_up_and_serves_the_result(versions, patches, tmp_path):
    content = tmp_path / "content"
    book = install(content, versions[0], [])  # no stack yet: the plain v1
    library = Library(content)
    library.refresh()
    [served] = library.books()
    assert isinstance(served.zim, ZimFile) and served.title == "Nature"
    manifest = zimlayers.write_layer(patches[0], zimlayers.layers_dir(book) / "1.zimlayer")
    assert not library.refresh()  # a layer alone changes nothing: the stack decides
    zimlayers.write_stack(book, ["1.zimlayer"], manifest["result"]["version"], manifest["result"]["digest"])
    assert library.refresh()
    [served] = library.books()
    assert isinstance(served.zim, LayeredZim) and served.title == "Nature and sky" and served.date == "2026-02-01"
    assert served.uuid == ZimFile(versions[1]).uuid and served.checked == "verified"
    assert library.by_uuid(served.uuid) is served
    zimlayers.remove_layers(book)
    assert library.refresh() and library.books()[0].title == "Nature"


def test_layeredzim_patches_from_before_the_result_counts_still_serve(versions, tmp_path):
    patch = tmp_path / "old.zimpatch"
    manifest = zimdelta.write_patch(versions[0], versions[1], patch)
    for key in ("uuid", "article_count", "media_count", "counter"):
        del manifest["result"][key]
    patched = ZimFile(patch)
    metadata = {
        name: (bytes(patched.metadata_item(name).data), patched.metadata_item(name).mimetype)
        for name in patched.metadata_names
        if name != "Counter"
    }
    metadata[zimdelta.MANIFEST_NAME] = zimdelta.strict_json.dumps(manifest)
    entries = [
        Entry(e.path, e.title, e.mimetype, bytes(patched.lookup(e.path).data))  # type: ignore[union-attr]
        for e in patched.stored_entries()
    ]
    write_zim(patch, metadata=metadata, main_path=None, entries=entries, index_language=None)
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], [patch]))
    real = ZimFile(versions[1])
    assert book.uuid == zimlayers.open_book(install(tmp_path / "again", versions[0], [patch])).uuid != real.uuid
    assert abs(book.article_count - real.article_count) <= 2 and book.media_count == real.media_count
    assert bytes(book.lookup("sun").data) == bytes(real.lookup("sun").data)  # type: ignore[union-attr]


def _edited_copy(source: Path, out: Path) -> tuple[list[str], list[str]]:
    """The publisher's next version of a real book: three articles edited, two removed (with the redirects to them),
    one added, a redirect moved; (edited paths, removed paths)."""
    book = ZimFile(source)
    items = [(entry, bytes(data)) for entry, data in book.stored_contents() if data is not None]
    html = [entry.path for entry, _ in items if entry.mimetype.startswith("text/html") and entry.path != book.main_path]
    edited, removed = html[10:13], html[20:22]
    entries = [
        Entry(
            entry.path,
            entry.title,
            entry.mimetype,
            data.replace(b"</body>", b"<p>Zorblaxian flumquist.</p></body>") if entry.path in edited else data,
            front=entry.mimetype.startswith("text/html"),
        )
        for entry, data in items
        if entry.path not in removed
    ]
    entries.append(Entry("A/Layer_test", "Layer test", "text/html", article("Layer test", "<p>Quibbleton.</p>"), True))
    redirects = [
        (e.path, e.title, e.redirect_target)
        for e in book.stored_entries()
        if e.redirect_target is not None and e.redirect_target not in removed
    ]
    redirects[0] = (redirects[0][0], redirects[0][1], "A/Layer_test")
    metadata = {name: book.metadata_text(name) for name in book.metadata_names if name != "Counter"}
    out.parent.mkdir(parents=True)
    write_zim(
        out, metadata={**metadata, "Date": "2030-01-01"}, main_path=book.main_path, entries=entries, redirects=redirects
    )
    return edited, removed


def test_layeredzim_real_book_answers_as_its_next_version_for_every_path(tmp_path):
    [v1] = [path for path in shared_zims("real") if path.name == "wikipedia_en_ray_charles.zim"]
    v2 = tmp_path / "v2" / "wikipedia_en_ray_charles.zim"
    edited, removed = _edited_copy(v1, v2)
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    book = zimlayers.open_book(install(tmp_path / "content", v1, [tmp_path / "p.zimpatch"]))
    real = ZimFile(v2)
    paths = _paths([v1, v2])
    assert _entries(book, paths) == _entries(real, paths)
    assert _described(book) == _described(real)
    assert sorted(book.search("zorblaxian", 0, 10)[1]) == sorted(real.search("zorblaxian", 0, 10)[1]) == sorted(edited)
    assert book.search("quibbleton", 0, 10) == (1, ["A/Layer_test"])
    # The publisher's v1 index does not hold its main page as v2's does: the base's own index answers for what no
    # layer touched, the layer's for the rest.
    touched = {*edited, *removed, "A/Layer_test"}
    for word in ("ray", "charles", "album", "song", "soul", "records"):
        base_found, real_found = ZimFile(v1).search(word, 0, 500)[1], real.search(word, 0, 500)[1]
        expected = {p for p in base_found if p not in touched} | {p for p in real_found if p in touched}
        assert set(book.search(word, 0, 500)[1]) == expected and not expected & set(removed), word
    for term in ("Ray", "Geor", "Hit the", "Layer", "Moon", "Bein"):
        [base_found], [real_found] = (
            _suggested(ZimFile(v1), [term], 500).values(),
            _suggested(real, [term], 500).values(),
        )
        expected = {p for p in base_found if p not in touched} | {p for p in real_found if p in touched}
        assert set(_suggested(book, [term], 500)[term]) == expected and not expected & set(removed), term


def test_layeredzim_search_pages_through_many_hidden_results_as_the_real_book(tmp_path):
    # 120 articles with one shared word; v2 edits half of them and removes a sixth: most of the base's results are
    # hidden, so each page needs further base pages.
    v1_articles = {f"a{n:03}": (f"Article {n}", f"<p>Common ground number {n}.</p>") for n in range(120)}
    v2_articles = {
        path: (title, body.replace("ground", "edited ground") if n % 2 == 0 else body)
        for n, (path, (title, body)) in enumerate(v1_articles.items())
        if n % 6 != 1
    }
    v1 = book_version(tmp_path / "v1", v1_articles, [], main="a000", Title="Many", Date="1")
    v2 = book_version(tmp_path / "v2", v2_articles, [], main="a000", Title="Many", Date="2")
    zimdelta.write_patch(v1, v2, tmp_path / "p.zimpatch")
    book = zimlayers.open_book(install(tmp_path / "content", v1, [tmp_path / "p.zimpatch"]))
    real = ZimFile(v2)
    pages = [book.search("common", start, 7) for start in range(0, 140, 7)]
    found = [path for _, paths in pages for path in paths]
    assert len(found) == len(set(found)) == len(v2_articles)
    assert set(found) == set(real.search("common", 0, 200)[1])
    assert pages[-1][0] == real.search("common", 0, 200)[0] == len(v2_articles)
    assert book.search("edited", 0, 200)[0] == len(real.search("edited", 0, 200)[1]) == 60


def test_layeredzim_shared_between_threads_answers_each_the_same(versions, patches, tmp_path):
    book = zimlayers.open_book(install(tmp_path / "content", versions[0], patches))
    paths, words = _paths(versions), sorted(_words(V1, V2, V3))
    expected = (_entries(book, paths), _searched(book, words), _suggested(book, words))

    def answers(_: int) -> tuple:
        return _entries(book, paths), _searched(book, words), _suggested(book, words)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(answer == expected for answer in pool.map(answers, range(16)))
