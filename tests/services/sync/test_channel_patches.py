"""Publishing patches in a signed channel (`publish --previous`), the index's patch fields, and the chain limit."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.content import zimdelta
from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME, parse_index
from appliance.edges import minisign
from appliance.errors import ChannelError
from appliance.services.sync import channel
from tests.conftest import make_book

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


def _version(folder: Path, number: int) -> Path:
    """Version `number` of the water_en book: each adds an article and edits the main page."""
    articles = {
        "index": ("Welcome", f"<p>Edition {number}.</p>"),
        "water": ("Water cycle", "<p>Evaporation, condensation and precipitation.</p>" * 30),
    }
    articles.update({f"topic{n}": (f"Topic {n}", f"<p>About topic {n}.</p>") for n in range(2, number + 1)})
    return make_book(folder, "water_en", articles=articles)


@pytest.fixture()
def county(tmp_path) -> tuple[Path, Path, list[minisign.PublicKey]]:
    """(channel folder holding version 1 of water_en plus an unchanging book, secret key path, trusted keys)."""
    folder = tmp_path / "primary-en"
    _version(folder, 1)
    make_book(folder, "sums_en", title="Sums")
    public = channel.keygen(tmp_path / "county")
    channel.publish(folder, tmp_path / "county.key", "primary-en", now=NOW)
    return folder, tmp_path / "county.key", [public]


def _next(folder: Path, key: Path, number: int, tmp_path: Path, **options):
    """Keep the published books as the previous version, put version `number` in place and publish with patches."""
    previous = tmp_path / f"previous-{number}"
    shutil.copytree(folder, previous, ignore=shutil.ignore_patterns("patches", "index.json*"))
    _version(folder, number)
    return channel.publish(folder, key, "primary-en", now=NOW, previous_dir=previous, **options), previous


def _patches(index) -> list[dict]:
    return [p for p in index.packages if p.get("kind") == "patch"]


def test_channel_publish_previous_writes_a_patch_the_kit_can_verify_and_apply(county, tmp_path):
    folder, key, keys = county
    index, previous = _next(folder, key, 2, tmp_path)
    verified = channel.verify_index(folder, keys, None, now=NOW, check_files=True)
    assert verified.packages == index.packages
    books = {p["id"]: p for p in index.packages if p["kind"] == "full"}
    [patch] = _patches(index)  # sums_en did not change: no patch for it
    assert patch["id"] == "water_en" and patch["file"].startswith("patches/water_en/")
    assert patch["file"].endswith(".zimpatch") and patch["size_bytes"] < books["water_en"]["size_bytes"]
    assert patch["base"]["sha256"] == hashlib.sha256((previous / "water_en.zim").read_bytes()).hexdigest()
    assert patch["result_digest"] == books["water_en"]["result_digest"]
    assert books["water_en"]["replaces"] == ["water_en@2026-01-02"]
    rebuilt = channel.rebuild(previous / "water_en.zim", [folder / patch["file"]], tmp_path / "water_en.zim")
    assert rebuilt.digest == books["water_en"]["result_digest"]


def test_channel_patch_chain_grows_to_the_limit_then_drops_the_oldest(county, tmp_path):
    folder, key, _ = county
    first, v1 = _next(folder, key, 2, tmp_path, max_chain=2)
    second, _ = _next(folder, key, 3, tmp_path, max_chain=2)
    assert [p["file"] for p in _patches(second)][0] == _patches(first)[0]["file"]
    chain = [folder / p["file"] for p in _patches(second)]
    rebuilt = channel.rebuild(v1 / "water_en.zim", chain, tmp_path / "v3.zim")
    assert rebuilt.digest == zimdelta.book_digest(folder / "water_en.zim")
    third, _ = _next(folder, key, 4, tmp_path, max_chain=2)
    assert len(_patches(third)) == 2 and _patches(third)[0]["file"] == _patches(second)[1]["file"]
    assert not chain[0].exists()  # dropped from the index, so deleted: a kit that far behind fetches the full book
    unchanged = channel.publish(folder, key, "primary-en", now=NOW, previous_dir=folder)
    assert [p["file"] for p in _patches(unchanged)] == [p["file"] for p in _patches(third)]
    none, _ = _next(folder, key, 5, tmp_path, max_chain=0)
    assert _patches(none) == [] and not list((folder / "patches").rglob("*.zimpatch"))


def _resign(folder: Path, key: Path, change) -> None:
    data = json.loads((folder / INDEX_NAME).read_text())
    change(data)
    raw = json.dumps(data).encode()
    (folder / INDEX_NAME).write_bytes(raw)
    (folder / SIGNATURE_NAME).write_text(minisign.sign(minisign.read_secret_key(key), raw, "test"))


def _last_patch(data: dict) -> dict:
    return next(p for p in data["packages"] if p.get("kind") == "patch")


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data["packages"][0].update(kind="delta"),
        lambda data: _last_patch(data).pop("base"),
        lambda data: _last_patch(data).update(base=["water_en"]),
        lambda data: _last_patch(data)["base"].update(sha256=42),
        lambda data: _last_patch(data)["base"].pop("digest"),
        lambda data: _last_patch(data).update(result_digest="abc"),
        lambda data: data["packages"][0].update(result_digest=None),
    ],
)
def test_channel_patch_fields_with_wrong_types_are_malformed(county, tmp_path, change):
    folder, key, keys = county
    _next(folder, key, 2, tmp_path)
    _resign(folder, key, change)
    with pytest.raises(ChannelError) as caught:
        channel.verify_index(folder, keys, None, now=NOW)
    assert caught.value.code == "channel.malformed"


def test_channel_index_without_patch_fields_is_still_accepted(county):
    folder, key, keys = county
    _resign(folder, key, lambda data: [p.pop("kind") for p in data["packages"]])
    index = channel.verify_index(folder, keys, None, now=NOW, check_files=True)
    assert all("kind" not in p for p in index.packages) and len(index.packages) == 2
    assert parse_index((folder / INDEX_NAME).read_bytes(), "test").packages == index.packages


def test_channel_tampered_patch_fails_the_signed_index(county, tmp_path):
    folder, key, keys = county
    index, _ = _next(folder, key, 2, tmp_path)
    patch = folder / _patches(index)[0]["file"]
    data = patch.read_bytes()
    patch.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # always a different byte (a ZIM ends in its MD5)
    with pytest.raises(ChannelError) as caught:
        channel.verify_index(folder, keys, None, now=NOW, check_files=True)
    assert caught.value.code == "channel.package_mismatch"


def test_cli_channel_publish_previous_diff_and_apply(county, tmp_path, capsys):
    folder, key, _ = county
    previous = tmp_path / "previous"
    shutil.copytree(folder, previous, ignore=shutil.ignore_patterns("index.json*"))
    _version(folder, 3)
    assert (
        main(
            ["channel", "publish", str(folder), "--key", str(key), "--name", "primary-en", "--previous", str(previous)]
        )
        == 0
    )
    assert "2 book(s) and 1 patch(es)" in capsys.readouterr().out
    assert main(["channel", "diff", str(previous / "water_en.zim"), str(folder / "water_en.zim")]) == 0
    out = capsys.readouterr().out
    assert "+ C/topic2\n+ C/topic3\n~ C/index\n" in out and "[i] 2 added, 1 changed, 0 removed" in out
    [patch] = (folder / "patches").rglob("*.zimpatch")
    assert main(["channel", "apply", str(previous / "water_en.zim"), str(patch), "--out", str(tmp_path / "w.zim")]) == 0
    assert "[✓] Rebuilt" in capsys.readouterr().out
    assert main(["channel", "apply", str(previous / "sums_en.zim"), str(patch), "--out", str(tmp_path / "s.zim")]) == 1
    err = capsys.readouterr().err
    assert "is for book 'water_en', not 'sums_en'" in err and "Fix: Apply the patches in order" in err


def test_channel_publish_previous_reads_each_book_once(county, tmp_path, monkeypatch):
    # Each read of a book's entries decompresses all of it: the new version's digest and the diff share one read,
    # the previous version's is read once, and an unchanged book (same bytes) is not read for a diff (issue 21, 5).
    folder, key, _ = county
    read = []
    real = zimdelta.book_records
    monkeypatch.setattr(zimdelta, "book_records", lambda book: read.append(book.path.parent.name) or real(book))
    index, _ = _next(folder, key, 2, tmp_path)
    assert len(_patches(index)) == 1
    assert sorted(read) == ["previous-2", "primary-en", "primary-en"]  # water_en old and new, sums_en's digest
