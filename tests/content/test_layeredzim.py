"""A book served as base + layers answers as the publisher's next version itself, path by path, on real libzim files."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from appliance.content import zimdelta, zimlayers
from appliance.content.icons import badge
from appliance.content.layeredzim import LayeredZim
from appliance.content.library import Library
from appliance.content.zimfile import Content, Redirect, ZimFile
from appliance.content.zimwriter import Entry, write_zim
from appliance.errors import DamagedBookError, EntryNotFoundError
from tests.conftest import article

V1 = {
    "index": ("Welcome", "<p>Start here. <a href='water'>Water</a></p>"),
    "water": ("Water cycle", "<p>Evaporation and condensation move water.</p>" * 20),
    "moon": ("The Moon", "<p>The Moon causes tides and glimmerfrost nights.</p>"),
    "rock": ("Rocks", "<p>Granite and basalt.</p>"),
    "tree": ("Trees", "<p>Oak and pine grow slowly.</p>"),
}
V1_REDIRECTS = [("old_water", "Water (old)", "water"), ("luna", "Luna", "moon"), ("stone", "Stone", "rock")]
# v2: sun added; water's text and rock's title changed; moon removed; luna now leads to the sun, stone removed, star
# added; Title and the illustration changed, Publisher added, Creator removed.
V2 = {
    **{k: v for k, v in V1.items() if k != "moon"},
    "sun": ("The Sun", "<p>The Sun is a quillofray star.</p>"),
    "water": ("Water cycle", "<p>Rain, rivers and the sea.</p>" * 20),
    "rock": ("Rocks and stones", V1["rock"][1]),
}
V2_REDIRECTS = [("old_water", "Water (old)", "water"), ("luna", "Luna", "sun"), ("star", "Star", "sun")]
# v3: the sun's text changed again, water removed (old_water now leads home), a comet added with a redirect to it,
# the main page is the sun; Title changed again, Publisher removed.
V3 = {
    **{k: v for k, v in V2.items() if k != "water"},
    "sun": ("The Sun", "<p>The Sun is a zephyrine star.</p>"),
    "comet": ("Comet", "<p>A comet has a tail of vexillary dust.</p>"),
}
V3_REDIRECTS = [("old_water", "Water (old)", "index"), ("luna", "Luna", "sun"), ("kometa", "Kometa", "comet")]


def _book(folder: Path, articles: dict, redirects: list, *, main: str = "index", **metadata: str) -> Path:
    entries = [Entry(path, t, "text/html", article(t, body), front=True) for path, (t, body) in articles.items()]
    entries.append(Entry("img/dot.png", "dot", "image/png", badge(16, (0, 0, 0), (255, 255, 255))))
    folder.mkdir(parents=True)
    return write_zim(
        folder / "nature_en.zim",
        metadata={"Language": "eng", "Name": "nature_en", **metadata},
        main_path=main,
        entries=entries,
        illustration_png=badge(48, (len(metadata), 20, 30), (200, 100, 50)),
        redirects=redirects,
    )


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("versions")
    return [
        _book(folder / "v1", V1, V1_REDIRECTS, Title="Nature", Date="2026-01-02", Creator="tests"),
        _book(folder / "v2", V2, V2_REDIRECTS, Title="Nature and sky", Date="2026-02-01", Publisher="county"),
        _book(folder / "v3", V3, V3_REDIRECTS, main="sun", Title="Nature, sky and space", Date="2026-03-01"),
    ]


@pytest.fixture(scope="module")
def patches(versions, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("patches")
    made = []
    for number, (old, new) in enumerate(zip(versions, versions[1:]), start=1):
        zimdelta.write_patch(old, new, folder / f"{number}.zimpatch")
        made.append(folder / f"{number}.zimpatch")
    return made


def _install(content: Path, base: Path, patches: list[Path]) -> Path:
    """The base copied in as content/nature_en.zim, each patch written as a layer, and their stack."""
    content.mkdir(exist_ok=True)
    book = content / "nature_en.zim"
    shutil.copy2(base, book)
    names, manifest = [], {}
    for number, patch in enumerate(patches, start=1):
        manifest = zimlayers.write_layer(patch, zimlayers.layers_dir(book) / f"{number}.zimlayer")
        names.append(f"{number}.zimlayer")
    zimlayers.write_stack(book, names, manifest["result"]["version"], manifest["result"]["digest"])
    return book


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


def _suggested(book, terms) -> dict:
    return {term: sorted({book.final_path(path) for path, _ in book.suggest(term, 20)}) for term in terms}


@pytest.mark.parametrize("version", [2, 3])
def test_layeredzim_answers_as_the_publishers_version_for_every_path_word_and_title(
    versions, patches, tmp_path, version
):
    book = zimlayers.open_book(_install(tmp_path / "content", versions[0], patches[: version - 1]))
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
    book = zimlayers.open_book(_install(tmp_path / "content", versions[0], patches[:1]))
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
    book = zimlayers.open_book(_install(tmp_path / "content", versions[0], patches[:1]))
    every = book.search("the", 0, 50)[1]
    assert "moon" not in every and len(every) == len(set(every))
    assert [path for start in range(len(every)) for path in book.search("the", start, 1)[1]] == every


def test_layeredzim_random_never_gives_a_hidden_path(versions, patches, tmp_path):
    book = zimlayers.open_book(_install(tmp_path / "content", versions[0], patches))
    real = ZimFile(versions[2])
    picked = Counter(book.random_path() for _ in range(300))
    assert all(isinstance(real.lookup(path), Content) for path in picked)
    assert not picked.keys() & {"moon", "water", "stone", "old_water"}
    assert "comet" in picked  # the layers' articles are picked too


def test_layeredzim_opening_reads_no_entry_of_the_base(versions, patches, tmp_path, monkeypatch):
    book_path = _install(tmp_path / "content", versions[0], patches)
    base_passes = []
    original = ZimFile.storage_order

    def counted(self):  # the only way ZimFile walks a book's entries (stored_entries, stored_contents)
        if self.path == book_path:
            base_passes.append(self.path)
        return original(self)

    # Not a library name: tpkit's own reader, counted to show the base is never walked.
    monkeypatch.setattr(ZimFile, "storage_order", counted)
    book = zimlayers.open_book(book_path)
    book.search("the", 0, 10), book.suggest("Sun", 10), book.lookup("sun"), book.random_path()
    assert base_passes == []


def test_layeredzim_stale_stack_is_ignored_when_the_base_is_replaced(versions, patches, tmp_path):
    book = _install(tmp_path / "content", versions[0], patches[:1])
    shutil.copy(versions[1], book)  # a full v2 copied over the base (new mtime): the layers no longer apply
    opened = zimlayers.open_book(book)
    assert isinstance(opened, ZimFile) and opened.uuid == ZimFile(versions[1]).uuid


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing", "not-a-layer"])
def test_layeredzim_damaged_layer_makes_the_book_damaged_never_half_served(versions, patches, tmp_path, damage):
    book = _install(tmp_path / "content", versions[0], patches)
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
    book = _install(tmp_path / "content", versions[0], patches)
    zimlayers.write_stack(book, ["1.zimlayer"], "2026-03-01", zimdelta.book_digest(versions[2]))
    with pytest.raises(DamagedBookError):
        zimlayers.open_book(book)


def test_layeredzim_library_picks_a_new_layer_up_and_serves_the_result(versions, patches, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    book = content / "nature_en.zim"
    shutil.copy2(versions[0], book)  # no stack yet: the plain v1
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
    book = zimlayers.open_book(_install(tmp_path / "content", versions[0], [patch]))
    real = ZimFile(versions[1])
    assert book.uuid == zimlayers.open_book(_install(tmp_path / "again", versions[0], [patch])).uuid != real.uuid
    assert abs(book.article_count - real.article_count) <= 2 and book.media_count == real.media_count
    assert bytes(book.lookup("sun").data) == bytes(real.lookup("sun").data)  # type: ignore[union-attr]
