"""A channel's index: the JSON listing its packages, built from ZIM files and checked before anything is trusted.

Must not import storage, edges, services or web; signatures are the signing edge's business (docs/channels.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance import strict_json
from appliance.content.zimfile import ZimFile
from appliance.errors import ChannelError
from appliance.files import file_digest

INDEX_NAME = "index.json"
SIGNATURE_NAME = "index.json.minisig"
PACKAGE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "title": str,
    "language": str,
    "tags": (dict, list),
    "version": str,
    "file": str,
    "size_bytes": int,
    "sha256": str,
    "replaces": list,
}
PACKAGE_KINDS = ("full", "patch")


@dataclasses.dataclass(frozen=True)
class ChannelIndex:
    """A parsed index; `packages` are the dictionaries as signed."""

    channel: str
    sequence: int
    created: dt.datetime
    expires: dt.datetime
    packages: tuple[dict[str, Any], ...]


def _malformed(where: str, problem: str) -> ChannelError:
    return ChannelError(
        f"The channel index {where} cannot be used: {problem}.",
        code="channel.malformed",
        cause="The index was written by hand or by another tool, or cut during a copy.",
        fix="Publish the index again with `tpkit channel publish`, then fetch it again.",
    )


def _timestamp(value: Any, key: str, where: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _malformed(where, f"{key} = {value!r} is not an ISO 8601 time") from exc
    if stamp.tzinfo is None:
        raise _malformed(where, f"{key} = {value!r} has no time zone (write it in UTC, ending in Z)")
    return stamp


def _check_package(package: Any, number: int, where: str) -> dict[str, Any]:
    if not isinstance(package, dict):
        raise _malformed(where, f"packages[{number}] is not an object")
    for key, kind in PACKAGE_FIELDS.items():
        if not isinstance(package.get(key), kind) or isinstance(package.get(key), bool):
            raise _malformed(where, f"packages[{number}].{key} is missing or not a {getattr(kind, '__name__', kind)}")
    if package["size_bytes"] < 0 or not _is_hex64(package["sha256"]):
        raise _malformed(where, f"packages[{number}] has a negative size or a sha256 that is not 64 hex digits")
    _check_delta_fields(package, f"packages[{number}]", where)
    return package


def _is_hex64(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _check_delta_fields(package: dict[str, Any], name: str, where: str) -> None:
    """The optional fields of patch publishing (docs/channels.md, "Patches"): checked when present, required for a patch."""
    kind = package.get("kind", "full")
    if kind not in PACKAGE_KINDS:
        raise _malformed(where, f"{name}.kind = {kind!r} is not one of {', '.join(PACKAGE_KINDS)}")
    if ("result_digest" in package or kind == "patch") and not _is_hex64(package.get("result_digest")):
        raise _malformed(where, f"{name}.result_digest is missing or not 64 hex digits")
    if "base" in package or kind == "patch":
        base = package.get("base")
        if (
            not isinstance(base, dict)
            or not all(isinstance(base.get(k), str) for k in ("id", "version"))
            or not _is_hex64(base.get("sha256"))
            or not _is_hex64(base.get("digest"))
        ):
            raise _malformed(where, f"{name}.base is missing or not an object with id, version, sha256 and digest")


def parse_index(raw: bytes, where: str) -> ChannelIndex:
    """Parse and check the shape of an index; a ChannelError (malformed) naming the first problem."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(where, f"it is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _malformed(where, "it is not a JSON object")
    if not isinstance(data.get("channel"), str) or not data["channel"]:
        raise _malformed(where, "channel is missing")
    sequence = data.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise _malformed(where, f"sequence = {sequence!r} is not a whole number from 1")
    if not isinstance(data.get("packages"), list):
        raise _malformed(where, "packages is missing or not a list")
    packages = tuple(_check_package(p, n, where) for n, p in enumerate(data["packages"]))
    return ChannelIndex(
        data["channel"],
        sequence,
        _timestamp(data.get("created"), "created", where),
        _timestamp(data.get("expires"), "expires", where),
        packages,
    )


def check_expiry(index: ChannelIndex, now: dt.datetime, where: str) -> None:
    """A ChannelError (expired) when the index's expiry is not after `now`."""
    if index.expires <= now:
        raise ChannelError(
            f"The channel index {where} expired at {index.expires.isoformat()} (now {now.isoformat()}).",
            cause="The mirror has not been updated since, or the kit's clock is wrong.",
            code="channel.expired",
            fix="Check the kit's clock (`tpkit health`); ask the county to publish the channel again "
            "(`tpkit channel publish`), which gives it a new expiry.",
        )


