"""Books for layered-book tests: three versions of one small book with added, changed, removed and redirected
articles and changed metadata, their patches, and a content folder serving v1 plus layers."""

from __future__ import annotations

import shutil
from pathlib import Path

from appliance.content import zimdelta, zimlayers
from appliance.content.icons import badge
from appliance.content.zimwriter import Entry, write_zim
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


def book_version(folder: Path, articles: dict, redirects: list, *, main: str = "index", **metadata: str) -> Path:
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


def make_versions(folder: Path) -> list[Path]:
    """v1, v2 and v3 of the book nature_en, each in its own subfolder of `folder`."""
    return [
        book_version(folder / "v1", V1, V1_REDIRECTS, Title="Nature", Date="2026-01-02", Creator="tests"),
        book_version(folder / "v2", V2, V2_REDIRECTS, Title="Nature and sky", Date="2026-02-01", Publisher="county"),
        book_version(folder / "v3", V3, V3_REDIRECTS, main="sun", Title="Nature, sky and space", Date="2026-03-01"),
    ]


def make_patches(versions: list[Path], folder: Path) -> list[Path]:
    """The patches v1→v2 and v2→v3 in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for number, (old, new) in enumerate(zip(versions, versions[1:]), start=1):
        zimdelta.write_patch(old, new, folder / f"{number}.zimpatch")
        made.append(folder / f"{number}.zimpatch")
    return made


def install(content: Path, base: Path, patches: list[Path]) -> Path:
    """The base copied in as content/nature_en.zim, each patch written as a layer, and their stack (none without)."""
    content.mkdir(parents=True, exist_ok=True)
    book = content / "nature_en.zim"
    shutil.copy2(base, book)
    names, manifest = [], {}
    for number, patch in enumerate(patches, start=1):
        manifest = zimlayers.write_layer(patch, zimlayers.layers_dir(book) / f"{number}.zimlayer")
        names.append(f"{number}.zimlayer")
    if names:
        zimlayers.write_stack(book, names, manifest["result"]["version"], manifest["result"]["digest"])
    return book
