"""`tpkit channel keygen|publish|verify` as a county technician runs them."""

from __future__ import annotations

import json

from appliance.cli import main
from tests.conftest import make_book


def test_cli_channel_keygen_publish_verify(tmp_path, capsys):
    folder = tmp_path / "channel"
    make_book(folder, "water_en")
    assert main(["channel", "keygen", "--out", str(tmp_path / "county")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "county.pub").read_text().splitlines()[1] in out
    assert (
        main(
            [
                "channel",
                "publish",
                str(folder),
                "--key",
                str(tmp_path / "county.key"),
                "--name",
                "primary-en",
                "--expires-days",
                "7",
            ]
        )
        == 0
    )
    assert "[✓] Channel 'primary-en' sequence 1: 1 book(s) and 0 patch(es)" in capsys.readouterr().out
    assert main(["channel", "verify", str(folder), "--pub", str(tmp_path / "county.pub")]) == 0
    assert "[✓]" in capsys.readouterr().out
    assert main(["channel", "publish", str(folder), "--key", str(tmp_path / "county.key"), "--name", "primary-en"]) == 0
    assert json.loads((folder / "index.json").read_text())["sequence"] == 2


def test_cli_channel_verify_prints_the_fault_and_its_fix(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "channel"
    make_book(folder, "water_en")
    main(["channel", "keygen", "--out", str(tmp_path / "county")])
    main(["channel", "publish", str(folder), "--key", str(tmp_path / "county.key"), "--name", "primary-en"])
    capsys.readouterr()
    (folder / "water_en.zim").write_bytes(b"not the book")
    monkeypatch.setenv("TPKIT_TRUSTED_CHANNEL_KEYS", str(tmp_path / "county.pub"))
    assert main(["channel", "verify", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "[✗] channel.package_mismatch" in out and "    Fix: Delete" in out
    assert main(["channel", "verify", str(folder), "--pub", str(tmp_path / "county.pub"), "--last-sequence", "1"]) == 1
    assert "channel.replayed" in capsys.readouterr().out


def test_cli_channel_errors_name_the_fix(tmp_path, capsys):
    assert main(["channel", "publish", str(tmp_path), "--key", str(tmp_path / "none.key"), "--name", "x"]) == 1
    assert "Fix:" in capsys.readouterr().err