def package_path(channel_dir: Path, package: Mapping[str, Any]) -> Path:
    """The package's file inside `channel_dir`; a ChannelError (path_escape) when it would lead outside it."""
    name, root = package["file"], channel_dir.resolve()
    target = (channel_dir / name).resolve()
    if Path(name).is_absolute() or ".." in Path(name).parts or not target.is_relative_to(root) or target == root:
        raise ChannelError(
            f"Package {package['id']!r} names the file {name!r}, which is outside the channel folder {channel_dir}.",
            cause="A hostile or broken mirror tries to make the kit read or replace files elsewhere.",
            code="channel.path_escape",
            fix="Do not use this channel copy; tell the county. Files must be named relative to the channel "
            "folder, without '..' and without links leading out of it.",
        )
    return target


def check_package_file(channel_dir: Path, package: Mapping[str, Any]) -> None:
    """A ChannelError (package_mismatch) unless the package file exists with the listed size and sha256."""
    path = package_path(channel_dir, package)
    try:
        size, sha256 = file_digest(path)
    except OSError as exc:
        size, sha256 = None, f"unreadable ({exc.strerror})"
    if size != package["size_bytes"] or sha256 != package["sha256"]:
        raise ChannelError(
            f"Package {package['id']!r} ({path}) is {size} bytes with sha256 {sha256}; the signed index says "
            f"{package['size_bytes']} bytes with sha256 {package['sha256']}.",
            cause="The file is missing, was cut during the copy, or was changed after publishing.",
            code="channel.package_mismatch",
            fix=f"Delete {path} and fetch it again from the mirror.",
        )


def _tags(raw: str) -> dict[str, str]:
    """ZIM `Tags` ("_category:x;grade:3;subject:maths") as a dict of its key:value tags, minus Kiwix's _internal ones."""
    pairs = (tag.split(":", 1) for tag in raw.split(";") if ":" in tag)
    return {key.strip(): value.strip() for key, value in pairs if key.strip() and not key.startswith("_")}


def describe_package(channel_dir: Path, path: Path) -> dict[str, Any]:
    """The index entry of one ZIM file, its metadata read through libzim (`replaces` left empty)."""
    book = ZimFile(path)
    size, sha256 = file_digest(path)
    return {
        "id": book.metadata_text("Name") or path.stem,
        "title": book.metadata_text("Title") or path.stem,
        "language": book.metadata_text("Language"),
        "tags": _tags(book.metadata_text("Tags")),
        "version": book.metadata_text("Date") or "unknown",
        "file": path.relative_to(channel_dir).as_posix(),
        "size_bytes": size,
        "sha256": sha256,
        "replaces": [],
        "kind": "full",
    }


def _utc(stamp: dt.datetime) -> str:
    return stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_books(channel_dir: Path, previous: ChannelIndex | None = None) -> list[dict[str, Any]]:
    """The index entries of every `*.zim` under `channel_dir` (kind "full"), `replaces` filled from `previous`."""
    before = {p["id"]: p for p in previous.packages if p.get("kind", "full") == "full"} if previous else {}
    packages = [describe_package(channel_dir, path) for path in sorted(channel_dir.rglob("*.zim"))]
    for package in packages:
        old = before.get(package["id"])
        if old and old["sha256"] != package["sha256"]:
            package["replaces"] = [f"{old['id']}@{old['version']}"]  # the version this one supersedes
        elif old and "result_digest" in old:
            # The same file has the same entries: its entry digest stays signed without reading the book again, so a
            # kit's rebuild of it stays recognised (export, peers) when the channel is published without --previous.
            package["result_digest"] = old["result_digest"]
    return packages


def describe_patch(channel_dir: Path, path: Path, manifest: dict[str, Any], book: dict[str, Any]) -> dict[str, Any]:
    """The index entry of a patch file whose manifest turns `manifest["base"]` into the full package `book`."""
    size, sha256 = file_digest(path)
    return {
        **book,
        "kind": "patch",
        "file": path.relative_to(channel_dir).as_posix(),
        "size_bytes": size,
        "sha256": sha256,
        "replaces": [],
        "version": manifest["result"]["version"] or book["version"],
        "base": manifest["base"],
        "result_digest": manifest["result"]["digest"],
    }


def index_bytes(
    name: str, sequence: int, now: dt.datetime, expires_days: float, packages: list[dict[str, Any]]
) -> bytes:
    """The bytes of an index listing `packages`."""
    data = {
        "channel": name,
        "sequence": sequence,
        "created": _utc(now),
        "expires": _utc(now + dt.timedelta(days=expires_days)),
        "packages": packages,
    }
    return (strict_json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()
