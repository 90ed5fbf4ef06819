"""The signing edge: Ed25519 keys and signatures in minisign's file formats (the only module importing `cryptography`).

Verification uses libsodium (what minisign itself is built on; the `libsodium23` package, through ctypes) when
the system has it: it checks a signature in ~110 µs where OpenSSL's takes ~250 µs on the build machine, which a
county hub checking two signatures per report feels. Without it, `cryptography` verifies. Signing always
uses `cryptography`. Must not import storage, content, services or web.
Formats: https://jedisct1.github.io/minisign/ (docs/channels.md).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import dataclasses
import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import ChannelError, ConfigError

# `cryptography` is imported where a key is used, not at the top: a web worker starts without it (~50 ms on a Pi).
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PUBLIC_ALG = b"Ed"  # a public key (and the legacy, non-prehashed signature)
PREHASHED_ALG = b"ED"  # signature over BLAKE2b-512 of the file: what minisign ≥ 0.8 writes by default
KDF_NONE = b"\0\0"  # secret key stored unencrypted, as `minisign -G -W` writes it
CHECKSUM_ALG = b"B2"
SECRET_KEY_BYTES = 158  # alg 2 + kdf 2 + chk 2 + salt 32 + opslimit 8 + memlimit 8 + keynum 8 + sk 64 + chk 32


@dataclasses.dataclass(frozen=True)
class PublicKey:
    """A minisign public key: 8-byte key id and the 32-byte Ed25519 key."""

    key_id: bytes
    key: bytes

    @property
    def id_hex(self) -> str:
        """The key id as minisign prints it (little-endian, upper-case hex)."""
        return self.key_id[::-1].hex().upper()

    @property
    def line(self) -> str:
        """The base64 line of a `.pub` file (what `minisign -P` takes)."""
        return base64.b64encode(PUBLIC_ALG + self.key_id + self.key).decode()


@dataclasses.dataclass(frozen=True)
class SecretKey:
    """A secret key: its id and the 32-byte Ed25519 seed."""

    key_id: bytes
    seed: bytes

    @property
    def public(self) -> PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return PublicKey(self.key_id, raw.public_bytes(Encoding.Raw, PublicFormat.Raw))


def generate() -> SecretKey:
    """A new random key pair."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return SecretKey(os.urandom(8), seed)


def public_key_file(public: PublicKey) -> str:
    """The text of a minisign `.pub` file."""
    return f"untrusted comment: minisign public key {public.id_hex}\n{public.line}\n"


def _checksum(key_id: bytes, sk: bytes) -> bytes:
    return hashlib.blake2b(PUBLIC_ALG + key_id + sk, digest_size=32).digest()


def secret_key_file(secret: SecretKey) -> str:
    """The text of an unencrypted minisign secret key file (as `minisign -G -W`), so minisign can sign with it too."""
    sk = secret.seed + secret.public.key
    raw = PUBLIC_ALG + KDF_NONE + CHECKSUM_ALG + bytes(32 + 8 + 8) + secret.key_id + sk + _checksum(secret.key_id, sk)
    return (
        f"untrusted comment: minisign secret key {secret.public.id_hex} (unencrypted)\n"
        f"{base64.b64encode(raw).decode()}\n"
    )


def _b64_line(text: str, where: str, what: str) -> bytes:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("untrusted comment:")]
    try:
        return base64.b64decode(lines[0].strip(), validate=True)
    except (IndexError, ValueError) as exc:  # binascii.Error is a ValueError; a non-ASCII str raises the latter
        raise ConfigError(
            f"{where} is not a minisign {what}.",
            cause="The file or text is cut, or of another kind.",
            fix=f"Use the {what} file written by `tpkit channel keygen` or `minisign -G`.",
        ) from exc


