"""The minisign formats, proved against Debian's real `minisign` both ways (skipped cleanly when it is absent)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from appliance.edges import minisign
from appliance.errors import ChannelError, ConfigError
from appliance.services.sync import channel
from tests.conftest import make_book

needs_minisign = pytest.mark.skipif(
    shutil.which("minisign") is None, reason="minisign missing: apt-get install minisign (in build.sh TEST_DEBS)"
)


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_minisign_sign_and_verify_roundtrip_and_tamper():
    secret = minisign.generate()
    text = minisign.sign(secret, b"index bytes", "timestamp:1\tfile:index.json")
    signature = minisign.parse_signature(text, "test")
    assert signature.alg == b"ED" and signature.key_id == secret.key_id
    minisign.verify(signature, secret.public, b"index bytes", "test")
    with pytest.raises(ChannelError, match="changed after it was signed"):
        minisign.verify(signature, secret.public, b"index bytez", "test")
    with pytest.raises(ChannelError):
        minisign.parse_signature("untrusted comment: x\nnot base64!\n", "test")


def test_minisign_secret_key_file_roundtrip_and_damage(tmp_path):
    secret = minisign.generate()
    path = tmp_path / "k.key"
    path.write_text(minisign.secret_key_file(secret))
    assert minisign.read_secret_key(path) == secret
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:-8] + "AAAAAAA=\n")
    with pytest.raises(ConfigError, match="damaged"):
        minisign.read_secret_key(path)
    path.write_text(minisign.public_key_file(secret.public))
    with pytest.raises(ConfigError, match="not a minisign Ed25519 secret key"):
        minisign.read_secret_key(path)


@needs_minisign
def test_minisign_real_tool_verifies_what_tpkit_signed(tmp_path):
    folder = tmp_path / "channel"
    make_book(folder, "water_en")
    channel.keygen(tmp_path / "county")
    channel.publish(folder, tmp_path / "county.key", "primary-en")
    done = _run("minisign", "-Vm", "index.json", "-p", str(tmp_path / "county.pub"), cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "Signature and comment signature verified" in done.stdout
    assert "channel:primary-en\tsequence:1" in done.stdout
    (folder / "index.json").write_bytes((folder / "index.json").read_bytes() + b" ")
    assert _run("minisign", "-Vm", "index.json", "-p", str(tmp_path / "county.pub"), cwd=folder).returncode == 1


@needs_minisign
def test_minisign_real_tool_signs_and_tpkit_verifies(tmp_path):
    folder = tmp_path / "channel"
    make_book(folder, "water_en")
    made = _run("minisign", "-G", "-W", "-p", "minisign.pub", "-s", "minisign.key", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    channel.publish(folder, tmp_path / "minisign.key", "primary-en")  # tpkit signs with minisign's own key file
    (folder / "index.json.minisig").unlink()
    signed = _run("minisign", "-S", "-s", str(tmp_path / "minisign.key"), "-m", "index.json", cwd=folder)
    assert signed.returncode == 0, signed.stderr
    keys = channel.trusted_keys(str(tmp_path / "minisign.pub"))
    index = channel.verify_index(folder, keys, None, check_files=True, now=dt.datetime.now(dt.timezone.utc))
    assert index.channel == "primary-en"


@needs_minisign
def test_minisign_real_tool_signs_with_tpkit_key_identically(tmp_path):
    (tmp_path / "f").write_bytes(b"same bytes")
    channel.keygen(tmp_path / "county")
    signed = _run("minisign", "-S", "-s", "county.key", "-m", "f", cwd=tmp_path)
    assert signed.returncode == 0, signed.stderr
    ours = minisign.sign(minisign.read_secret_key(tmp_path / "county.key"), b"same bytes", "x")
    assert (tmp_path / "f.minisig").read_text().splitlines()[1] == ours.splitlines()[1]  # Ed25519 is deterministic


@pytest.mark.skipif(minisign._sodium_verify() is None, reason="libsodium missing (the libsodium23 package)")
def test_minisign_libsodium_and_openssl_agree_on_every_signature():
    """The hub verifies with libsodium when present: it must accept and refuse exactly what OpenSSL does."""
    import os

    secret, other = minisign.generate(), minisign.generate()
    key = secret.public.key
    for size in (0, 1, 64, 1000, 5000):
        message = os.urandom(size)
        good = minisign.sign(secret, message, f"size:{size}")
        sig = minisign.parse_signature(good, "test").signature
        prehashed = __import__("hashlib").blake2b(message, digest_size=64).digest()
        flipped = bytes([sig[0] ^ 1]) + sig[1:]
        cases = [
            (key, sig, prehashed, True),
            (key, flipped, prehashed, False),
            (key, sig, prehashed[:-1] + bytes([prehashed[-1] ^ 0x80]), False),
            (other.public.key, sig, prehashed, False),
            (key, sig[:63], prehashed, False),
            (key[:31], sig, prehashed, False),
            (key, bytes(64), prehashed, False),
            (bytes(32), sig, prehashed, False),
            (key, sig + b"x", prehashed, False),
        ]
        for k, s, m, expected in cases:
            assert minisign.valid(k, s, m, backend="sodium") is expected
            assert minisign.valid(k, s, m, backend="openssl") is expected
