"""Channels end to end on real files: publish ZIMs made with libzim, then every way a kit refuses a bad channel."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from appliance.content.channel_index import INDEX_NAME, SIGNATURE_NAME
from appliance.edges import minisign
from appliance.errors import ChannelError, ConfigError
from appliance.services.sync import channel
from appliance.storage.channel_sequences import ChannelSequences
from appliance.storage.database import Database
from tests.conftest import make_book

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture()
def county(tmp_path) -> tuple[Path, Path, list[minisign.PublicKey]]:
    """A channel folder with two books, published with sequence 1 by a fresh key; (folder, secret key, trusted keys)."""
    folder = tmp_path / "primary-en"
    make_book(folder, "water_en", tags="_category:test;grade:3;subject:science")
    make_book(folder / "maths", "sums_en", title="Sums", tags="grade:2;subject:maths")
    public = channel.keygen(tmp_path / "county")
    channel.publish(folder, tmp_path / "county.key", "primary-en", now=NOW)
    return folder, tmp_path / "county.key", [public]


def _resign(folder: Path, key: Path, change) -> None:
    """Rewrite the index through `change` and sign it with the trusted key, so only the check under test can object."""
    data = json.loads((folder / INDEX_NAME).read_text())
    change(data)
    raw = json.dumps(data).encode()
    (folder / INDEX_NAME).write_bytes(raw)
    (folder / SIGNATURE_NAME).write_text(minisign.sign(minisign.read_secret_key(key), raw, "test"))


def _code(folder: Path, keys, last=None, **options) -> str:
    with pytest.raises(ChannelError) as caught:
        channel.verify_index(folder, keys, last, now=options.pop("now", NOW), **options)
    assert caught.value.fix and caught.value.cause
    return caught.value.code


def test_channel_publish_indexes_every_zim_and_verifies(county):
    folder, _, keys = county
    index = channel.verify_index(folder, keys, None, now=NOW, check_files=True)
    assert index.channel == "primary-en" and index.sequence == 1
    assert index.expires == NOW + dt.timedelta(days=30)
    by_id = {p["id"]: p for p in index.packages}
    assert by_id["sums_en"]["file"] == "maths/sums_en.zim"
    assert by_id["water_en"]["tags"] == {"grade": "3", "subject": "science"}
    assert by_id["water_en"]["version"] == "2026-01-02" and by_id["water_en"]["language"] == "eng"
    assert by_id["water_en"]["size_bytes"] == (folder / "water_en.zim").stat().st_size


def test_channel_publish_counts_sequence_up_and_lists_what_a_changed_book_replaces(county):
    folder, key, keys = county
    make_book(folder, "water_en", title="Water, second edition")
    index = channel.publish(folder, key, "primary-en", now=NOW)
    assert index.sequence == 2
    assert {p["id"]: p["replaces"] for p in index.packages} == {"water_en": ["water_en@2026-01-02"], "sums_en": []}
    assert channel.publish(folder, key, "primary-en", sequence=9, now=NOW).sequence == 9
    assert not list(folder.glob(".*.tmp"))


def test_channel_keygen_secret_key_is_private_and_never_overwritten(tmp_path):
    channel.keygen(tmp_path / "k")
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError):
        channel.keygen(tmp_path / "k")


def test_channel_tampered_package_byte_is_package_mismatch(county):
    folder, _, keys = county
    book = folder / "water_en.zim"
    data = bytearray(book.read_bytes())
    data[len(data) // 2] ^= 0xFF
    book.write_bytes(bytes(data))
    channel.verify_index(folder, keys, None, now=NOW)  # files are checked only when asked
    assert _code(folder, keys, check_files=True) == "channel.package_mismatch"


def test_channel_missing_package_is_package_mismatch(county):
    folder, _, keys = county
    (folder / "maths" / "sums_en.zim").unlink()
    assert _code(folder, keys, check_files=True) == "channel.package_mismatch"


def test_channel_tampered_index_byte_is_bad_signature(county):
    folder, _, keys = county
    raw = (folder / INDEX_NAME).read_bytes()
    (folder / INDEX_NAME).write_bytes(raw.replace(b'"sequence": 1', b'"sequence": 7'))
    assert _code(folder, keys) == "channel.bad_signature"


def test_channel_tampered_trusted_comment_or_missing_signature_is_bad_signature(county):
    folder, _, keys = county
    lines = (folder / SIGNATURE_NAME).read_text().splitlines()
    lines[2] += " forged"
    (folder / SIGNATURE_NAME).write_text("\n".join(lines) + "\n")
    assert _code(folder, keys) == "channel.bad_signature"
    (folder / SIGNATURE_NAME).unlink()
    assert _code(folder, keys) == "channel.bad_signature"


def test_channel_signed_by_another_key_is_unknown_key(county, tmp_path):
    folder, _, keys = county
    channel.keygen(tmp_path / "stranger")
    channel.publish(folder, tmp_path / "stranger.key", "primary-en", now=NOW)
    assert _code(folder, keys) == "channel.unknown_key"


def test_channel_expired_index_is_refused(county):
    folder, _, keys = county
    assert _code(folder, keys, now=NOW + dt.timedelta(days=30)) == "channel.expired"
    channel.verify_index(folder, keys, None, now=NOW + dt.timedelta(days=29))


def test_channel_replayed_older_sequence_is_refused(county, tmp_path):
    folder, key, keys = county
    old = {name: (folder / name).read_bytes() for name in (INDEX_NAME, SIGNATURE_NAME)}
    sequences = ChannelSequences(Database(tmp_path / "kit.sqlite3"))
    sequences.db.migrate()
    assert channel.accept(folder, keys, sequences, now=NOW).sequence == 1
    channel.publish(folder, key, "primary-en", now=NOW)
    assert channel.accept(folder, keys, sequences, now=NOW).sequence == 2
    assert sequences.last("primary-en") == 2
    for name, data in old.items():
        (folder / name).write_bytes(data)
    with pytest.raises(ChannelError) as caught:
        channel.accept(folder, keys, sequences, now=NOW)
    assert caught.value.code == "channel.replayed"
    assert _code(folder, keys, last=1) == "channel.replayed"
    sequences.db.close()


@pytest.mark.parametrize("bad", ["../x.zim", "/etc/passwd", "maths/../../x.zim", "."])
def test_channel_file_outside_the_folder_is_path_escape(county, bad):
    folder, key, keys = county
    _resign(folder, key, lambda data: data["packages"][0].update(file=bad))
    assert _code(folder, keys) == "channel.path_escape"


def test_channel_symlink_leading_out_is_path_escape(county, tmp_path):
    folder, key, keys = county
    outside = tmp_path / "outside.zim"
    outside.write_bytes(b"not yours")
    os.symlink(outside, folder / "link.zim")
    _resign(folder, key, lambda data: data["packages"][0].update(file="link.zim"))
    assert _code(folder, keys) == "channel.path_escape"


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.pop("sequence"),
        lambda data: data.update(sequence="2"),
        lambda data: data.update(expires="next week"),
        lambda data: data.update(expires="2027-01-01T00:00:00"),
        lambda data: data["packages"][0].pop("sha256"),
        lambda data: data["packages"][0].update(size_bytes=True),
        lambda data: data.update(packages={}),
    ],
)
def test_channel_missing_or_wrong_fields_are_malformed(county, change):
    folder, key, keys = county
    _resign(folder, key, change)
    assert _code(folder, keys) == "channel.malformed"


def test_channel_index_that_is_not_json_is_malformed(county):
    folder, key, keys = county
    raw = b"{not json"
    (folder / INDEX_NAME).write_bytes(raw)
    (folder / SIGNATURE_NAME).write_text(minisign.sign(minisign.read_secret_key(key), raw, "test"))
    assert _code(folder, keys) == "channel.malformed"


def test_channel_trusted_keys_from_lines_and_files(county, tmp_path):
    _, _, keys = county
    pub = tmp_path / "county.pub"
    assert channel.trusted_keys(f"{keys[0].line}, {pub}") == keys * 2
    assert channel.trusted_keys("") == []
    with pytest.raises(ConfigError):
        channel.trusted_keys(str(tmp_path / "missing.pub"))
    with pytest.raises(ConfigError):
        channel.trusted_keys("RWQnotakey")