def read_secret_key(path: Path) -> SecretKey:
    """Read an unencrypted minisign secret key file (tpkit's or `minisign -G -W`); refuse an encrypted one."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ConfigError(
            f"The secret key {path} cannot be read: {exc.strerror}.",
            fix="Give the .key file written by `tpkit channel keygen` or `minisign -G -W`.",
        ) from exc
    raw = _b64_line(text, str(path), "secret key")
    if len(raw) != SECRET_KEY_BYTES or raw[:2] != PUBLIC_ALG or raw[4:6] != CHECKSUM_ALG:
        raise ConfigError(
            f"{path} is not a minisign Ed25519 secret key.",
            cause="It is a public key or another file.",
            fix="Pass the .key file written by `tpkit channel keygen` (not the .pub).",
        )
    if raw[2:4] != KDF_NONE:
        raise ConfigError(
            f"The secret key {path} is protected by a password.",
            cause="minisign encrypts secret keys unless made with -W.",
            fix=f"Make an unencrypted copy kept offline: minisign -C -s {path} -W (or sign with minisign).",
        )
    key_id, sk, check = raw[54:62], raw[62:126], raw[126:158]
    secret = SecretKey(key_id, sk[:32])
    # minisign 0.11 leaves the checksum of an unencrypted (-W) key all zeros; the public half still must match.
    if check not in (bytes(32), _checksum(key_id, sk)) or secret.public.key != sk[32:]:
        raise ConfigError(
            f"The secret key {path} is damaged (its checksum does not match).",
            fix="Restore the key from its offline backup.",
        )
    return secret


def parse_public_key(text: str, where: str) -> PublicKey:
    """A public key from the text of a `.pub` file or its base64 line; `where` names its source in errors."""
    raw = _b64_line(text, where, "public key")
    if len(raw) != 42 or raw[:2] != PUBLIC_ALG:
        raise ConfigError(
            f"{where} is not a minisign Ed25519 public key.",
            cause="The text is cut or of another kind.",
            fix="Copy the second line of the .pub file (it starts with RWQ or RWR…), or give the file's path.",
        )
    return PublicKey(raw[2:10], raw[10:42])


def sign(secret: SecretKey, message: bytes, trusted_comment: str) -> str:
    """The text of a prehashed ("ED") minisign signature file for `message`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(secret.seed)
    signature = private.sign(hashlib.blake2b(message, digest_size=64).digest())
    global_signature = private.sign(signature + trusted_comment.encode())
    return (
        f"untrusted comment: signature from tpkit secret key {secret.public.id_hex}\n"
        f"{base64.b64encode(PREHASHED_ALG + secret.key_id + signature).decode()}\n"
        f"trusted comment: {trusted_comment}\n{base64.b64encode(global_signature).decode()}\n"
    )


@dataclasses.dataclass(frozen=True)
class Signature:
    """A parsed signature file."""

    alg: bytes
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes

    @property
    def id_hex(self) -> str:
        return self.key_id[::-1].hex().upper()


def _bad(where: str, cause: str) -> ChannelError:
    return ChannelError(
        f"The signature {where} does not match the file it signs.",
        cause=cause,
        code="channel.bad_signature",
        fix="Fetch the channel again from its mirror; if it stays wrong, tell the county: "
        "the index or its signature was changed after signing.",
    )


def parse_signature(text: str, where: str) -> Signature:
    """Parse a minisign signature file (four lines); a ChannelError (bad_signature) when it is not one."""
    lines = text.splitlines()
    try:
        raw, global_signature = base64.b64decode(lines[1], validate=True), base64.b64decode(lines[3], validate=True)
    except (IndexError, ValueError) as exc:  # binascii.Error, or ValueError for a non-ASCII str (found by fuzzing)
        raise _bad(where, "The signature file is cut or is not in minisign's format.") from exc
    if (
        len(raw) != 74
        or raw[:2] not in (PUBLIC_ALG, PREHASHED_ALG)
        or len(global_signature) != 64
        or not lines[2].startswith("trusted comment: ")
    ):
        raise _bad(where, "The signature file is cut or is not in minisign's format.")
    return Signature(raw[:2], raw[2:10], raw[10:], lines[2][len("trusted comment: ") :], global_signature)


@functools.lru_cache(maxsize=32768)
def _verifier(key: bytes) -> Ed25519PublicKey:
    """The loaded key (a pure function of its 32 bytes, so cached: a hub verifies the same kits' keys all day)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(key)


def _openssl_valid(key: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        _verifier(key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


@functools.cache
def _sodium_verify():
    """libsodium's crypto_sign_verify_detached, or None when the library is missing or fails to start."""
    name = ctypes.util.find_library("sodium")
    try:
        sodium = ctypes.CDLL(name) if name else None
        if sodium is None or sodium.sodium_init() < 0:
            return None
        check = sodium.crypto_sign_verify_detached
    except (OSError, AttributeError):
        return None
    check.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p)
    check.restype = ctypes.c_int
    return check


def valid(key: bytes, signature: bytes, message: bytes, backend: str = "") -> bool:
    """Whether `signature` is an Ed25519 signature of `message` by the 32-byte public `key`. `backend` ("sodium",
    "openssl") forces one implementation (tests compare them); the default is libsodium when present."""
    if len(key) != 32 or len(signature) != 64:  # libsodium reads exactly this many bytes from each
        return False
    sodium = _sodium_verify() if backend != "openssl" else None
    if sodium is None:
        if backend == "sodium":
            raise RuntimeError("libsodium is not installed")
        return _openssl_valid(key, signature, message)
    return sodium(signature, message, len(message), key) == 0


def verify(signature: Signature, public: PublicKey, message: bytes, where: str) -> None:
    """Check both of a signature's Ed25519 signatures with `public`; a ChannelError (bad_signature) when either fails."""
    signed = hashlib.blake2b(message, digest_size=64).digest() if signature.alg == PREHASHED_ALG else message
    if not valid(public.key, signature.signature, signed):
        raise _bad(where, "The file was changed after it was signed.")
    if not valid(public.key, signature.global_signature, signature.signature + signature.trusted_comment.encode()):
        raise _bad(where, "The trusted comment was changed after signing.")
